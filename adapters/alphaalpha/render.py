"""Canonical event -> AlphaAlpha plan: read, create or patch, comments, lifecycle actions.

AlphaAlpha cannot be told "this PO is now APPROVED": each status is reached by calling its
action endpoint. So the plan is computed from the event, the hub's stored state
(``ctx.state``) and what the hub knows of the PO inside AlphaAlpha (``ctx.remote``):

- no remote id: ``create`` (``POST /api/v1/purchase-orders``), then the actions from DRAFT;
- a known id whose remote state may be older than the event (status unknown, or the event
  happened after the last reply the hub saw): ``read`` (``GET .../find/{id}``) first, and
  the actions planned from DRAFT, the longest way; the client re-plans the calls after the
  read from the status it reads (``client.py``);
- a full PO is then PATCHed (``update``), its remarks and error message posted as
  ``comment`` calls, and the actions follow.

Steps that are not the hub's to take are in the plan as ``refused`` calls: the client sends
what comes before and stops there with the reason (the delivery ends dead, the PO where the
hub could take it). ``approve-supplier`` / ``reject-supplier`` are the supplier's steps
(allowed by ``defaults.hubMayApproveForSupplier: true``); ``mark-as-sent`` uploads the
order's document, which no canonical PO carries; a ``receive-goods`` with nothing left to
receive is never sent. Action paths hold the literal ``{id}`` until the client learns the id
from the ``create`` step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters._wire import num
from adapters.alphaalpha import lifecycle, rules
from adapters.alphaalpha.lifecycle import Action, Status
from adapters.alphaalpha.schema import SYSTEM
from adapters.alphaalpha.wire import order_request, product_id, status_code
from core.adapter import Call, RemoteState, RenderContext, Rendered, path_segment
from core.errors import CannotExpress, IdentityMissing
from core.mapping.tables import Mapping
from core.model import EventKind, Line, PoEvent, PoStatus, PurchaseOrder
from core.state import full_po, received, resolve_receipts

BASE = "/api/v1/purchase-orders"
ID = "{id}"
COMMENT = "comment"
REMARKS = frozenset({Action.CANCEL, Action.REJECT_INTERNAL, Action.REJECT_SUPPLIER})
TEXT_HEADERS = {"Content-Type": "application/json"}
"""The document's curl for remark bodies: raw text under ``Content-Type: application/json``."""
MAY_ACT_FOR_SUPPLIER = "hubMayApproveForSupplier"
OWN = frozenset(lifecycle.METHOD) | {COMMENT}


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    mapping = ctx.mapping
    if event.po is None and event.source_system == SYSTEM and event.action in OWN:
        return Rendered(SYSTEM, [own_call(event, ctx)], mapping.version)
    if event.po is None and event.kind is EventKind.COMMENTED:
        po_id = _known_id(event, ctx)
        calls = comments(event, po_id)
        if ctx.remote.unsure:  # a comment is no upsert: the client skips one already there
            find = f"{BASE}/find/{_segment(po_id)}"
            calls.insert(0, Call("GET", find, step="read", reaches=ctx.remote.status))
        return Rendered(SYSTEM, calls, mapping.version)
    po = full_po(event, ctx.state, SYSTEM)
    calls, current, read = _document(event, po, ctx)
    po_id = _segment(ctx.remote.remote_id) or ID
    actions = _actions(event, po, po_id, current, mapping, keep_going=read)
    carried = any(Action(c.step) in REMARKS and c.text is not None for c in actions)
    calls += comments(event, po_id, remarks_carried=carried)
    return Rendered(SYSTEM, calls + actions, mapping.version)


def _segment(remote_id: str | None) -> str | None:
    """AlphaAlpha's id as one URL path segment (``core.adapter.path_segment``)."""
    if remote_id is None:
        return None
    try:
        return path_segment(remote_id)
    except ValueError as exc:
        raise CannotExpress(SYSTEM, "$.id", str(exc)) from None


def check_currency(po: PurchaseOrder, mapping: Mapping) -> None:
    """The create and patch requests carry no currency: AlphaAlpha prices an order in its
    subsidiary's currency, which the operator declares as ``defaults.currency``. A PO in
    another currency cannot be said there (its numbers would be read in the wrong money)."""
    own = po.extensions.get(SYSTEM) or {}
    if po.currency is None or own:
        return  # no currency to say, or AlphaAlpha's own order with AlphaAlpha's currency
    declared = mapping.default("currency", "$")
    if po.currency != declared:
        raise CannotExpress(
            SYSTEM, "$",
            f"the PO is in {po.currency}; AlphaAlpha's create and patch requests have no "
            f"currency field, and its orders are priced in {declared} (defaults.currency)",
        )  # fmt: skip


