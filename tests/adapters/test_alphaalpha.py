"""AlphaAlpha-specific readings: two PO object shapes, requests by path, plans of actions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters import registry
from adapters.alphaalpha import lifecycle, replies, schema
from adapters.alphaalpha.lifecycle import Action, Status
from core.adapter import Call, RemoteState, RenderContext, Rendered
from core.errors import (
    IdentityMissing,
    InvalidInput,
    MappingMissing,
    StateRequired,
    TransitionNotAllowed,
)
from core.mapping.tables import Mapping
from core.model import EventKind, PoEvent, PoStatus, PurchaseOrder, StatusChange
from gateway.mappings.files import load_mapping

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = registry.samples_dir("alphaalpha")
ADAPTER = registry.get("alphaalpha")
BASE = "/api/v1/purchase-orders"


@cache
def mapping(system: str = "alphaalpha") -> Mapping:
    return load_mapping(ROOT / "mappings", system)


def doc(name: str = "purchase-order.json") -> Any:
    return orjson.loads((SAMPLES / name).read_bytes())


def request(name: str) -> bytes:
    return (SAMPLES / "requests" / name).read_bytes()


def path(tail: str = "") -> dict[str, str]:
    return {"X-Pohub-Path": BASE + tail}


def parse(d: Any, headers: dict[str, str] | None = None, m: Mapping | None = None) -> PoEvent:
    events = ADAPTER.parse(orjson.dumps(d), m or mapping(), headers)
    assert len(events) == 1
    return events[0]


def invalid(d: Any, headers: dict[str, str] | None = None) -> tuple[str, str]:
    body = d if isinstance(d, bytes) else orjson.dumps(d)
    with pytest.raises(InvalidInput) as exc:
        ADAPTER.parse(body, mapping(), headers)
    return exc.value.first.path, exc.value.first.rule


def plan(event: PoEvent, **ctx: Any) -> list[Call]:
    return ADAPTER.render(event, RenderContext(mapping(), **ctx)).calls


FRESH = 4102444800000
"""2100-01-01 in ms: a last reply newer than every test event (no read-back needed)."""


def known(remote_id: str, status: str | None) -> RemoteState:
    """What the hub learnt from AlphaAlpha after every event of the test."""
    return RemoteState(remote_id, status, FRESH)


def uniware_po() -> PoEvent:
    body = (registry.samples_dir("uniware") / "approved-po.json").read_bytes()
    event = registry.get("uniware").parse(body, mapping("uniware"))[0]
    # an approved push carries no event time: the gateway stamps when it arrived
    event.occurred_at = event.occurred_at or datetime(2024, 3, 13, tzinfo=UTC)
    return event


# -- the full PO object ---------------------------------------------------------------------
def test_po_object_reads_into_canonical_with_the_placeholder_ids() -> None:
    event = parse(doc())
    po = event.po
    assert event.kind is EventKind.UPDATED and event.po_number == "string"
    assert po.remote_ids == {"alphaalpha": "string"}
    assert (po.supplier.code, po.supplier.email) == ("Sachin123", "string")
    assert (po.buyer.code, po.buyer.ids) == ("neemka", {"alphaalpha": "string"})
    assert (po.status, po.source_status) == (PoStatus.DRAFT, "DRAFT")
    assert po.created_at == datetime(2019, 8, 24, 14, 15, 22, tzinfo=UTC)
    assert event.occurred_at == po.updated_at
    line = po.lines[0]
    assert (line.sku, line.product_ids, line.product_name) == (
        "Shirt27", {"alphaalpha": "string"}, "string"
    )  # fmt: skip
    assert (line.quantity, line.unit_price, line.total) == (Decimal("0.1"),) * 3
    assert po.extensions["alphaalpha"]["rest"]["amountUsed"] == 0.1


@pytest.mark.parametrize("name", ["purchase-order.json", "purchase-order-found.json"])
def test_both_po_shapes_round_trip_through_to_wire(name: str) -> None:
    event = parse(doc(name))
    assert ADAPTER.to_wire(event) == doc(name)
    assert ADAPTER.to_wire(event, mapping()) == doc(name)


def test_find_shape_reads_price_per_unit_and_writes_it_back() -> None:
    d = doc("purchase-order-found.json")
    d["products"][0]["pricePerUnit"] = 12.5
    event = parse(d)
    assert event.po.lines[0].unit_price == Decimal("12.5")
    product = ADAPTER.to_wire(event)["products"][0]
    assert product["pricePerUnit"] == 12.5 and "price" not in product


def test_absent_and_null_keys_stay_absent_and_null() -> None:
    d = {"id": "A1", "status": None, "supplierEmail": "", "products": [{"unit": None}]}
    assert ADAPTER.to_wire(parse(d), mapping()) == d


def test_a_changed_status_is_written_as_its_mapped_code() -> None:
    event = parse(doc())
    event.po.status, event.po.source_status = PoStatus.CONFIRMED, None
    assert ADAPTER.to_wire(event, mapping())["status"] == "APPROVED"
    with pytest.raises(MappingMissing):
        ADAPTER.to_wire(event)  # no mapping: only AlphaAlpha's own codes can be written


def test_unknown_status_code_is_refused_at_its_path() -> None:
    d = doc()
    d["status"] = "ON_HOLD"
    assert invalid(d) == ("$.status", "known_status")
    assert invalid([doc(), d]) == ("$[1].status", "known_status")
    page = orjson.loads((SAMPLES / "replies" / "dynamic-search.json").read_bytes())
    page["content"][0]["status"] = "ON_HOLD"
    assert invalid(page, path("/dynamic-search")) == ("$.content[0].status", "known_status")


def test_array_and_page_replies_give_one_event_per_po() -> None:
    listed = ADAPTER.parse(orjson.dumps([doc(), doc()]), mapping())
    assert [e.po_number for e in listed] == ["string", "string"]
    page = (SAMPLES / "replies" / "dynamic-search.json").read_bytes()
    events = ADAPTER.parse(page, mapping(), path("/dynamic-search"))
    assert ADAPTER.to_wire(events[0]) == orjson.loads(page)["content"][0]


@pytest.mark.parametrize("bad", ["2019-08-24", "2019-08-24T14:15:22", "yesterday"])
def test_date_time_rule_names_the_field(bad: str) -> None:
    d = doc()
    d["expectedDeliveryDate"] = bad
    assert invalid(d) == ("$.expectedDeliveryDate", "date_time")
    assert invalid({"content": [d]}, path("/page")) == (
        "$.content[0].expectedDeliveryDate", "date_time"
    )  # fmt: skip


def test_id_is_the_only_required_key_of_the_po_object() -> None:
    assert parse({"id": "A1"}).po.lines == []
    assert invalid({"status": "DRAFT"}) == ("$.id", "missing")
    assert invalid([{"id": "A1"}, {}]) == ("$[1].id", "missing")


@pytest.mark.parametrize(("key", "value", "rule"), [
    ("latitude", -90.5, "greater_than_equal"), ("longitude", 180.5, "less_than_equal"),
])  # fmt: skip
def test_coordinates_keep_their_bounds(key: str, value: float, rule: str) -> None:
    d = doc()
    d["currentLocation"]["coordinate"][key] = value
    assert invalid(d) == (f"$.currentLocation.coordinate.{key}", rule)


def test_numbers_must_be_numbers() -> None:
    d = doc()
    d["products"][0]["quantity"] = "0.1"
    assert invalid(d) == ("$.products[0].quantity", "float_type")


# -- requests to the hub as AlphaAlpha ------------------------------------------------------
def test_create_request_is_a_new_draft_under_the_id_the_hub_assigned() -> None:
    headers = {"x-pohub-path": BASE, "x-pohub-id": "A1"}
    event = ADAPTER.parse(request("create.json"), mapping(), headers)[0]
    assert (event.kind, event.po_number, event.po.status) == (EventKind.CREATED, "A1", "DRAFT")
    assert event.po.lines[0].sku == "Shirt27" and event.po.buyer.code == "neemka"
    rendered = ADAPTER.render(event, RenderContext(mapping()))
    assert [c.step for c in rendered.calls] == ["create"]
    assert ADAPTER.combine([rendered]) == orjson.loads(request("create.json"))
    assert ADAPTER.to_wire(event) == orjson.loads(request("create.json"))


def test_create_without_an_assigned_id_is_refused() -> None:
    assert invalid(request("create.json"), path()) == ("$.id", "required")


def test_patch_request_edits_products_without_a_status() -> None:
    event = ADAPTER.parse(request("update.json"), mapping(), path("/A1"))[0]
    assert (event.kind, event.po_number, event.po.status) == (EventKind.UPDATED, "A1", None)
    assert ADAPTER.to_wire(event) == orjson.loads(request("update.json"))


def test_request_product_needs_a_product_id() -> None:
    d = orjson.loads(request("create.json"))
    del d["products"][0]["productId"]
    assert invalid(d, {**path(), "X-Pohub-Id": "A1"}) == ("$.products[0].productId", "missing")


@pytest.mark.parametrize(("action", "status", "remarks"), [
    ("cancel", PoStatus.CANCELLED, "string"), ("reject-internal", PoStatus.REJECTED, "string"),
    ("reject-supplier", PoStatus.REJECTED, "string"), ("close", PoStatus.CLOSED, None),
    ("approve-supplier", PoStatus.CONFIRMED, None), ("reinstate", PoStatus.DRAFT, None),
])  # fmt: skip
def test_actions_read_as_status_changes(action: str, status: PoStatus, remarks: str | None) -> None:
    body = b'"string"' if remarks else b""
    event = ADAPTER.parse(body, mapping(), path(f"/A1/{action}"))[0]
    assert event.kind is EventKind.STATUS_CHANGED and event.action == action
    assert (event.status_change.to_status, event.remarks) == (status, remarks)
    assert event.remote_ids == {"alphaalpha": "A1"}
    call = plan(event)[0]
    # remarks go back as the raw text the document's curl sends, never JSON-quoted
    assert (call.path, call.json, call.text) == (f"{BASE}/A1/{action}", None, remarks)
    assert ADAPTER.to_wire(event) == remarks


def test_cancel_body_is_optional_but_must_be_a_string() -> None:
    assert parse(None, path("/A1/cancel")).remarks is None
    assert invalid(b'{"reason": "x"}', path("/A1/cancel")) == ("$", "string_type")


def test_receive_goods_reads_as_goods_received_without_a_status() -> None:
    d = doc("receive-goods.json")
    event = parse(d, path("/A1/receive-goods"))
    assert event.kind is EventKind.GOODS_RECEIVED and event.status_change is None
    # the sample's accepted and rejected 0.1 of product "string" (its shortage is not a receipt)
    assert [(r.product_id, r.sku, r.accepted, r.rejected, r.path) for r in event.receipts] == [
        ("string", "Shirt27", Decimal("0.1"), Decimal("0.1"), "$.acceptedGoods[0]")
    ]
    del d["acceptedGoods"][0]["uomSplit"][0]["quantity"]
    assert invalid(d, path("/A1/receive-goods")) == (
        "$.acceptedGoods[0].uomSplit[0].quantity", "missing"
    )  # fmt: skip


def test_mark_as_sent_form_needs_its_pdf() -> None:
    event = parse(doc("mark-as-sent.json"), path("/A1/mark-as-sent"))
    assert event.status_change.to_status is PoStatus.SENT
    assert plan(event)[0].form == {"pdf": "string"}
    assert invalid({}, path("/A1/mark-as-sent")) == ("$.pdf", "missing")


@pytest.mark.parametrize(("tail", "rule"), [
    ("//cancel", "required"), ("/A1/attachments", "unsupported_path"),
    ("/stats", "unsupported_path"),
])  # fmt: skip
def test_paths_pohub_does_not_read_are_refused(tail: str, rule: str) -> None:
    assert invalid(b'"x"', path(tail))[1] == rule
    assert invalid(b"{}", {"X-Pohub-Path": "/api/v1/orders"}) == ("$", "unsupported_path")


# -- render: the plan -----------------------------------------------------------------------
def steps(calls: list[Call]) -> list[str]:
    return [c.step for c in calls]


def test_new_po_is_created_then_driven_to_its_status() -> None:
    calls = plan(uniware_po())  # canonical APPROVED -> APPROVED_INTERNALLY
    assert steps(calls) == ["create", "approve-internal"]
    assert calls[0].json == {
        "products": [{"price": 100, "productId": "string", "quantity": 6, "unit": "EA"}],
        "subsidiaryId": "string",
    }
    assert calls[1] == Call(
        "PATCH", f"{BASE}/{{id}}/approve-internal", step="approve-internal",
        reaches="APPROVED_INTERNALLY",
    )  # fmt: skip


def test_known_po_moves_from_its_remote_status() -> None:
    event = uniware_po()
    event.po.status = PoStatus.RECEIVED
    calls = plan(event, state=event.po, remote=known("A1", "SENT"))
    # a full PO is always patched: the stored state may be newer than what AlphaAlpha has
    assert steps(calls) == ["update", "receive-goods"]
    assert calls[1].path == f"{BASE}/A1/receive-goods"
    assert calls[1].json == {
        "acceptedGoods": [{
            "productId": "string",
            "uomSplit": [{"productId": "string", "quantity": 6, "unit": "EA"}],
        }],
        "rejectedGoods": [],
        "shortageGoods": [],
    }  # fmt: skip


def test_changed_products_are_patched_first() -> None:
    event, state = uniware_po(), uniware_po().po
    event.po.lines[0].quantity = Decimal(7)
    calls = plan(event, state=state, remote=known("A1", "APPROVED_INTERNALLY"))
    assert steps(calls) == ["update"]
    assert (calls[0].method, calls[0].path) == ("PATCH", f"{BASE}/A1")


def test_status_event_renders_from_stored_state_with_remarks() -> None:
    change = StatusChange(to_status=PoStatus.CANCELLED)
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED, po_number="PO0194", source_system="leo",
        status_change=change, remarks="duplicate", occurred_at=datetime(2024, 3, 1, tzinfo=UTC),
    )  # fmt: skip
    with pytest.raises(StateRequired):
        plan(event)
    calls = plan(event, state=uniware_po().po, remote=known("A1", "SENT"))
    assert calls == [
        Call("PATCH", f"{BASE}/A1/cancel", step="cancel", reaches="CANCELLED", text="duplicate",
             headers={"Content-Type": "application/json"})
    ]  # fmt: skip


@pytest.mark.parametrize(("remote", "status"), [
    (known("A1", "CLOSED"), PoStatus.APPROVED),
    (known("A1", "SENT"), PoStatus.CONFIRMED),  # no cancel-and-reinstate to go back
])  # fmt: skip
def test_unreachable_status_is_refused(remote: RemoteState, status: PoStatus) -> None:
    event = uniware_po()
    event.po.status = status
    with pytest.raises(TransitionNotAllowed):
        plan(event, state=event.po, remote=remote)


def test_missing_product_row_names_table_and_key() -> None:
    event = uniware_po()
    event.po.lines[0].sku = "Shirt99"
    with pytest.raises(MappingMissing) as exc:
        plan(event)
    assert (exc.value.table, exc.value.key) == ("crosswalks.product", "Shirt99")
    assert exc.value.path == "$.products[0].productId"


def with_defaults(**defaults: Any) -> Mapping:
    data = mapping().file.model_dump()
    data["defaults"] = {**data["defaults"], **defaults}
    return Mapping.from_dict(data, spec=ADAPTER.spec)


def test_unknown_buyer_takes_the_default_an_admin_wrote_or_parks() -> None:
    event = uniware_po()
    event.po.buyer.code = "elsewhere"
    with pytest.raises(MappingMissing) as exc:  # the shipped file invents no subsidiary
        plan(event)
    assert (exc.value.table, exc.value.key, exc.value.path) == (
        "crosswalks.buyer", "elsewhere", "$.subsidiaryId"
    )  # fmt: skip
    chosen = ADAPTER.render(event, RenderContext(with_defaults(subsidiaryId="SUB-9")))
    assert chosen.calls[0].json["subsidiaryId"] == "SUB-9"
    none = ADAPTER.render(event, RenderContext(with_defaults(subsidiaryId=None)))
    assert "subsidiaryId" not in none.calls[0].json


def test_po_without_status_asks_for_no_action() -> None:
    event = uniware_po()
    event.po.status = None
    assert steps(plan(event)) == ["create"]


def test_combine_gives_the_body_of_a_one_call_plan_else_the_steps() -> None:
    one = Rendered("alphaalpha", [Call("POST", BASE, {"a": 1}, step="create")], "v")
    bare = Rendered("alphaalpha", [Call("PATCH", f"{BASE}/A1/close", step="close")], "v")
    assert ADAPTER.combine([one]) == {"a": 1}
    assert ADAPTER.combine([bare]) == [
        {"step": "close", "method": "PATCH", "path": f"{BASE}/A1/close"}
    ]
    assert ADAPTER.combine([one, one]) == [{"a": 1}, {"a": 1}]


def test_every_canonical_status_can_be_written() -> None:
    table = mapping().file.statuses.document
    assert set(table) == set(PoStatus)
    assert all(lifecycle.status_of(code) for code in table.values())


# -- lifecycle ------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "goal", "actions"), [
    ("DRAFT", "DRAFT", []),
    ("DRAFT", "APPROVED", ["approve-internal", "approve-supplier"]),
    ("DRAFT", "CLOSED", ["approve-internal", "approve-supplier", "close"]),
    ("PENDING_INTERNAL_APPROVAL", "REJECTED_INTERNALLY", ["reject-internal"]),
    ("CANCELLED", "APPROVED_INTERNALLY", ["reinstate", "approve-internal"]),
    ("SENT", "PARTIALLY_RECEIVED", ["receive-goods"]),
    ("PARTIALLY_RECEIVED", "RECEIVED", ["receive-goods"]),
    ("RECEIVED", "CANCELLED", ["cancel"]),
])  # fmt: skip
def test_shortest_paths(start: str, goal: str, actions: list[str]) -> None:
    assert lifecycle.path_to(start, goal) == actions


@pytest.mark.parametrize(("start", "goal"), [
    ("CLOSED", "DRAFT"), ("CANCELLED", "CLOSED"), ("APPROVED", "DRAFT"), ("NOPE", "DRAFT"),
])  # fmt: skip
def test_paths_never_rewind_or_leave_terminal_states(start: str, goal: str) -> None:
    if (start, goal) == ("CANCELLED", "CLOSED"):
        assert lifecycle.path_to(start, goal)[0] == "reinstate"
        return
    with pytest.raises(TransitionNotAllowed):
        lifecycle.path_to(start, goal)


def test_apply_checks_the_from_status() -> None:
    assert lifecycle.apply("DRAFT", "approve-internal") is Status.APPROVED_INTERNALLY
    assert lifecycle.apply("SENT", "receive-goods", complete=False) is Status.PARTIALLY_RECEIVED
    assert lifecycle.apply("REJECTED_BY_SUPPLIER", "reinstate") is Status.DRAFT
    with pytest.raises(TransitionNotAllowed):
        lifecycle.apply("CLOSED", Action.CANCEL)
    with pytest.raises(TransitionNotAllowed):
        lifecycle.apply("DRAFT", "mark-as-sent")


# -- replies and the other request samples --------------------------------------------------
REPLY_MODELS: dict[str, Any] = {
    "error": replies.ErrorReply, "stats": replies.Stats, "csv-export": replies.CsvExport,
    "shortage-summary": replies.ShortageSummary, "find": replies.PurchaseOrderList,
    "find-all": replies.PurchaseOrderList, "find-list": replies.PurchaseOrderList,
    "dynamic-search": schema.PageDoc, "dynamic-search-post": schema.PageDoc, "page": schema.PageDoc,
}  # fmt: skip


@pytest.mark.parametrize("file", sorted((SAMPLES / "replies").glob("*.json")), ids=lambda p: p.stem)
def test_reply_samples_parse(file: Path) -> None:
    model = REPLY_MODELS.get(file.stem, schema.PurchaseOrderDoc)
    assert model.model_validate_json(file.read_bytes()) is not None


@pytest.mark.parametrize(("name", "model"), [
    ("dynamic-search.json", schema.SearchRequest), ("comment.json", schema.Remarks),
    ("resolve-shortage-expense.json", schema.ResolveShortage),
    ("send-mail.json", schema.MarkAsSentDoc),
    ("upload-attachments.json", schema.UploadAttachmentsForm),
])  # fmt: skip
def test_request_samples_without_a_po_event_validate(name: str, model: Any) -> None:
    assert model.model_validate_json(request(name)) is not None


def test_search_page_size_is_int32() -> None:
    with pytest.raises(ValueError, match="less than or equal"):
        schema.SearchRequest.model_validate({"size": 2**31})


def test_reply_constructors_build_what_the_models_read() -> None:
    err = replies.error("Not Found", "no order A1", datetime(2024, 1, 2, tzinfo=UTC))
    assert err == {"detail": "no order A1", "time": "2024-01-02T00:00:00Z", "title": "Not Found"}
    page = replies.page([doc()], number=0, size=20, total=1)
    events = ADAPTER.parse(orjson.dumps(page), mapping(), path("/dynamic-search"))
    assert len(events) == 1 and page["totalPages"] == 1 and page["last"]


def test_po_object_of_another_system_s_po_writes_only_what_is_known() -> None:
    po = PurchaseOrder(po_number="X", remote_ids={"alphaalpha": "A9"})
    event = PoEvent(kind=EventKind.UPDATED, po_number="X", source_system="leo", po=po)
    wire = {"id": "A9", "products": []}  # no buyer: no subsidiary (none is invented)
    assert ADAPTER.to_wire(event, mapping()) == wire
    with pytest.raises(TypeError):  # crosswalks are needed for another system's PO
        ADAPTER.to_wire(event)
    po.remote_ids = {}  # not in AlphaAlpha yet: named by its PO number, as parse reads it
    assert ADAPTER.to_wire(event, mapping())["id"] == "X"
    status_only = event.model_copy(update={"po": None})
    with pytest.raises(StateRequired):
        ADAPTER.to_wire(status_only)


# -- issue 10: what was seen ----------------------------------------------------------------
def test_a_line_without_unit_is_written_without_one() -> None:
    event = uniware_po()
    event.po.lines[0].unit = None
    (product,) = plan(event)[0].json["products"]
    assert "unit" not in product  # `unit` is not required: no EA is invented
    assert mapping().file.units.default is None


@pytest.mark.parametrize(("status", "stops_at", "refused"), [
    (PoStatus.CONFIRMED, "APPROVED_INTERNALLY", "approve-supplier"),
    (PoStatus.SENT, "APPROVED_INTERNALLY", "approve-supplier"),
])  # fmt: skip
def test_the_supplier_s_step_is_not_taken_unless_the_mapping_allows(
    status: PoStatus, stops_at: str, refused: str
) -> None:
    event = uniware_po()
    event.po.status = status
    calls = plan(event)
    assert steps(calls) == ["create", "approve-internal", refused]
    assert calls[1].reaches == stops_at and calls[-1].refused is not None
    assert "defaults.hubMayApproveForSupplier: true" in calls[-1].refused
    assert calls[-1].json is None and calls[-1].form is None
    allowed = RenderContext(with_defaults(hubMayApproveForSupplier=True))
    calls = ADAPTER.render(event, allowed).calls
    if status is PoStatus.CONFIRMED:
        assert steps(calls) == ["create", "approve-internal", "approve-supplier"]
        assert all(c.refused is None for c in calls)
    else:  # mark-as-sent needs the order's document, which no canonical PO carries
        assert steps(calls) == ["create", "approve-internal", "approve-supplier", "mark-as-sent"]
        assert "document" in (calls[-1].refused or "") and calls[-1].form is None


def test_remarks_and_error_message_are_comments_beside_the_actions() -> None:
    change = StatusChange(to_status=PoStatus.APPROVED)
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED, po_number="PO0194", source_system="leo",
        status_change=change, remarks="ok by finance", error_message="GST number missing",
        occurred_at=datetime(2024, 3, 1, tzinfo=UTC),
    )  # fmt: skip
    calls = plan(event, state=uniware_po().po, remote=known("A1", "DRAFT"))
    assert [(c.step, c.method, c.path, c.text) for c in calls] == [
        ("comment", "POST", f"{BASE}/A1/comment", "ok by finance"),
        ("comment", "POST", f"{BASE}/A1/comment", "GST number missing"),
        ("approve-internal", "PATCH", f"{BASE}/A1/approve-internal", None),
    ]
    # a cancel carries the remarks itself; the error message still gets its comment
    event.status_change = StatusChange(to_status=PoStatus.CANCELLED)
    calls = plan(event, state=uniware_po().po, remote=known("A1", "DRAFT"))
    assert [(c.step, c.text) for c in calls] == [
        ("comment", "GST number missing"), ("cancel", "ok by finance")
    ]  # fmt: skip


def test_a_comment_event_is_only_its_comment_and_needs_the_po_id() -> None:
    event = PoEvent(kind=EventKind.COMMENTED, po_number="PO0194", source_system="enkash",
                    remarks="please expedite")  # fmt: skip
    with pytest.raises(IdentityMissing) as exc:
        plan(event, state=uniware_po().po)
    assert exc.value.path == "$.id"
    (call,) = plan(event, state=uniware_po().po, remote=known("A1", "SENT"))
    assert (call.step, call.path, call.text) == ("comment", f"{BASE}/A1/comment", "please expedite")


def test_comment_body_is_required() -> None:
    assert invalid(b"", path("/A1/comment")) == ("$", "missing")
    assert invalid(b"null", path("/A1/comment")) == ("$", "missing")
    assert parse(None, path("/A1/cancel")).remarks is None  # cancel's is optional


@pytest.mark.parametrize("remote", [
    RemoteState("A1", None),  # status never learnt
    RemoteState("A1", "SENT"),  # no time of the last reply
    RemoteState("A1", "SENT", 1700000000000),  # last reply 2023-11-14, the event is later
])  # fmt: skip
def test_a_stale_remote_state_is_read_back_first(remote: RemoteState) -> None:
    event = uniware_po()
    event.po.status = PoStatus.RECEIVED
    event.occurred_at = datetime(2024, 3, 1, tzinfo=UTC)
    calls = plan(event, state=event.po, remote=remote)
    assert (calls[0].method, calls[0].path, calls[0].reaches) == (
        "GET", f"{BASE}/find/A1", "DRAFT"
    )  # fmt: skip
    # planned the longest way, past a refused step, so the client can pick from any status
    assert steps(calls) == ["read", "update", "approve-internal", "approve-supplier",
                            "mark-as-sent", "receive-goods"]  # fmt: skip
    assert [c.step for c in calls if c.refused] == ["approve-supplier", "mark-as-sent"]
    fresh = plan(event, state=event.po, remote=known("A1", "SENT"))
    assert steps(fresh) == ["update", "receive-goods"]


def test_a_line_cancelled_at_the_hub_is_no_longer_in_the_order() -> None:
    """Leo cancelled line 2: the patch's whole product list leaves it out, rather than
    telling AlphaAlpha the product is still ordered (issue 10, dropped line statuses)."""
    event = uniware_po()
    assert event.po is not None
    second = event.po.lines[0].model_copy(update={"line_number": "2", "sku": "Shirt27"})
    event.po.lines.append(second.model_copy(update={"status": PoStatus.CANCELLED}))
    calls = plan(event, state=event.po, remote=known("A1", "APPROVED_INTERNALLY"))
    update = next(c for c in calls if c.step == "update")
    assert len(update.json["products"]) == 1
    create = plan(event)[0]
    assert create.step == "create" and len(create.json["products"]) == 1
