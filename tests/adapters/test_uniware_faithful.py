"""Issue 10 for Uniware: every value rendered has a source, nothing is invented.

One test (or a parametrised family) per thing seen: unknown numbers written as 0, fields
copied into others, invented defaults, a currency with no field, amendments, cancelled
lines, units and fractions, unknown status codes, and the simulator holding the same
rules. Values come from ``uniware-approved-purchase-order.txt``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters import registry
from adapters._sim import SimRequest
from adapters.uniware.simulator import UniwareSimulator
from adapters.uniware.spec import Defaults
from core.adapter import RenderContext
from core.errors import CannotExpress, InvalidInput, MappingMissing
from core.mapping.loader import parse_mapping
from core.mapping.tables import Mapping
from core.model import (
    EventKind,
    LineStatus,
    PoEvent,
    PoStatus,
    PurchaseOrder,
    Schedule,
    StatusChange,
)
from tests import support

ADAPTER = registry.get("uniware")
SAMPLE = registry.samples_dir("uniware") / "approved-po.json"
MAPPING_FILE = support.ROOT / "mappings" / "uniware.yaml"
ITEM = "$.purchaseOrderItems[0]"


def doc() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(SAMPLE.read_bytes())
    item = data["purchaseOrderItems"][0]
    item.update(cgst=0, sgst=0, igst=0, utgst=0)  # numbers, not the sample's placeholders
    return data


def parsed(data: dict[str, Any] | None = None, mapping: Mapping | None = None) -> PoEvent:
    return ADAPTER.parse(orjson.dumps(data or doc()), mapping or support.mappings()["uniware"])[0]


def foreign_po(**line_changes: Any) -> PurchaseOrder:
    """A complete PO as another system would hand it over: no Uniware extensions."""
    po = parsed().po
    assert po is not None
    line = po.lines[0].model_copy(update={"extensions": {}, **line_changes})
    return po.model_copy(update={"extensions": {}, "lines": [line]})


def mapping_with(**changes: Any) -> Mapping:
    data = support.mappings()["uniware"].file.model_dump(mode="json")
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return Mapping.from_dict(data, spec=ADAPTER.spec)


def render(po: PurchaseOrder, mapping: Mapping | None = None, **event: Any) -> dict[str, Any]:
    ev = PoEvent(**{"kind": EventKind.UPDATED, "po_number": po.po_number,
                    "source_system": "canonical", "po": po, **event})  # fmt: skip
    body: dict[str, Any] = (
        ADAPTER.render(ev, RenderContext(mapping or support.mappings()["uniware"])).calls[0].json
    )
    return body


def item(po: PurchaseOrder, mapping: Mapping | None = None) -> dict[str, Any]:
    items: list[dict[str, Any]] = render(po, mapping)["purchaseOrderItems"]
    return items[0]


# 1. unknown numbers are not 0 ---------------------------------------------------------
NUMBERS = {
    "maxRetailPrice": {"mrp": None},
    "discount": {"discount": None},
    "discountPercentage": {"discount_percent": None},
    "logisticCharges": {"logistic_charges": None},
    "cgst": {"taxes": {"cgst": None}},
    "sgst": {"taxes": {"sgst": None}},
    "igst": {"taxes": {"igst": None}},
    "utgst": {"taxes": {"utgst": None}},
    "tax": {"taxes": {"tax": None}},
    "taxPercentage": {"taxes": {"tax_percent": None}},
}


def _without(field: str) -> PurchaseOrder:
    po = foreign_po()
    change = NUMBERS[field]
    line = po.lines[0]
    if "taxes" in change:
        taxes = line.taxes.model_copy(update=change["taxes"])
        return foreign_po(taxes=taxes)
    return foreign_po(**change)


@pytest.mark.parametrize("field", sorted(NUMBERS))
def test_unknown_number_parks_instead_of_zero(field: str) -> None:
    with pytest.raises(MappingMissing) as err:
        render(_without(field))
    assert (err.value.table, err.value.key, err.value.path) == (
        "defaults", field, f"{ITEM}.{field}"
    )  # fmt: skip


@pytest.mark.parametrize("field", sorted(NUMBERS))
def test_unknown_number_takes_the_admins_default(field: str) -> None:
    assert item(_without(field), mapping_with(defaults={field: 7.5}))[field] == 7.5


def test_a_null_default_is_refused_where_the_document_allows_no_null() -> None:
    text = MAPPING_FILE.read_text() + "  maxRetailPrice: null\n"
    mapping, problems = parse_mapping(text, "uniware.yaml", ADAPTER.spec)
    assert mapping is None
    assert any("allows no null for maxRetailPrice" in str(p) for p in problems), problems


def test_total_is_not_guessed_when_discount_charges_or_tax_are_in_play() -> None:
    po = foreign_po(total=None, discount=Decimal(50))
    with pytest.raises(MappingMissing) as err:
        render(po)
    assert (err.value.key, err.value.path) == ("total", f"{ITEM}.total")


def test_total_is_quantity_times_price_when_nothing_else_can_be_in_it() -> None:
    po = foreign_po(total=None, quantity=Decimal(7), unit_price=Decimal("12.5"))
    assert item(po)["total"] == 87.5


@pytest.mark.parametrize(("change", "key"), [({"quantity": None}, "quantity"),
                                             ({"unit_price": None}, "unitPrice")])  # fmt: skip
def test_missing_quantity_or_price_has_no_default(change: dict[str, Any], key: str) -> None:
    with pytest.raises(MappingMissing) as err:
        render(foreign_po(**change))
    assert (err.value.table, err.value.key) == ("canonical", key)


# 2. no field copied into another ------------------------------------------------------
def test_vendor_sku_is_not_the_sku() -> None:
    with pytest.raises(MappingMissing) as err:
        render(foreign_po(vendor_sku=None))
    assert (err.value.table, err.value.key, err.value.path) == (
        "crosswalks.vendor_sku", "Shirt27", f"{ITEM}.vendorSkuCode"
    )  # fmt: skip
    rows = mapping_with(crosswalks={"vendor_sku": {"Shirt27": "SE-SH-27"}})
    assert item(foreign_po(vendor_sku=None), rows)["vendorSkuCode"] == "SE-SH-27"


def test_vendor_name_is_not_the_vendor_code() -> None:
    po = foreign_po()
    po.supplier = po.supplier.model_copy(update={"name": None})
    with pytest.raises(MappingMissing) as err:
        render(po)
    assert (err.value.table, err.value.key, err.value.path) == (
        "crosswalks.vendor_name", "Sachin123", "$.vendorName"
    )  # fmt: skip
    rows = mapping_with(crosswalks={"vendor_name": {"Sachin123": "Sachin Enterprise"}})
    assert render(po, rows)["vendorName"] == "Sachin Enterprise"


# 3. no invented defaults --------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [({"expiry_date": None}, "expiryDate"), ({"created_by": None}, "createdBy"),
     ({"po_type": None}, "type"), ({"created_at": None}, "created"),
     ({"delivery_date": None}, "deliveryDate")],
)  # fmt: skip
def test_missing_header_value_parks_naming_its_default(change: dict[str, Any], field: str) -> None:
    po = foreign_po().model_copy(update=change)
    with pytest.raises(MappingMissing) as err:
        render(po, occurred_at=datetime(2024, 3, 13, tzinfo=UTC))
    assert (err.value.table, err.value.key, err.value.path) == ("defaults", field, f"$.{field}")


def test_from_party_is_the_buyer_name_never_its_code() -> None:
    po = foreign_po()
    po.buyer = po.buyer.model_copy(update={"name": None, "code": "BUYER-1"})
    with pytest.raises(MappingMissing) as err:
        render(po)
    assert (err.value.key, err.value.path) == ("fromParty", "$.fromParty")
    assert render(po, mapping_with(defaults={"fromParty": "Neemka Retail"}))["fromParty"] == (
        "Neemka Retail"
    )


def test_an_admins_expiry_default_is_written_as_is() -> None:
    po = foreign_po().model_copy(update={"expiry_date": None})
    far = "Dec 31, 2099 11:59:59 PM"
    assert render(po, mapping_with(defaults={"expiryDate": far}))["expiryDate"] == far


def test_delivery_date_comes_from_lines_only_when_they_agree() -> None:
    when = datetime(2024, 4, 1, 4, 30, tzinfo=UTC)
    po = foreign_po(required_delivery_date=when).model_copy(update={"delivery_date": None})
    assert render(po)["deliveryDate"] == "Apr 1, 2024 10:00:00 AM"
    other = po.lines[0].model_copy(update={"line_number": "2", "required_delivery_date": None})
    with pytest.raises(MappingMissing):
        render(po.model_copy(update={"lines": [po.lines[0], other]}))


def test_shipped_mapping_and_spec_invent_nothing() -> None:
    shipped = support.mappings()["uniware"].defaults
    assert shipped == {"currency": "INR"}
    assert all(f.default is None for f in Defaults.model_fields.values())
    assert Defaults().model_dump(exclude_none=True) == {}


# 4. currency --------------------------------------------------------------------------
def test_po_in_another_currency_cannot_be_expressed() -> None:
    po = foreign_po().model_copy(update={"currency": "USD"})
    with pytest.raises(CannotExpress) as err:
        render(po)
    assert err.value.path == "$" and "USD" in err.value.reason


def test_po_with_a_currency_and_no_declared_uniware_currency_parks() -> None:
    data = support.mappings()["uniware"].file.model_dump(mode="json")
    data["defaults"] = {}
    mapping = Mapping.from_dict(data, spec=ADAPTER.spec)
    with pytest.raises(MappingMissing) as err:
        render(foreign_po(), mapping)
    assert (err.value.key, err.value.path) == ("currency", "$")


def test_a_uniware_po_carries_the_declared_currency() -> None:
    assert parsed().po.currency == "INR"  # type: ignore[union-attr]
    data = support.mappings()["uniware"].file.model_dump(mode="json")
    data["defaults"] = {}
    assert parsed(mapping=Mapping.from_dict(data)).po.currency is None  # type: ignore[union-attr]


# 5. amendments ------------------------------------------------------------------------
def test_amendment_po_is_an_amended_event() -> None:
    data = doc()
    data["amendedPurchaseOrderCode"] = "PO0150"
    event = parsed(data)
    assert event.kind is EventKind.AMENDED
    assert event.po is not None and event.po.amended_po_number == "PO0150"


def test_render_writes_both_amendment_codes_from_the_po() -> None:
    po = foreign_po().model_copy(
        update={"amended_po_number": "PO0150", "amendment_po_number": "PO0201"}
    )
    body = render(po)
    assert (body["amendedPurchaseOrderCode"], body["amendmentPurchaseOrderCode"]) == (
        "PO0150", "PO0201"
    )  # fmt: skip


# 6. line statuses ---------------------------------------------------------------------
def test_cancelled_line_cannot_be_expressed() -> None:
    state = foreign_po()
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED, po_number=state.po_number, source_system="leo",
        status_change=StatusChange(lines=[LineStatus(line_number="1", status=PoStatus.CANCELLED)]),
    )  # fmt: skip
    with pytest.raises(CannotExpress) as err:
        ADAPTER.render(event, RenderContext(support.mappings()["uniware"], state))
    assert err.value.path == ITEM


def test_cancelled_schedule_cannot_be_expressed() -> None:
    cancelled = Schedule(number="1", status=PoStatus.CANCELLED)
    with pytest.raises(CannotExpress) as err:
        render(foreign_po(schedules=[cancelled]))
    assert err.value.path == ITEM and "schedule 1" in err.value.reason


def test_a_cancelled_po_says_so_in_its_status_code() -> None:
    po = foreign_po(status=PoStatus.CANCELLED).model_copy(update={"status": PoStatus.CANCELLED})
    assert render(po)["statusCode"] == "CANCELLED"


# 7. quantities and units --------------------------------------------------------------
def test_line_in_another_unit_cannot_be_expressed() -> None:
    with pytest.raises(CannotExpress) as err:
        render(foreign_po(unit="KG", quantity=Decimal("2.5")))
    assert err.value.path == f"{ITEM}.quantity"


def test_unit_conversion_row_applies() -> None:
    units = {"convert": {"DOZEN": {"to": "EA", "factor": 12}}}
    line = item(foreign_po(unit="DOZEN", quantity=Decimal("1.5"), unit_price=Decimal(1200),
                           mrp=Decimal(2400), total=None), mapping_with(units=units))  # fmt: skip
    assert (line["quantity"], line["unitPrice"], line["maxRetailPrice"], line["total"]) == (
        18, 100, 200, 1800
    )  # fmt: skip


def test_fractional_quantity_is_a_number_the_document_allows() -> None:
    assert item(foreign_po(quantity=Decimal("2.5")))["quantity"] == 2.5


def test_received_quantities_are_not_written() -> None:
    po = foreign_po(accepted_quantity=Decimal(4), rejected_quantity=Decimal(1))
    assert render(po) == render(foreign_po())


# 8. status codes ----------------------------------------------------------------------
def test_unknown_status_code_is_refused_at_its_path() -> None:
    data = doc()
    data["statusCode"] = "ON_HOLD"
    with pytest.raises(InvalidInput) as err:
        parsed(data)
    assert (err.value.first.path, err.value.first.rule) == ("$.statusCode", "known_status")


def test_every_status_code_reads_back() -> None:
    mapping = support.mappings()["uniware"]
    codes = set(mapping.file.statuses.document.values()) | {"APPROVED"}  # the document's
    for code in sorted(codes):
        status = mapping.status_in_checked(code, "$.statusCode")
        assert status is not None and mapping.status_out(status) == code


# 9. the simulator holds the document's rules -----------------------------------------
def _post(body: dict[str, Any]) -> Any:
    sim = UniwareSimulator({})
    request = SimRequest("POST", "/approvedPurchaseOrder",
                         {"content-type": "application/json"}, orjson.dumps(body))  # fmt: skip
    return sim.approved_purchase_order(request)


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [("item", "cgst", None), ("item", "customFieldValues", None),
     ("item", "maxRetailPrice", None), ("po", "customFieldValues", None),
     ("item", "total", "n/a")],
)  # fmt: skip
def test_simulator_refuses_what_the_document_does_not_allow(
    where: str, field: str, value: Any
) -> None:
    body = doc()
    target = body["purchaseOrderItems"][0] if where == "item" else body
    target[field] = value
    reply = _post(body)
    path = f"{ITEM}.{field}" if where == "item" else f"$.{field}"
    assert reply.status == 400 and reply.json["message"].startswith(path), reply.json


def test_simulator_accepts_the_document_sample() -> None:
    assert _post(orjson.loads(Path(SAMPLE).read_bytes())).status == 200
