"""Canonical event -> EnKash status-change webhook (one call).

EnKash is a status-only dialect: the body is the event's status view
(``core.state.status_view``) plus the PO's identity (number, EnKash object id, versions)
and its parties' B2B ids, taken from the event's own PO or the hub's stored state.
"""

from __future__ import annotations

from typing import Any

from adapters.enkash.schema import PATH, SYSTEM
from core.adapter import Call, RenderContext, Rendered
from core.errors import MappingMissing, StateRequired
from core.mapping.tables import Mapping
from core.model import Party, PoEvent, PoStatus, PurchaseOrder, StatusChange
from core.state import status_view

_TRANSITION = "$.poStatus.poStatusTransition"


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    ext: dict[str, Any] = event.extensions.get(SYSTEM, {})
    po = event.po or ctx.state
    body: dict[str, Any] = {
        "device": ext.get("device") or _device(ctx.mapping),
        "b2bIds": _b2b_ids(event, ext, po, ctx.mapping),
        "poStatus": _po_status(event, ext, ctx),
        "additionalInfos": _infos(ext, po),
    }
    body.update(ext.get("extra", {}))
    return Rendered(SYSTEM, [Call("POST", PATH, body)], ctx.mapping.version)


def _po_status(event: PoEvent, ext: dict[str, Any], ctx: RenderContext) -> dict[str, Any]:
    """``poStatus``; an EnKash event's own extra keys go back where they came from."""
    mapping = ctx.mapping
    change = status_view(event, ctx.state)
    current, new = _versions(event, change, ctx)
    action = event.action if event.action is not None else mapping.default("buyerAction")
    status: dict[str, Any] = {
        "objectId": _object_id(event, ctx),
        "buyerPONumber": event.po_number,
        "objectVersion": {"currentVersion": current, "newVersion": new},
        "buyerAction": action,
        "buyerRemarks": event.remarks if event.remarks is not None else "",
        "poStatusTransition": {
            "currentStatus": _from_code(event, change, ctx),
            "newStatus": _code(event, change.to_status, change.source_to_status, mapping, "new"),
        },
    }
    if ext:
        status["objectVersion"].update(ext.get("objectVersionExtra", {}))
        status["poStatusTransition"].update(ext.get("transitionExtra", {}))
        status.update(ext.get("poStatusExtra", {}))
    return status


def _object_id(event: PoEvent, ctx: RenderContext) -> str:
    """EnKash's own id for the PO wherever the hub learnt it; else the PO number."""
    for ids in (
        event.remote_ids,
        event.po.remote_ids if event.po else {},
        ctx.state.remote_ids if ctx.state else {},
    ):
        if SYSTEM in ids:
            return ids[SYSTEM]
    return ctx.remote.remote_id or event.po_number


def _versions(event: PoEvent, change: StatusChange, ctx: RenderContext) -> tuple[int, int]:
    """EnKash's object versions: its own when it sent them or the hub saw them, else the hub's.

    A change EnKash sent carries EnKash's versions; for any other source the version the hub
    last saw inside EnKash (``ctx.remote``) is the one EnKash expects as ``currentVersion``.
    """
    if event.source_system != SYSTEM and ctx.remote.version is not None:
        return ctx.remote.version, ctx.remote.version + 1
    current = change.from_version
    if current is None and ctx.state is not None:
        current = ctx.state.version
    if current is None:
        current = max(change.to_version - 1, 0) if change.to_version is not None else 0
    new = change.to_version
    if new is None or (new <= current and event.source_system != SYSTEM):
        new = current + 1  # a full PO's own version restarts at 1; EnKash's must move on
    return current, new


def _from_code(event: PoEvent, change: StatusChange, ctx: RenderContext) -> str:
    """currentStatus: the change's, else the stored PO's, else the PO's first status."""
    mapping = ctx.mapping
    if change.from_status is None and change.source_from_status is None:
        known = ctx.state.status if ctx.state is not None else None
        if known is None:
            return str(mapping.default("initialStatus"))
        return mapping.status_out(known)
    return _code(event, change.from_status, change.source_from_status, mapping, "current")


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
    """Known buyer -> its row in `buyer`; an unknown one is the hub's own default entity."""
    if SYSTEM in buyer.ids:
        return buyer.ids[SYSTEM]
    rows = mapping.file.crosswalks.get("buyer", {})
    if buyer.code is not None and buyer.code in rows:
        return rows[buyer.code]
    return str(mapping.default("buyerB2BId"))


def _supplier_id(supplier: Party, mapping: Mapping) -> str:
    """The supplier must be known to EnKash: no row is ``MappingMissing``, never a guess."""
    if SYSTEM in supplier.ids:
        return supplier.ids[SYSTEM]
    return mapping.lookup("vendor", supplier.code, "$.b2bIds.supplierB2BId")


def _device(mapping: Mapping) -> dict[str, Any]:
    return {"tag": {"name": mapping.default("deviceTagName"), "value": ""}}


def _infos(ext: dict[str, Any], po: PurchaseOrder | None) -> list[dict[str, Any]]:
    """additionalInfos as EnKash sent them, else the PO's custom fields (same name/value pairs)."""
    sent: list[dict[str, Any]] | None = ext.get("additionalInfos")
    if sent is not None:
        return sent
    if po is None:
        return []
    return [{"name": f.name, "value": f.value} for f in po.custom_fields]
