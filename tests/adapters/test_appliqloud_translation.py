"""Issue 10 for AppliQloud: every value written has a source (the PO, a crosswalk row, an
admin's default, AppliQloud's own id); anything else parks (``MappingMissing``) or is refused
as something the update cannot say (``CannotExpress``). One test (or group) per item seen."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters.appliqloud import SYSTEM as DECLARED
from core.adapter import RemoteState, RenderContext
from core.errors import CannotExpress, MappingMissing
from core.mapping.tables import Mapping
from core.model import EventKind, LineStatus, PoEvent, PoStatus, PurchaseOrder, StatusChange
from core.state import apply_event, full_po
from tests.adapters.test_appliqloud import doc, parse, render, uniware_po, with_defaults
from tests.adapters.test_appliqloud import mapping as mapping  # the fixture
from tests.support import ROOT

ITEM = "$.inputs[0].items[0]"


def with_file(mapping: Mapping, **sections: Any) -> Mapping:
    """The shipped mapping with whole sections replaced or merged (crosswalk tables merged)."""
    data = mapping.file.model_dump()
    for name, value in sections.items():
        if name == "crosswalks":
            data["crosswalks"].update(value)
        else:
            data[name] = value
    return Mapping.from_dict(data, spec=DECLARED.adapter.spec)


def header(po: PurchaseOrder, mapping: Mapping) -> dict[str, Any]:
    found: dict[str, Any] = render(po, mapping)["inputs"][0]["header"]
    return found


def item(po: PurchaseOrder, mapping: Mapping, index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = render(po, mapping)["inputs"][0]["items"][index]
    return found


# 1. no invented type, buyer, currency, item type, ascription, location ---------------------
def test_po_without_currency_parks_until_an_admin_writes_one(mapping: Mapping) -> None:
    with pytest.raises(MappingMissing) as exc:
        render(uniware_po(currency=None), mapping)
    assert (exc.value.table, exc.value.key) == ("defaults", "currencyId")
    assert exc.value.path == "$.inputs[0].header.currencyId"
    admin = with_defaults(mapping, currencyId="INR")
    assert header(uniware_po(currency=None), admin)["currencyId"] == "INR"


def test_currency_default_written_null_cannot_stand_for_a_required_currency(
    mapping: Mapping,
) -> None:
    with pytest.raises(CannotExpress) as exc:
        render(uniware_po(currency=None), with_defaults(mapping, currencyId=None))
    assert exc.value.path == "$.inputs[0].header.currencyId"


def test_po_type_that_is_not_local_import_and_has_no_row_parks(mapping: Mapping) -> None:
    with pytest.raises(MappingMissing) as exc:
        render(uniware_po(po_type="Blanket"), mapping)
    assert (exc.value.table, exc.value.key) == ("crosswalks.po_type", "Blanket")
    assert exc.value.path == "$.inputs[0].header.purchaseOrderType"
    admin = with_defaults(mapping, purchaseOrderType="IMPORT")
    assert header(uniware_po(po_type="Blanket"), admin)["purchaseOrderType"] == "IMPORT"


def test_po_without_type_parks_on_the_default(mapping: Mapping) -> None:
    with pytest.raises(MappingMissing) as exc:
        render(uniware_po(po_type=None), mapping)
    assert (exc.value.table, exc.value.key) == ("defaults", "purchaseOrderType")


def test_po_type_local_or_import_is_written_as_the_po_says(mapping: Mapping) -> None:
    """The PO's own LOCAL/IMPORT comes before any row."""
    rows = with_file(mapping, crosswalks={"po_type": {"IMPORT": "LOCAL"}})
    assert header(uniware_po(po_type="IMPORT"), rows)["purchaseOrderType"] == "IMPORT"


def test_po_type_row_must_be_a_document_value(mapping: Mapping) -> None:
    bad = with_file(mapping, crosswalks={"po_type": {"Manual": "DOMESTIC"}})
    with pytest.raises(CannotExpress) as exc:
        render(uniware_po(), bad)
    assert "'DOMESTIC'; the document allows IMPORT, LOCAL" in exc.value.reason


