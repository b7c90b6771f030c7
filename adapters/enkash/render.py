"""Canonical event -> EnKash status-change webhook (one call).

EnKash is a status-only dialect: the body says one PO moved from one document status to
another. Where each value comes from (issue 10: nothing is invented):

- ``objectId``: EnKash's own id of the PO, as EnKash revealed it (an EnKash event's
  ``poStatus.objectId``, kept in the PO's ``remote_ids["enkash"]``, or EnKash's reply to an
  earlier delivery, ``ctx.remote.remote_id``). Unknown: ``IdentityMissing`` (parks as an
  unknown PO until EnKash names it); the hub's PO number is never sent in its place.
- ``objectVersion``: an EnKash event's own versions, written back as sent. For any other
  event, ``currentVersion`` is the version EnKash last reported (``ctx.remote.version``:
  its reply's ``newVersion``, or its last event's) and ``newVersion`` is one more. The
  document is silent on how versions move (its Example sends 0 and 0); one step per change
  is the hub's reading, and the only thing EnKash checks (simulator) is that
  ``currentVersion`` is the one it holds. Unknown: ``IdentityMissing``, never 0.
- ``poStatusTransition``: ``newStatus`` is the event's document status through the table.
  ``currentStatus`` is the status EnKash holds (``ctx.remote.status``, its own code), else
  the previous status the event's status view names, through the table; never a default.
  A change that names no document status cannot be sent (``CannotExpress``): EnKash has no
  line field, so a line-only change (a cancelled line) is not turned into a document move.
- ``buyerAction``/``buyerRemarks``: the event's action and remarks; else the operator's
  defaults (the document marks both required).
- ``b2bIds``: EnKash's ids as an EnKash event sent them, else the PO's parties through the
  crosswalks (a buyer with no row: the operator's own id, ``defaults.buyerB2BId``).
- ``device``: as EnKash sent it; else a ``tag`` with nothing in it (the hub has no device
  or geocode; the document lists no field of ``tag``).
"""

from __future__ import annotations

from typing import Any

from adapters.enkash.schema import PATH, SYSTEM
from core.adapter import Call, RenderContext, Rendered
from core.errors import CannotExpress, IdentityMissing, MappingMissing, StateRequired
from core.mapping.tables import Mapping
from core.model import Party, PoEvent, PoStatus, PurchaseOrder, StatusChange
from core.state import status_view

_TRANSITION = "$.poStatus.poStatusTransition"
_VERSION = "$.poStatus.objectVersion"


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    ext: dict[str, Any] = event.extensions.get(SYSTEM, {})
    change = status_view(event, ctx.state)
    _document_move(change)
    po = event.po or ctx.state
    body: dict[str, Any] = {
        "device": ext.get("device") or {"tag": {}},
        "b2bIds": _b2b_ids(event, ext, po, ctx.mapping),
        "poStatus": _po_status(event, ext, change, ctx),
        "additionalInfos": _infos(ext, po),
    }
    body.update(ext.get("extra", {}))
    return Rendered(SYSTEM, [Call("POST", PATH, body)], ctx.mapping.version)


def _document_move(change: StatusChange) -> None:
    """EnKash's webhook says only "the PO moved to this status": a change with no document
    status has nothing EnKash can carry, and sending the stored status as a move would say
    something that did not happen."""
    if change.to_status is not None or change.source_to_status is not None:
        return
    named = [
        f"line {line.line_number} {line.source_status or line.status}"
        for line in change.lines
        if line.status is not None or line.source_status is not None
    ] + [
        f"line {line.line_number} schedule {s.number} {s.source_status or s.status}"
        for line in change.lines
        for s in line.schedules
        if s.status is not None or s.source_status is not None
    ]
    if named:
        reason = (
            "the change names no document status, only line or schedule statuses "
            f"({', '.join(named)}), and EnKash's status change has no line field"
        )
    else:
        reason = "the change names no document status, the only thing EnKash's webhook says"
    raise CannotExpress(SYSTEM, _TRANSITION, reason)


def _po_status(
    event: PoEvent, ext: dict[str, Any], change: StatusChange, ctx: RenderContext
) -> dict[str, Any]:
    """``poStatus``; an EnKash event's own extra keys go back where they came from."""
    mapping = ctx.mapping
    object_id = _object_id(event, ctx)
    current, new = _versions(event, change, ctx)
    action = event.action
    if action is None:
        action = mapping.default("buyerAction", "$.poStatus.buyerAction")
    remarks = event.remarks
    if remarks is None:
        remarks = mapping.default("buyerRemarks", "$.poStatus.buyerRemarks")
    status: dict[str, Any] = {
        "objectId": object_id,
        "buyerPONumber": event.po_number,
        "objectVersion": {"currentVersion": current, "newVersion": new},
        "buyerAction": action,
        "buyerRemarks": remarks,
        "poStatusTransition": {
            "currentStatus": _current_code(event, change, ctx),
            "newStatus": _code(event, change.to_status, change.source_to_status, mapping, "new"),
        },
    }
    if ext:
        status["objectVersion"].update(ext.get("objectVersionExtra", {}))
        status["poStatusTransition"].update(ext.get("transitionExtra", {}))
        status.update(ext.get("poStatusExtra", {}))
    return status


