"""Hand-written Uniware payloads (``adapters/uniware/samples/corpus/``), not the document's
sample, with the values expected from reading ``uniware-approved-purchase-order.txt``.

The corpus sits in a subfolder so the generated suites (``samples/*.json``) do not pick it
up: its expectations are the ones asserted here.

- ``mixed-gst.json``: three lines, CGST+SGST on one (intra-state), IGST on another,
  numbers sent as strings on the third (the document's sample sends strings), a discount
  and logistic charges; every field lands in the canonical PO as the table names it.
- ``amendment.json``: an amendment PO naming the PO it amends.
- ``missing-mrp.json``: ``maxRetailPrice`` left out of one line: refused (mandatory).
- ``*.canonical.json``: POs from elsewhere rendered for Uniware: in USD, with a line
  without MRP, with a fractional KG line, and a status event cancelling a line.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from adapters import registry
from core.adapter import RenderContext
from core.errors import CannotExpress, InvalidInput, MappingMissing
from core.mapping.tables import Mapping
from core.model import EventKind, PoEvent, PoStatus
from tests import support

CORPUS = registry.samples_dir("uniware") / "corpus"
ADAPTER = registry.get("uniware")
IST = ZoneInfo("Asia/Kolkata")


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((CORPUS / name).read_bytes())
    return data


def _parse(name: str) -> PoEvent:
    return support.parse("uniware", (CORPUS / name).read_bytes())[0]


def _canonical(name: str) -> PoEvent:
    return support.parse("canonical", (CORPUS / name).read_bytes())[0]


def _mapping(**changes: Any) -> Mapping:
    data = support.mappings()["uniware"].file.model_dump(mode="json")
    data.update(changes)
    return Mapping.from_dict(data, spec=ADAPTER.spec)


def _render(event: PoEvent, mapping: Mapping | None = None, state: Any = None) -> Any:
    ctx = RenderContext(mapping or support.mappings()["uniware"], state)
    return ADAPTER.render(event, ctx).calls[0].json


# Uniware -> canonical -------------------------------------------------------------------
def test_mixed_gst_header_reads_field_by_field() -> None:
    event = _parse("mixed-gst.json")
    po = event.po
    assert po is not None
    assert event.kind is EventKind.APPROVED
    assert event.occurred_at == support.RECEIVED_AT  # no approval time in the push
    assert po.po_number == "PO-BLR-24-0871"
    assert po.created_at == datetime(2024, 7, 3, 11, 5, 9, tzinfo=IST)
    assert po.created_by == "meera.rao@threadline.in"
    assert po.delivery_date == datetime(2024, 7, 18, 10, 0, 0, tzinfo=IST)
    assert po.expiry_date == datetime(2024, 8, 2, 23, 59, 59, tzinfo=IST)
    assert po.buyer.name == "Threadline Retail Pvt Ltd"
    assert (po.status, po.source_status, po.po_type) == (PoStatus.APPROVED, "APPROVED", "Manual")
    assert (po.supplier.code, po.supplier.name) == ("V-KNIT-014", "Tiruppur Knitwear Co")
    assert (po.amended_po_number, po.amendment_po_number) == (None, None)
    assert po.currency == "INR"  # defaults.currency: the push has no currency field
    assert [(f.name, f.value) for f in po.custom_fields] == [
        ("costCentre", "BLR-WH-2"), ("season", "AW24")
    ]  # fmt: skip


def test_mixed_gst_lines_keep_every_amount_as_sent() -> None:
    po = _parse("mixed-gst.json").po
    assert po is not None
    knit, jeans, socks = po.lines
    d = Decimal
    # line 1: intra-state, CGST + SGST 6% each on 40 x 250 - 500 + 120
    assert (knit.sku, knit.vendor_sku, knit.quantity, knit.unit) == (
        "TSHIRT-NAVY-M", "TK-CRW-NV-M", d(40), "EA"
    )  # fmt: skip
    assert (knit.unit_price, knit.mrp, knit.discount, knit.discount_percent) == (
        d(250), d(499), d(500), d(5)
    )  # fmt: skip
    assert knit.logistic_charges == d(120) and knit.total == d("10774.4")
    t = knit.taxes
    assert (t.cgst, t.sgst, t.igst, t.utgst, t.tax, t.tax_percent) == (
        d("577.2"), d("577.2"), d(0), d(0), d("1154.4"), d(12)
    )  # fmt: skip
    assert [(f.name, f.value) for f in knit.custom_fields] == [("season", "AW24")]
    # line 2: inter-state, IGST 12%, a batch group
    t = jeans.taxes
    assert (t.cgst, t.sgst, t.igst, t.utgst, t.tax) == (d(0), d(0), d("1295.28"), d(0),
                                                          d("1295.28"))  # fmt: skip
    assert jeans.unit_price == d("899.5") and jeans.total == d("12089.28")
    assert jeans.extensions["uniware"]["batchGroupCode"] == "BG-2024-07"
    # line 3: numbers as strings, read as numbers
    assert (socks.quantity, socks.unit_price, socks.logistic_charges, socks.total) == (
        d(100), d("45.50"), d("35.50"), d("4585.50")
    )  # fmt: skip
    assert [line.line_number for line in po.lines] == ["1", "2", "3"]


def test_mixed_gst_round_trips_unchanged() -> None:
    assert _render(_parse("mixed-gst.json")) == _raw("mixed-gst.json")


def test_amendment_is_an_amended_event_that_keeps_the_relation() -> None:
    event = _parse("amendment.json")
    assert event.kind is EventKind.AMENDED
    assert event.po is not None
    assert event.po.amended_po_number == "PO-BLR-24-0871"
    assert event.po.amendment_po_number is None
    assert event.po.lines[0].quantity == Decimal(60)
    assert _render(event) == _raw("amendment.json")


def test_line_without_mrp_is_refused_at_its_path() -> None:
    with pytest.raises(InvalidInput) as err:
        _parse("missing-mrp.json")
    assert (err.value.first.path, err.value.first.rule) == (
        "$.purchaseOrderItems[1].maxRetailPrice", "missing"
    )  # fmt: skip


# canonical -> Uniware -------------------------------------------------------------------
def test_usd_po_cannot_be_expressed() -> None:
    with pytest.raises(CannotExpress) as err:
        _render(_canonical("usd-po.canonical.json"))
    assert err.value.path == "$" and "USD" in err.value.reason and "INR" in err.value.reason


def test_same_po_in_inr_is_sent_with_its_own_values() -> None:
    event = _canonical("usd-po.canonical.json")
    assert event.po is not None
    event.po.currency = "INR"
    body = _render(event)
    item = body["purchaseOrderItems"][0]
    assert (body["createdBy"], body["fromParty"], body["type"]) == (
        "imports@threadline.in", "Threadline Retail Pvt Ltd", "IMPORT"
    )  # fmt: skip
    assert (body["created"], body["deliveryDate"], body["expiryDate"]) == (
        "Jul 5, 2024 2:40:41 PM", "Sep 2, 2024 12:00:00 AM", "Sep 30, 2024 11:59:59 PM"
    )  # fmt: skip
    assert (item["quantity"], item["unitPrice"], item["maxRetailPrice"], item["total"]) == (
        1200, 3.85, 9.99, 5451.6
    )  # fmt: skip
    assert (item["igst"], item["tax"], item["taxPercentage"]) == (831.6, 831.6, 18)
    assert item["vendorSkuCode"] == "CCM-J180-WHT"
    assert body["vendorName"] == "Carolina Cotton Mills Inc"


def test_line_without_mrp_parks_naming_the_default() -> None:
    event = _canonical("line-without-mrp.canonical.json")
    with pytest.raises(MappingMissing) as err:
        _render(event)
    assert (err.value.table, err.value.key, err.value.path) == (
        "defaults", "maxRetailPrice", "$.purchaseOrderItems[1].maxRetailPrice"
    )  # fmt: skip


def test_cancelled_line_is_not_sent_as_ordered() -> None:
    state = _parse("mixed-gst.json").po
    with pytest.raises(CannotExpress) as err:
        _render(_canonical("cancel-line.canonical.json"), state=state)
    assert err.value.path == "$.purchaseOrderItems[1]"
    assert "line 2 is CANCELLED" in err.value.reason


def test_fractional_kg_line_needs_uniware_unit() -> None:
    with pytest.raises(CannotExpress) as err:
        _render(_canonical("fractional-kg.canonical.json"))
    assert err.value.path == "$.purchaseOrderItems[0].quantity"
    assert "KG" in err.value.reason and "EA" in err.value.reason


def test_fractional_kg_line_in_a_kg_uniware_is_written_with_its_fraction() -> None:
    """The document types quantity as number: 12.5 is a valid quantity."""
    body = _render(_canonical("fractional-kg.canonical.json"), _mapping(units={"default": "KG"}))
    item = body["purchaseOrderItems"][0]
    assert (item["quantity"], item["unitPrice"], item["maxRetailPrice"], item["total"]) == (
        12.5, 840, 1100, 12390
    )  # fmt: skip


def test_fractional_kg_line_converted_by_a_units_row() -> None:
    """Sold in 500 g packs: 1 KG = 2 EA; prices per pack, the total unchanged."""
    units = {"default": "EA", "convert": {"KG": {"to": "EA", "factor": 2}}}
    body = _render(_canonical("fractional-kg.canonical.json"), _mapping(units=units))
    item = body["purchaseOrderItems"][0]
    assert (item["quantity"], item["unitPrice"], item["maxRetailPrice"], item["total"]) == (
        25, 420, 550, 12390
    )  # fmt: skip


def test_corpus_is_accepted_by_the_document_rules() -> None:
    """What the corpus sends is what the simulator (the document's rules) accepts."""
    from adapters._sim import SimRequest
    from adapters.uniware.simulator import UniwareSimulator

    sim = UniwareSimulator({})
    for name in ("mixed-gst.json", "amendment.json"):
        reply = sim.approved_purchase_order(
            SimRequest("POST", "/approvedPurchaseOrder", {"content-type": "application/json"},
                       Path(CORPUS / name).read_bytes())
        )  # fmt: skip
        assert reply.status == 200, reply.json