def test_item_type_and_ascription_come_from_sku_rows(mapping: Mapping) -> None:
    rows = with_file(
        mapping,
        crosswalks={"item_type": {"Shirt27": "SERVICE"}, "ascription": {"Shirt27": "EXPENSE"}},
    )
    got = item(uniware_po(), rows)
    assert (got["itemType"], got["ascriptionType"]) == ("SERVICE", "EXPENSE")


def test_sku_without_item_type_row_parks_unless_admin_default(mapping: Mapping) -> None:
    bare = with_file(mapping, crosswalks={"item_type": {}, "ascription": {}})
    with pytest.raises(MappingMissing) as exc:
        render(uniware_po(), bare)
    assert (exc.value.table, exc.value.key) == ("crosswalks.item_type", "Shirt27")
    assert exc.value.path == f"{ITEM}.itemType"
    typed = with_defaults(bare, itemType="GOODS")
    with pytest.raises(MappingMissing) as exc:
        render(uniware_po(), typed)
    assert (exc.value.table, exc.value.key) == ("crosswalks.ascription", "Shirt27")
    assert exc.value.path == f"{ITEM}.ascriptionType"
    both = with_defaults(typed, ascriptionType="EXPENSE")
    got = item(uniware_po(), both)
    assert (got["itemType"], got["ascriptionType"]) == ("GOODS", "EXPENSE")


def test_line_says_service_but_row_says_inventory_is_refused(mapping: Mapping) -> None:
    rows = with_file(mapping, crosswalks={"ascription": {"Shirt27": "INVENTORY"}})
    po = uniware_po()
    po.lines[0].item_type = "SERVICE"
    with pytest.raises(CannotExpress) as exc:
        render(po, rows)
    assert exc.value.path == f"{ITEM}.ascriptionType"


# 2. no status in an update -------------------------------------------------------------------
def test_update_carries_no_status_and_the_stored_one_stays(mapping: Mapping) -> None:
    (event,) = parse(doc(), mapping)
    assert event.po is not None and (event.po.status, event.po.source_status) == (None, None)
    stored = event.po.model_copy(update={"status": PoStatus.SENT, "source_status": "SENT"})
    after = apply_event(stored, event)
    assert after is not None and after.status is PoStatus.SENT


def test_po_without_status_renders(mapping: Mapping) -> None:
    body = render(uniware_po(status=None), mapping)
    assert body["inputs"][0]["header"]["purchaseOrderId"] == "PO0194"
    assert "purchaseOrderStatus" not in body["inputs"][0]["header"]


# 3. net unit price ---------------------------------------------------------------------------
def gross(quantity: str, price: str, **amounts: str) -> PurchaseOrder:
    po = uniware_po()
    line = po.lines[0]
    line.quantity, line.unit_price = Decimal(quantity), Decimal(price)
    for name, value in amounts.items():
        setattr(line, name, Decimal(value))
    return po


def test_net_unit_price_takes_line_discount_and_logistic_charges(mapping: Mapping) -> None:
    """(4 x 100 - 40 + 20) / 4 = 95: the gross price 100 is not what AppliQloud is to charge."""
    po = gross("4", "100", discount="40", logistic_charges="20", discount_percent="10")
    assert item(po, mapping)["netUnitPrice"] == 95


def test_net_unit_price_from_a_discount_percentage_alone(mapping: Mapping) -> None:
    assert item(gross("2", "100", discount_percent="10"), mapping)["netUnitPrice"] == 90


def test_net_unit_price_that_does_not_divide_is_refused(mapping: Mapping) -> None:
    """(3 x 100 - 100) / 3 = 66.66...: refused rather than rounded."""
    with pytest.raises(CannotExpress) as exc:
        render(gross("3", "100", discount="100"), mapping)
    assert exc.value.path == f"{ITEM}.netUnitPrice"


def test_net_unit_price_of_the_line_is_written_as_stated(mapping: Mapping) -> None:
    po = gross("4", "100", discount="40")
    po.lines[0].net_unit_price = Decimal("91.5")
    assert item(po, mapping)["netUnitPrice"] == 91.5