def _object_id(event: PoEvent, ctx: RenderContext) -> str:
    """EnKash's own id for the PO wherever the hub learnt it from EnKash."""
    for ids in (
        event.remote_ids,
        event.po.remote_ids if event.po else {},
        ctx.state.remote_ids if ctx.state else {},
    ):
        if ids.get(SYSTEM):
            return ids[SYSTEM]
    if ctx.remote.remote_id:
        return ctx.remote.remote_id
    raise IdentityMissing(SYSTEM, event.po_number, "objectId", "$.poStatus.objectId")


def _versions(event: PoEvent, change: StatusChange, ctx: RenderContext) -> tuple[int, int]:
    """EnKash's versions as its own event sent them; else the one it last reported, +1."""
    own = event.source_system == SYSTEM
    if own and change.from_version is not None and change.to_version is not None:
        return change.from_version, change.to_version
    current = ctx.remote.version
    if current is None:
        where = f"{_VERSION}.currentVersion"
        raise IdentityMissing(SYSTEM, event.po_number, "objectVersion", where)
    return current, current + 1


def _current_code(event: PoEvent, change: StatusChange, ctx: RenderContext) -> str:
    """currentStatus: EnKash's own code as its event sent it, else the status EnKash holds
    (as it last reported it), else the previous status the status view names."""
    own = event.source_system == SYSTEM
    if not own and ctx.remote.status is not None:
        return ctx.remote.status
    if change.from_status is None and change.source_from_status is None:
        where = f"{_TRANSITION}.currentStatus"
        raise IdentityMissing(SYSTEM, event.po_number, "current status", where)
    return _code(event, change.from_status, change.source_from_status, ctx.mapping, "current")


def _code(
    event: PoEvent, status: PoStatus | None, raw: str | None, mapping: Mapping, which: str
) -> str:
    """A status code; EnKash's own raw code comes back as sent (unmapped or an alias)."""
    if raw is not None and event.source_system == SYSTEM and mapping.status_in(raw) == status:
        return raw
    if status is None:
        path = f"{_TRANSITION}.{which}Status"
        raise MappingMissing(SYSTEM, "statuses.document", raw, path)
    return mapping.status_out(status)


def _b2b_ids(
    event: PoEvent, ext: dict[str, Any], po: PurchaseOrder | None, mapping: Mapping
) -> dict[str, Any]:
    """The ids EnKash itself sent with the event, else the PO's parties through the mapping."""
    sent: dict[str, Any] | None = ext.get("b2bIds")
    if sent is not None:
        return sent
    if po is None:
        raise StateRequired(SYSTEM, event.po_number)
    return {
        "buyerB2BId": _buyer_id(po.buyer, mapping),
        "supplierB2BId": _supplier_id(po.supplier, mapping),
    }


def _buyer_id(buyer: Party, mapping: Mapping) -> str:
    """Known buyer -> its row in `buyer`; else the operator's own EnKash B2B id (the hub's
    buyer is the operator), which a missing default parks until the admin writes it."""
    if SYSTEM in buyer.ids:
        return buyer.ids[SYSTEM]
    rows = mapping.file.crosswalks.get("buyer", {})
    if buyer.code is not None and buyer.code in rows:
        return rows[buyer.code]
    own = mapping.default("buyerB2BId", "$.b2bIds.buyerB2BId")
    if own is None and buyer.code is None:  # no buyer to add a row for: the default is the fix
        raise MappingMissing(SYSTEM, "defaults", "buyerB2BId", "$.b2bIds.buyerB2BId")
    if own is None:
        raise MappingMissing(SYSTEM, "crosswalks.buyer", buyer.code, "$.b2bIds.buyerB2BId")
    return str(own)


def _supplier_id(supplier: Party, mapping: Mapping) -> str:
    """The supplier must be known to EnKash: no row is ``MappingMissing``, never a guess."""
    if SYSTEM in supplier.ids:
        return supplier.ids[SYSTEM]
    return mapping.lookup("vendor", supplier.code, "$.b2bIds.supplierB2BId")


def _infos(ext: dict[str, Any], po: PurchaseOrder | None) -> list[dict[str, Any]]:
    """additionalInfos as EnKash sent them, else the PO's custom fields (same name/value pairs)."""
    sent: list[dict[str, Any]] | None = ext.get("additionalInfos")
    if sent is not None:
        return sent
    if po is None:
        return []
    return [{"name": f.name, "value": f.value} for f in po.custom_fields]