def _document(
    event: PoEvent, po: PurchaseOrder, ctx: RenderContext
) -> tuple[list[Call], str | None, bool]:
    """The read and create/patch calls, the status the actions start from, and whether the
    plan reads first."""
    remote, mapping = ctx.remote, ctx.mapping
    check_currency(po, mapping)
    if remote.remote_id is None:
        create = Call("POST", BASE, order_request(po, mapping), step="create")
        return [create], lifecycle.INITIAL, False
    calls: list[Call] = []
    start, read = remote.status, stale(event, remote)
    if read:
        start = lifecycle.INITIAL
        find = f"{BASE}/find/{_segment(remote.remote_id)}"
        calls.append(Call("GET", find, step="read", reaches=start.value))
    # A full PO is always PATCHed: ``ctx.state`` is the hub's newest PO, not what AlphaAlpha
    # last got, so comparing with it skipped real changes when events queued up. The PATCH
    # body is the whole product list, so sending an unchanged one has no effect.
    if event.po is not None:
        body = order_request(event.po, mapping)
        calls.append(Call("PATCH", f"{BASE}/{_segment(remote.remote_id)}", body, step="update"))
    return calls, start, read


def stale(event: PoEvent, remote: RemoteState) -> bool:
    """The hub's view of the PO in AlphaAlpha may be older than the event: its status is not
    known, or the event happened after the last reply seen (``remote.version``: that reply's
    ``updated``, see ``client.remote_version``); or an earlier sending got no reply
    (``remote.unsure``), so the call that lost its reply may have moved the PO (issue 12)."""
    if remote.unsure:
        return True
    if lifecycle.status_of(remote.status) is None or remote.version is None:
        return True
    return event.occurred_at is None or event.occurred_at > rules.from_millis(remote.version)


def _actions(
    event: PoEvent, po: PurchaseOrder, po_id: str, current: str | None, mapping: Mapping,
    *, keep_going: bool,
) -> list[Call]:  # fmt: skip
    """The lifecycle calls to the PO's status. Without a read the plan ends at its first
    refused call; with one it goes on, as the read may show the PO past that step."""
    target = status_code(po, mapping)
    if target is None:
        return []
    out: list[Call] = []
    before = current
    for action, reached in lifecycle.plan(current, target, receiving=bool(event.receipts)):
        call = _action(action, reached, before, po, po_id, event, mapping)
        out.append(call)
        if call.refused is not None and not keep_going:
            break
        before = reached.value
    return out


def _action(
    action: Action, reached: Status, before: str | None, po: PurchaseOrder, po_id: str,
    event: PoEvent, mapping: Mapping,
) -> Call:  # fmt: skip
    path = f"{BASE}/{po_id}/{action.value}"
    method = lifecycle.METHOD[action]
    step: dict[str, Any] = {"step": action.value, "reaches": reached.value}
    stays = f"the PO stays {before} in AlphaAlpha"
    if action in lifecycle.SUPPLIER_STEPS and mapping.default_or(MAY_ACT_FOR_SUPPLIER) is not True:
        why = (
            f"{action.value} is the supplier's step: the hub takes it only when "
            f"mappings/alphaalpha.yaml says defaults.{MAY_ACT_FOR_SUPPLIER}: true; {stays}"
        )
        return Call(method, path, refused=why, **step)
    if action in REMARKS:
        return text_call(method, path, event.remarks, **step)
    if action is Action.MARK_AS_SENT:
        why = (
            "mark-as-sent uploads the order's document (multipart part `pdf`) and the event "
            f"carries none (a canonical PO has no document): {stays}"
        )
        return Call(method, path, refused=why, **step)
    if action is Action.RECEIVE_GOODS:
        body, why = receive_goods(po, event, mapping, complete=reached is Status.RECEIVED)
        if body is None:
            return Call(method, path, refused=f"{why}: {stays}", **step)
        return Call(method, path, body, **step)
    return Call(method, path, **step)


def text_call(method: str, path: str, text: str | None, **kw: Any) -> Call:
    """A remark-carrying call: the text raw, as the document's curl sends it; no body
    when there is no remark (``body?string``)."""
    headers = dict(TEXT_HEADERS) if text is not None else {}
    return Call(method, path, text=text, headers=headers, **kw)


def comments(event: PoEvent, po_id: str, *, remarks_carried: bool = False) -> list[Call]:
    """A ``comment`` per text the event says and no action carries: its remarks (a cancel
    or rejection carries them itself) and its error message."""
    texts = [event.error_message]
    if not remarks_carried:
        texts.insert(0, event.remarks)
    path = f"{BASE}/{po_id}/{COMMENT}"
    return [text_call("POST", path, t, step=COMMENT) for t in texts if t]