def test_parse_reads_net_unit_price_only(mapping: Mapping) -> None:
    line = parse(doc(), mapping)[0].po.lines[0]  # type: ignore[union-attr]
    assert (line.net_unit_price, line.unit_price) == (Decimal(6000), None)


# 4. fractional quantity ----------------------------------------------------------------------
def test_fractional_quantity_is_refused_naming_the_item(mapping: Mapping) -> None:
    po = gross("25.5", "120")
    po.lines[0].unit = "KG"
    with pytest.raises(CannotExpress) as exc:
        render(po, mapping)
    assert exc.value.path == f"{ITEM}.quantity" and "25.5" in exc.value.reason


def test_fractional_quantity_with_a_convert_row_is_written_in_the_smaller_unit(
    mapping: Mapping,
) -> None:
    po = gross("25.5", "120")
    po.lines[0].unit = "KG"
    grams = with_file(mapping, units={"convert": {"KG": {"to": "G", "factor": 1000}}})
    got = item(po, grams)
    assert (got["quantity"], got["unitId"], got["netUnitPrice"]) == (25500, "G", 0.12)


def alphaalpha_kg() -> bytes:
    data = orjson.loads((ROOT / "adapters/alphaalpha/samples/purchase-order.json").read_bytes())
    data["products"][0].update(quantity=25.5, unit="KG", price=120)
    return orjson.dumps(data)


