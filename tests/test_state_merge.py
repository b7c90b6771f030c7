"""A sender's whole PO does not erase what its dialect cannot say (chaos finding C).

Uniware's approved-PO push carries the creation time, creator, expiry, MRP and taxes;
AppliQloud's bulk update carries none of them. Before: ``core.state`` replaced the stored
PO by the update's, and a later Leo status rendered for Uniware parked ``mapping missing:
uniware table 'defaults' has no entry for 'created'``. Expected values worked out from
adapters/uniware/samples/approved-po.json and adapters/appliqloud/samples/update.json.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from adapters import registry
from core.adapter import RemoteState, RenderContext
from core.model import PurchaseOrder
from core.state import apply_event
from tests.support import ROOT, mappings, parse

PO = "PO0194"


def uniware_state() -> PurchaseOrder:
    """The sample, its GST amounts written as numbers (the sample says "string")."""
    doc = json.loads((ROOT / "adapters/uniware/samples/approved-po.json").read_text())
    doc["purchaseOrderItems"][0].update(cgst=0, sgst=0, igst=0, utgst=0)
    (event,) = parse("uniware", orjson.dumps(doc))
    state = apply_event(None, event)
    assert state is not None
    return state


def appliqloud_update(quantity: int, price: int = 100) -> bytes:
    doc: dict[str, Any] = json.loads((ROOT / "adapters/appliqloud/samples/update.json").read_text())
    header = doc["inputs"][0]["header"]
    header.update(purchaseOrderId=PO, currencyId="INR")
    item = doc["inputs"][0]["items"][0]
    item.update(itemId="1", quantity=quantity, netUnitPrice=price)
    return orjson.dumps(doc)


def after_update(quantity: int, price: int = 100) -> PurchaseOrder:
    (event,) = parse("appliqloud", appliqloud_update(quantity, price))
    after = apply_event(uniware_state(), event)
    assert after is not None
    return after


def test_an_appliqloud_update_keeps_the_uniware_header_it_cannot_say() -> None:
    before = uniware_state()
    after = after_update(quantity=12)
    assert before.created_at is not None and before.created_by == "xyz@gmail.com"
    assert after.created_at == before.created_at  # Mar 12, 2024 4:16:42 PM
    assert after.created_by == "xyz@gmail.com"
    assert after.expiry_date == before.expiry_date and after.expiry_date is not None
    assert after.delivery_date == before.delivery_date
    assert after.supplier.name == "Sachin Enterprise"
    assert after.custom_fields == before.custom_fields
    assert after.currency == "INR"  # what the update says wins


def test_the_update_s_own_values_win_and_money_derived_from_old_values_is_dropped() -> None:
    after = after_update(quantity=12)
    (line,) = after.lines
    assert line.quantity == Decimal(12)
    assert line.mrp == Decimal(400)  # Uniware's maxRetailPrice: not said by AppliQloud, kept
    assert line.vendor_sku == "shirt27"
    assert line.total is None, "600 was 6 x 100: with 12 ordered it is nobody's number"
    assert after.total is None


def test_an_update_that_changes_no_money_keeps_the_totals() -> None:
    before = uniware_state()
    after = after_update(quantity=6)
    assert after.lines[0].total == before.lines[0].total == Decimal(600)


def test_a_leo_status_after_an_appliqloud_update_renders_for_uniware_with_its_created() -> None:
    state = after_update(quantity=12)
    leo = {"documentNumber": PO, "lob": "DEFAULT", "subType": "PO", "status": "CONFIRMED"}
    (event,) = parse("leo", orjson.dumps(leo), {"event": "POStatusUpdate", "subtypeAppId": "x"})
    ctx = RenderContext(mappings()["uniware"], apply_event(state, event), RemoteState())
    body = registry.get("uniware").render(event, ctx).body
    assert body["created"] == "Mar 12, 2024 4:16:42 PM"
    assert body["createdBy"] == "xyz@gmail.com"
    assert body["purchaseOrderItems"][0]["quantity"] == 12
    assert body["purchaseOrderItems"][0]["total"] == 1200  # 12 x 100, no discount or tax
    assert isinstance(state.created_at, datetime)


def test_what_uniware_said_without_a_canonical_home_survives_an_appliqloud_update() -> None:
    """The sample's GST fields are the text "string": they live in Uniware's own block of
    the PO, which an AppliQloud update (whose block is its own) must not drop."""
    body = (ROOT / "adapters/uniware/samples/approved-po.json").read_bytes()
    (created,) = parse("uniware", body)
    (update,) = parse("appliqloud", appliqloud_update(quantity=12))
    state = apply_event(apply_event(None, created), update)
    assert state is not None
    assert state.extensions.get("uniware") == apply_event(None, created).extensions["uniware"]  # type: ignore[union-attr]
    assert "appliqloud" in state.extensions
    leo = {"documentNumber": PO, "lob": "DEFAULT", "subType": "PO", "status": "CONFIRMED"}
    (event,) = parse("leo", orjson.dumps(leo), {"event": "POStatusUpdate", "subtypeAppId": "x"})
    ctx = RenderContext(mappings()["uniware"], apply_event(state, event), RemoteState())
    body_out = registry.get("uniware").render(event, ctx).body
    assert body_out["purchaseOrderItems"][0]["cgst"] == "string"
    assert body_out["created"] == "Mar 12, 2024 4:16:42 PM"
