"""Canonical event -> AlphaAlpha plan: create or patch, then the lifecycle actions.

AlphaAlpha cannot be told "this PO is now APPROVED": each status is reached by calling its
action endpoint. So the plan is computed from the event, the hub's stored state
(``ctx.state``) and what the hub knows of the PO inside AlphaAlpha (``ctx.remote``):

- no remote id: ``create`` (``POST /api/v1/purchase-orders``), then the actions from DRAFT;
- a known id: ``update`` (``PATCH .../{id}``) when a full PO's products differ from the
  stored state's, then the actions from the remote status.

The target is AlphaAlpha's code for the canonical status (``statuses.document``); a PO
without a status asks for no status change. Action paths hold the literal ``{id}`` until the
client learns the id from the ``create`` step.
"""

from __future__ import annotations

from typing import Any

from adapters._wire import num
from adapters.alphaalpha import lifecycle
from adapters.alphaalpha.lifecycle import Action, Status
from adapters.alphaalpha.schema import SYSTEM
from adapters.alphaalpha.wire import order_request, product_id, status_code, unit_code
from core.adapter import Call, RenderContext, Rendered
from core.mapping.tables import Mapping
from core.model import Line, PoEvent, PoStatus, PurchaseOrder
from core.state import full_po

BASE = "/api/v1/purchase-orders"
ID = "{id}"
REMARKS = frozenset({Action.CANCEL, Action.REJECT_INTERNAL, Action.REJECT_SUPPLIER})


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    mapping = ctx.mapping
    if event.po is None and event.source_system == SYSTEM and event.action in lifecycle.METHOD:
        return Rendered(SYSTEM, [_own_action(event, ctx)], mapping.version)
    po = full_po(event, ctx.state, SYSTEM)
    calls, current = _document(event, po, ctx)
    target = status_code(po, mapping)
    po_id = ctx.remote.remote_id or ID
    if target is not None:
        for action, reached in lifecycle.steps(current, target):
            calls.append(_action(action, reached, po, po_id, event, mapping))
    return Rendered(SYSTEM, calls, mapping.version)


def _document(
    event: PoEvent, po: PurchaseOrder, ctx: RenderContext
) -> tuple[list[Call], str | None]:
    """The create or patch call (if any) and the status the actions then start from."""
    remote, mapping = ctx.remote, ctx.mapping
    if remote.remote_id is None:
        return [Call("POST", BASE, order_request(po, mapping), step="create")], lifecycle.INITIAL
    # A full PO is always PATCHed: ``ctx.state`` is the hub's newest PO, not what AlphaAlpha
    # last got, so comparing with it skipped real changes when events queued up. The PATCH
    # body is the whole product list, so sending an unchanged one has no effect.
    if event.po is None:
        return [], remote.status
    body = order_request(event.po, mapping)
    return [Call("PATCH", f"{BASE}/{remote.remote_id}", body, step="update")], remote.status


def _action(
    action: Action, reached: Status, po: PurchaseOrder, po_id: str, event: PoEvent, mapping: Mapping
) -> Call:
    path = f"{BASE}/{po_id}/{action.value}"
    method = lifecycle.METHOD[action]
    if action in REMARKS:
        return Call(method, path, event.remarks, step=action.value)
    if action is Action.MARK_AS_SENT:
        # The hub has no PDF of the order; the `pdf` part carries the PO number instead.
        return Call(method, path, step=action.value, form={"pdf": po.po_number})
    if action is Action.RECEIVE_GOODS:
        body = receive_goods(po, mapping, complete=reached is Status.RECEIVED)
        return Call(method, path, body, step=action.value)
    return Call(method, path, step=action.value)


def receive_goods(po: PurchaseOrder, mapping: Mapping, *, complete: bool) -> dict[str, Any]:
    """Every line accepted in full; for a partial receipt, only the lines marked RECEIVED
    (the canonical PO has no received quantities)."""
    lines = [ln for ln in po.lines if complete or ln.status is PoStatus.RECEIVED]
    accepted = [_goods(i, line, mapping) for i, line in enumerate(lines)]
    return {"acceptedGoods": accepted, "rejectedGoods": [], "shortageGoods": []}


def _goods(index: int, line: Line, mapping: Mapping) -> dict[str, Any]:
    at = f"$.acceptedGoods[{index}]"
    pid = product_id(line, mapping, f"{at}.productId")
    split = {"productId": pid, "quantity": num(line.quantity), "unit": unit_code(line, mapping)}
    goods: dict[str, Any] = {"productId": pid, "uomSplit": [split]}
    if line.location is not None:
        goods["locationId"] = mapping.lookup("location", line.location, f"{at}.locationId")
    return goods


def _own_action(event: PoEvent, ctx: RenderContext) -> Call:
    """An action AlphaAlpha-dialect sent: the same call again (its body as it came)."""
    action = Action(event.action or "")
    po_id = ctx.remote.remote_id or event.remote_ids.get(SYSTEM) or ID
    json, form = action_body(event)
    path = f"{BASE}/{po_id}/{action.value}"
    return Call(lifecycle.METHOD[action], path, json, step=action.value, form=form)


def action_body(event: PoEvent) -> tuple[Any, dict[str, str] | None]:
    """(JSON body, form fields) of an action event read from AlphaAlpha."""
    sent = event.extensions.get(SYSTEM, {}).get("body")
    if event.action in REMARKS:
        return event.remarks, None
    if event.action == Action.MARK_AS_SENT:
        return None, sent or {"pdf": event.po_number}
    return sent, None