def translate(tmp_path: Path, units: str = "units: {}") -> subprocess.CompletedProcess[bytes]:
    """``pohub translate`` from AlphaAlpha, with the shipped mappings plus what an admin adds
    for AlphaAlpha's POs: they carry no PO type, so ``defaults.purchaseOrderType``."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for file in (ROOT / "mappings").glob("*.yaml"):
        text = file.read_text()
        if file.stem == "appliqloud":
            text = text.replace("units: {}", units)
            text = text.replace("defaults: {}", "defaults: {purchaseOrderType: LOCAL}")
        (mappings / file.name).write_text(text)
    (tmp_path / "config.yaml").write_text("mappings_dir: mappings\n")
    cmd = [sys.executable, "-m", "gateway.cli", "translate", "--config",
           str(tmp_path / "config.yaml"), "--from", "alphaalpha", "--to", "appliqloud", "-"]  # fmt: skip
    return subprocess.run(cmd, input=alphaalpha_kg(), capture_output=True, cwd=ROOT, timeout=60)


def test_translate_of_25_5_kg_exits_3(tmp_path: Path) -> None:
    out = translate(tmp_path)
    assert out.returncode == 3, out.stderr
    assert b"cannot express in appliqloud at $.inputs[0].items[0].quantity" in out.stderr
    assert b"25.5" in out.stderr


def test_translate_of_25_5_kg_with_a_convert_row_gives_25500_g(tmp_path: Path) -> None:
    out = translate(tmp_path, "units: {convert: {KG: {to: G, factor: 1000}}}")
    assert out.returncode == 0, out.stderr
    (written,) = orjson.loads(out.stdout)["inputs"][0]["items"]
    assert (written["quantity"], written["unitId"], written["netUnitPrice"]) == (25500, "G", 0.12)


# 5. currency from the PO ---------------------------------------------------------------------
def test_usd_po_is_written_in_usd_even_with_an_admin_default(mapping: Mapping) -> None:
    admin = with_defaults(mapping, currencyId="INR")
    assert header(uniware_po(currency="USD"), admin)["currencyId"] == "USD"
    assert header(uniware_po(currency="USD"), mapping)["currencyId"] == "USD"


# 6. cancelled lines --------------------------------------------------------------------------
def two_lines() -> PurchaseOrder:
    po = uniware_po()
    second = po.lines[0].model_copy(update={"line_number": "2"})
    return po.model_copy(update={"lines": [po.lines[0], second]})


def test_cancelled_line_is_neither_sent_as_ordered_nor_dropped(mapping: Mapping) -> None:
    po = two_lines()
    po.lines[1].status = PoStatus.CANCELLED
    with pytest.raises(CannotExpress) as exc:
        render(po, mapping)
    assert exc.value.path == "$.inputs[0].items[1]" and "'2' is CANCELLED" in exc.value.reason


def test_line_cancelled_by_a_status_event_is_refused_on_the_stored_po(mapping: Mapping) -> None:
    change = StatusChange(lines=[LineStatus(line_number="2", status=PoStatus.CANCELLED)])
    event = PoEvent(kind=EventKind.STATUS_CHANGED, po_number="PO0194", source_system="leo",
                    status_change=change)  # fmt: skip
    with pytest.raises(CannotExpress):
        DECLARED.adapter.render(event, RenderContext(mapping, state=two_lines()))


# 7. many-to-one crosswalks -------------------------------------------------------------------
def test_two_skus_in_one_group_and_two_hub_types_for_local(mapping: Mapping) -> None:
    shared = with_file(
        mapping,
        crosswalks={
            "product": {"Shirt27": "101", "Shirt28": "102"},
            "product_group": {"Shirt27": "1", "Shirt28": "1"},
            "item_type": {"Shirt27": "GOODS", "Shirt28": "GOODS"},
            "ascription": {"Shirt27": "EXPENSE", "Shirt28": "EXPENSE"},
            "po_type": {"Manual": "LOCAL", "Auto": "LOCAL"},
        },
    )
    po = two_lines()
    po.lines[1].sku = "Shirt28"
    auto = po.model_copy(update={"po_type": "Auto"})
    body = render(auto, shared)
    assert body["inputs"][0]["header"]["purchaseOrderType"] == "LOCAL"
    assert [(i["productId"], i["productGroupId"]) for i in body["inputs"][0]["items"]] == [
        ("101", "1"), ("102", "1"),
    ]  # fmt: skip
    (event,) = parse(body, shared)
    assert event.po is not None
    assert [ln.sku for ln in event.po.lines] == ["Shirt27", "Shirt28"]
    assert event.po.po_type == "LOCAL"  # shared by Manual and Auto: no hub type is guessed
    assert parse(body, shared)[0].po == event.po
    chosen = with_file(shared, reverse={"po_type": {"LOCAL": "Manual"}})
    (again,) = parse(body, chosen)
    assert again.po is not None and again.po.po_type == "Manual"
    assert DECLARED.adapter.combine([DECLARED.adapter.render(again, RenderContext(chosen))]) == body


# 8. amendments -------------------------------------------------------------------------------
def amendment(**changes: Any) -> PoEvent:
    po = uniware_po(**{"po_number": "PO0194-A1", "amended_po_number": "PO0194", **changes})
    return PoEvent(kind=EventKind.AMENDED, po_number=po.po_number, source_system="uniware", po=po)


def test_amendment_updates_the_original_po(mapping: Mapping) -> None:
    body = DECLARED.adapter.render(amendment(), RenderContext(mapping)).body
    assert body["inputs"][0]["header"]["purchaseOrderId"] == "PO0194"


def test_amendment_uses_the_id_appliqloud_confirmed(mapping: Mapping) -> None:
    ctx = RenderContext(mapping, remote=RemoteState(remote_id="450000001"))
    body = DECLARED.adapter.render(amendment(), ctx).body
    assert body["inputs"][0]["header"]["purchaseOrderId"] == "450000001"


def test_amendment_naming_no_original_is_refused(mapping: Mapping) -> None:
    event = amendment(amended_po_number=None)
    with pytest.raises(CannotExpress) as exc:
        DECLARED.adapter.render(event, RenderContext(mapping))
    assert exc.value.path == "$.inputs[0].header.purchaseOrderId"


def test_update_rendered_for_another_full_po_target_keeps_the_stored_status(
    mapping: Mapping,
) -> None:
    """The worker renders the event with the stored PO: a status-less AppliQloud update asks
    Uniware for the status the hub holds, not for none (nor for an invented APPROVED)."""
    (event,) = parse(doc(), mapping)
    assert event.po is not None
    stored = event.po.model_copy(update={"status": PoStatus.CONFIRMED, "source_status": None})
    assert full_po(event, stored, "uniware").status is PoStatus.CONFIRMED
    assert full_po(event, None, "uniware").status is None