def _known_id(event: PoEvent, ctx: RenderContext) -> str:
    """A comment needs the PO to exist in AlphaAlpha: its id, else the delivery waits."""
    known = ctx.remote.remote_id or event.remote_ids.get(SYSTEM)
    if known is None:
        raise IdentityMissing(SYSTEM, event.po_number, "purchase order id", "$.id")
    return known


# -- receive-goods --------------------------------------------------------------------------
def receive_goods(
    po: PurchaseOrder, event: PoEvent, mapping: Mapping, *, complete: bool
) -> tuple[dict[str, Any] | None, str]:
    """The goods AlphaAlpha has not been told about, or (None, why) when there are none.

    An event with receipts sends exactly them (this receipt's own quantities). An event that
    only says a status sends what is still open by the hub's running totals (ordered minus
    everything received so far, which earlier deliveries told AlphaAlpha): every line for
    RECEIVED, the lines marked RECEIVED for PARTIALLY_RECEIVED. Never above what was ordered.
    """
    items: list[tuple[Line, Decimal, Decimal]] = []
    if event.receipts:
        for receipt in resolve_receipts(po, event).receipts:
            line = po.line(receipt.line_number)
            if line is not None:
                items.append((line, receipt.accepted, receipt.rejected))
    else:
        lines = [ln for ln in po.lines if complete or ln.status is PoStatus.RECEIVED]
        items = [(ln, _open(ln, i), Decimal(0)) for i, ln in enumerate(lines)]
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for line, ok, bad in items:
        if line.quantity is not None and ok + bad > line.quantity:
            where = f"$.acceptedGoods[{len(accepted)}]"
            why = f"line {line.line_number!r}: {ok + bad} received of {line.quantity} ordered"
            raise CannotExpress(SYSTEM, where, why)
        if ok > 0:
            accepted.append(_goods("acceptedGoods", len(accepted), line, ok, mapping))
        if bad > 0:
            rejected.append(_goods("rejectedGoods", len(rejected), line, bad, mapping))
    if not accepted and not rejected:
        return None, "nothing left to receive on any line: no receive-goods is sent"
    return {"acceptedGoods": accepted, "rejectedGoods": rejected, "shortageGoods": []}, ""


def _open(line: Line, index: int) -> Decimal:
    if line.quantity is None:
        raise CannotExpress(
            SYSTEM, f"$.acceptedGoods[{index}]",
            f"line {line.line_number!r} has no ordered quantity: what is open is unknown",
        )  # fmt: skip
    return max(line.quantity - received(line), Decimal(0))


def _goods(key: str, index: int, line: Line, quantity: Decimal, mapping: Mapping) -> Any:
    at = f"$.{key}[{index}]"
    pid = product_id(line, mapping, f"{at}.productId")
    qty, unit, _ = mapping.quantity_out(quantity, line.unit, f"{at}.uomSplit[0].quantity")
    split: dict[str, Any] = {"productId": pid, "quantity": num(qty)}
    goods: dict[str, Any] = {"productId": pid}
    if unit is not None:
        split["unit"] = unit
        if key == "rejectedGoods":
            goods["unit"] = unit
    goods["uomSplit"] = [split]
    if key == "acceptedGoods" and line.location is not None:
        goods["locationId"] = mapping.lookup("location", line.location, f"{at}.locationId")
    return goods


# -- AlphaAlpha's own calls -----------------------------------------------------------------
def own_call(event: PoEvent, ctx: RenderContext) -> Call:
    """An action AlphaAlpha-dialect sent: the same call again (its body as it came)."""
    name = event.action or ""
    po_id = _segment(ctx.remote.remote_id or event.remote_ids.get(SYSTEM)) or ID
    path = f"{BASE}/{po_id}/{name}"
    method = "POST" if name == COMMENT else lifecycle.METHOD[Action(name)]
    json, form, text = action_body(event)
    if text is not None or name == COMMENT or Action(name) in REMARKS:
        return text_call(method, path, text, step=name)
    return Call(method, path, json, step=name, form=form)


def action_body(event: PoEvent) -> tuple[Any, dict[str, str] | None, str | None]:
    """(JSON body, form fields, raw text) of an action event read from AlphaAlpha."""
    sent = event.extensions.get(SYSTEM, {}).get("body")
    if event.action == COMMENT or event.action in REMARKS:
        return None, None, event.remarks
    if event.action == Action.MARK_AS_SENT:
        return None, sent, None
    return sent, None, None
