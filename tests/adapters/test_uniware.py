"""Uniware-specific readings: dates in a zone, numbers as strings, custom field keys."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest

from adapters import registry
from adapters.uniware.replies import Reply
from core.adapter import RenderContext
from core.errors import InvalidInput, MappingMissing
from core.model import EventKind, PoStatus
from tests import support

SAMPLE = registry.samples_dir("uniware") / "approved-po.json"
ADAPTER = registry.get("uniware")


def doc() -> dict:
    return orjson.loads(SAMPLE.read_bytes())


def parse(d: dict, mapping=None):
    return ADAPTER.parse(orjson.dumps(d), mapping or support.mappings()["uniware"])[0]


def test_sample_reads_into_canonical() -> None:
    event = parse(doc())
    assert event.kind is EventKind.APPROVED
    po = event.po
    assert po.po_number == "PO0194" and po.status is PoStatus.APPROVED
    assert po.supplier.code == "Sachin123" and po.buyer.code == "neemka"
    assert po.created_at == datetime(2024, 3, 12, 16, 16, 42, tzinfo=ZoneInfo("Asia/Kolkata"))
    line = po.lines[0]
    assert (line.sku, line.quantity, line.unit_price, line.unit) == (
        "Shirt27", Decimal(6), Decimal(100), "EA"
    )  # fmt: skip
    assert line.taxes.cgst is None  # the document's placeholder "string" has no number
    assert line.extensions["uniware"]["raw"]["cgst"] == "string"


def test_numbers_sent_as_strings_are_read_and_written_back_as_strings() -> None:
    d = doc()
    d["purchaseOrderItems"][0].update(quantity="6", unitPrice="100.50", cgst="9")
    event = parse(d)
    line = event.po.lines[0]
    assert line.quantity == Decimal(6) and line.unit_price == Decimal("100.50")
    assert line.taxes.cgst == Decimal(9)
    out = ADAPTER.render(event, RenderContext(support.mappings()["uniware"])).body
    assert out["purchaseOrderItems"][0]["unitPrice"] == "100.50"


def test_non_numeric_string_in_a_number_field_is_refused() -> None:
    d = doc()
    d["purchaseOrderItems"][0]["quantity"] = "six"
    with pytest.raises(InvalidInput) as exc:
        parse(d)
    assert exc.value.first.path == "$.purchaseOrderItems[0].quantity"


@pytest.mark.parametrize(
    "bad", ["2024-03-12", "Mar 32, 2024 4:16:42 PM", "Foo 12, 2024 4:16:42 PM"]
)
def test_broken_date_names_the_field(bad: str) -> None:
    d = doc()
    d["expiryDate"] = bad
    with pytest.raises(InvalidInput) as exc:
        parse(d)
    assert exc.value.first.path == "$.expiryDate"
    assert exc.value.first.rule == "date_format"


def test_zone_comes_from_the_mapping() -> None:
    data = support.mappings()["uniware"].file.model_dump()
    data["timezone"] = "UTC"
    from core.mapping.tables import Mapping

    mapping = Mapping.from_dict(data, spec=ADAPTER.spec)
    event = parse(doc(), mapping)
    assert event.po.created_at.utcoffset().total_seconds() == 0


def test_mandatory_nullable_keys_must_be_present() -> None:
    d = doc()
    del d["amendedPurchaseOrderCode"]
    with pytest.raises(InvalidInput) as exc:
        parse(d)
    assert exc.value.first.path == "$.amendedPurchaseOrderCode"
    assert exc.value.first.rule == "missing"


def test_both_custom_field_spellings_are_read() -> None:
    d = doc()
    d["customFieldValues"] = [{"name": "a", "value": "1"}, {"fieldName": "b", "fieldValue": "2"}]
    fields = parse(d).po.custom_fields
    assert [(f.name, f.value) for f in fields] == [("a", "1"), ("b", "2")]


def test_render_without_a_status_crosswalk_raises_naming_the_table() -> None:
    event = parse(doc())
    event.po.status = PoStatus.ERROR
    with pytest.raises(MappingMissing) as exc:
        ADAPTER.render(event, RenderContext(support.mappings()["uniware"]))
    assert exc.value.table == "statuses.document" and exc.value.key == "ERROR"


def test_reply_samples_parse() -> None:
    for file in (registry.samples_dir("uniware") / "replies").glob("*.json"):
        assert Reply.model_validate_json(file.read_bytes()).status in ("Success", "Failed")
