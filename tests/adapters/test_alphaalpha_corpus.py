"""A hand-written AlphaAlpha corpus (``adapters/alphaalpha/samples/corpus/``, not the
document's placeholder samples), with the values worked out from the document:

- ``po-three-products.json``: a PO object (find shape: ``pricePerUnit``) at SENT with three
  products, one of them 25.5 KG (the document's numbers are JSON numbers, its own sample
  says ``0.1``);
- ``receive-partial.json``: 15 of the 40 bottles of oil accepted, 2 rejected, 23 short;
- ``receive-rest.json``: the rest: the rice, the 23 bottles, the salt;
- ``cancel.txt`` / ``comment.txt``: remark bodies as the document's curl sends them,
  raw text under ``Content-Type: application/json``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters import registry
from core.adapter import Call, RemoteState, RenderContext
from core.errors import InvalidInput
from core.mapping.tables import Mapping
from core.model import EventKind, LineReceipt, PoEvent, PoStatus, PurchaseOrder, StatusChange
from core.state import apply_event
from gateway.mappings.files import load_mapping
from tests.gateway.harness import gateway
from tests.servers import SimulatorServer

ROOT = Path(__file__).resolve().parents[2]
CORPUS = registry.samples_dir("alphaalpha") / "corpus"
ADAPTER = registry.get("alphaalpha")
BASE = "/api/v1/purchase-orders"
PO_ID = "AA-PO-7731"
LATER = datetime(2024, 5, 4, tzinfo=UTC)
FRESH = 4102444800000  # a last reply after every event here: no read-back


def mapping() -> Mapping:
    return load_mapping(ROOT / "mappings", "alphaalpha")


def parse(name: str, tail: str | None = None) -> PoEvent:
    headers = {"X-Pohub-Path": f"{BASE}{tail}"} if tail is not None else {}
    (event,) = ADAPTER.parse((CORPUS / name).read_bytes(), mapping(), headers)
    return event


def the_po() -> PurchaseOrder:
    po = parse("po-three-products.json").po
    assert po is not None
    return po


def after(*names: str) -> PurchaseOrder:
    state: PurchaseOrder | None = the_po()
    for name in names:
        state = apply_event(state, parse(name, f"/{PO_ID}/receive-goods"))
    assert state is not None
    return state


def plan(event: PoEvent, state: PurchaseOrder, status: str) -> list[Call]:
    ctx = RenderContext(mapping(), state, RemoteState(PO_ID, status, FRESH))
    return ADAPTER.render(event, ctx).calls


def status_event(to: PoStatus) -> PoEvent:
    change = StatusChange(to_status=to)
    return PoEvent(kind=EventKind.STATUS_CHANGED, po_number=PO_ID, source_system="uniware",
                   status_change=change, occurred_at=LATER)  # fmt: skip


# -- the PO ---------------------------------------------------------------------------------
def test_three_products_read_with_the_fraction_kept() -> None:
    po = the_po()
    assert (po.status, po.source_status, po.currency, po.total) == (
        PoStatus.SENT, "SENT", "INR", Decimal("9644.2")
    )  # fmt: skip
    got = [(ln.line_number, ln.product_ids, ln.quantity, ln.unit, ln.unit_price, ln.total)
           for ln in po.lines]  # fmt: skip
    assert got == [
        ("1", {"alphaalpha": "AA-RICE-25"}, Decimal("25.5"), "KG", Decimal("92.4"),
         Decimal("2356.2")),
        ("2", {"alphaalpha": "AA-OIL-1L"}, Decimal(40), "PCS", Decimal(148), Decimal(5920)),
        ("3", {"alphaalpha": "AA-SALT-BOX"}, Decimal(3), "BOX", Decimal(456), Decimal(1368)),
    ]  # fmt: skip
    assert [ln.sku for ln in po.lines] == [None, None, None]  # no crosswalk rows: none guessed


def test_the_fractional_quantity_is_written_as_it_is() -> None:
    event = parse("po-three-products.json")
    (update,) = [c for c in plan(event, the_po(), "SENT") if c.step == "update"]
    assert update.json["products"][0] == {
        "price": 92.4, "productId": "AA-RICE-25", "quantity": 25.5, "unit": "KG"
    }  # fmt: skip


# -- receipts -------------------------------------------------------------------------------
def test_a_partial_receipt_is_goods_received_and_the_totals_say_partially_received() -> None:
    event = parse("receive-partial.json", f"/{PO_ID}/receive-goods")
    assert (event.kind, event.status_change, event.action) == (
        EventKind.GOODS_RECEIVED, None, "receive-goods"
    )  # fmt: skip
    assert event.receipts == [
        LineReceipt(product_id="AA-OIL-1L", accepted=Decimal(15), rejected=Decimal(2),
                    unit="PCS", path="$.acceptedGoods[0]"),
    ]  # fmt: skip
    po = after("receive-partial.json")
    oil = po.line("2")
    assert oil is not None and (oil.accepted_quantity, oil.rejected_quantity) == (15, 2)
    assert po.status is PoStatus.PARTIALLY_RECEIVED


def test_the_rest_makes_it_received_and_a_second_rest_is_refused() -> None:
    po = after("receive-partial.json", "receive-rest.json")
    assert [(ln.accepted_quantity, ln.rejected_quantity) for ln in po.lines] == [
        (Decimal("25.5"), 0), (Decimal(38), Decimal(2)), (Decimal(3), 0)
    ]  # fmt: skip
    assert po.status is PoStatus.RECEIVED
    with pytest.raises(InvalidInput) as exc:
        apply_event(po, parse("receive-rest.json", f"/{PO_ID}/receive-goods"))
    assert {(e.path, e.rule) for e in exc.value.errors} == {
        ("$.acceptedGoods[0]", "not_above_ordered"),
        ("$.acceptedGoods[1]", "not_above_ordered"),
        ("$.acceptedGoods[2]", "not_above_ordered"),
    }


def goods(pid: str, quantity: Any, code: str, **extra: Any) -> dict[str, Any]:
    return {"productId": pid, **extra,
            "uomSplit": [{"productId": pid, "quantity": quantity, "unit": code}]}  # fmt: skip


def test_a_receipt_from_another_system_sends_exactly_its_quantities() -> None:
    receipt = LineReceipt(line_number="2", accepted=Decimal(15), rejected=Decimal(2), unit="PCS")
    event = PoEvent(kind=EventKind.GOODS_RECEIVED, po_number=PO_ID, source_system="leo",
                    receipts=[receipt], occurred_at=LATER)  # fmt: skip
    (call,) = plan(event, the_po(), "SENT")
    assert (call.step, call.reaches) == ("receive-goods", "PARTIALLY_RECEIVED")
    assert call.json == {
        "acceptedGoods": [goods("AA-OIL-1L", 15, "PCS")],
        "rejectedGoods": [goods("AA-OIL-1L", 2, "PCS", unit="PCS")],
        "shortageGoods": [],
    }
    # a further partial receipt moves no status, and is still sent
    (again,) = plan(event, after("receive-partial.json"), "PARTIALLY_RECEIVED")
    assert again.step == "receive-goods" and again.json == call.json


def test_received_after_partial_sends_only_what_is_still_open() -> None:
    (call,) = plan(status_event(PoStatus.RECEIVED), after("receive-partial.json"),
                   "PARTIALLY_RECEIVED")  # fmt: skip
    assert call.json == {
        "acceptedGoods": [goods("AA-RICE-25", 25.5, "KG"), goods("AA-OIL-1L", 23, "PCS"),
                          goods("AA-SALT-BOX", 3, "BOX")],
        "rejectedGoods": [],
        "shortageGoods": [],
    }  # fmt: skip


def test_nothing_left_to_receive_is_no_receive_goods_call() -> None:
    (call,) = plan(status_event(PoStatus.RECEIVED),
                   after("receive-partial.json", "receive-rest.json"), "PARTIALLY_RECEIVED")  # fmt: skip
    assert call.step == "receive-goods" and call.json is None
    assert call.refused is not None and call.refused.startswith("nothing left to receive")


# -- remarks: raw text ----------------------------------------------------------------------
def test_raw_text_cancel_and_comment_are_read_and_sent_back_raw() -> None:
    cancel = parse("cancel.txt", f"/{PO_ID}/cancel")
    reason = (CORPUS / "cancel.txt").read_text()
    assert (cancel.status_change and cancel.status_change.to_status, cancel.remarks) == (
        PoStatus.CANCELLED, reason
    )  # fmt: skip
    (call,) = plan(cancel, the_po(), "SENT")
    assert (call.method, call.path, call.text, call.json) == (
        "PATCH", f"{BASE}/{PO_ID}/cancel", reason, None
    )  # fmt: skip
    assert call.headers == {"Content-Type": "application/json"}
    comment = parse("comment.txt", f"/{PO_ID}/comment")
    assert (comment.kind, comment.remarks) == (
        EventKind.COMMENTED, (CORPUS / "comment.txt").read_text()
    )  # fmt: skip
    (posted,) = plan(comment, the_po(), "SENT")
    assert (posted.method, posted.path, posted.text) == (
        "POST", f"{BASE}/{PO_ID}/comment", comment.remarks
    )  # fmt: skip


def test_a_json_string_remark_is_still_read() -> None:
    (event,) = ADAPTER.parse(b'"no longer needed"', mapping(),
                             {"X-Pohub-Path": f"{BASE}/{PO_ID}/reject-internal"})  # fmt: skip
    assert event.remarks == "no longer needed"


@pytest.mark.anyio
async def test_the_gateway_facade_takes_the_documented_raw_text_cancel(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    reason = (CORPUS / "cancel.txt").read_bytes()
    with gateway(sim, tmp_path) as gw, httpx_client(gw.url) as http:
        headers = {**gw.inbound_headers("alphaalpha"), "Content-Type": "application/json"}
        made = http.post(f"/inbound/alphaalpha{BASE}", headers=headers,
                         content=(CORPUS.parent / "requests" / "create.json").read_bytes())  # fmt: skip
        assert made.status_code == 201, made.text
        po_id = made.json()["id"]
        cancelled = http.patch(f"/inbound/alphaalpha{BASE}/{po_id}/cancel", headers=headers,
                               content=reason)  # fmt: skip
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["cancellationReason"] == reason.decode()
        assert cancelled.json()["status"] == "CANCELLED"
        commented = http.post(f"/inbound/alphaalpha{BASE}/{po_id}/comment", headers=headers,
                              content=(CORPUS / "comment.txt").read_bytes())  # fmt: skip
        assert commented.status_code == 200, commented.text
        empty = http.post(f"/inbound/alphaalpha{BASE}/{po_id}/comment", headers=headers)
        assert empty.status_code == 400 and "body*string" in empty.json()["detail"]


def httpx_client(url: str) -> Any:
    import httpx

    return httpx.Client(base_url=url, timeout=10)
