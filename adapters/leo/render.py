"""Canonical event -> Leo ``processAsync`` status update (one call).

Where each value comes from (issue 10: nothing is invented):

- ``documentNumber``: the event's PO number.
- ``status``: the event's document status; for a change that names none (lines only), the
  PO's stored status; when the hub knows none either, the key is left out (the document
  marks no field required, so "no document status" is sayable and nothing is guessed).
- ``lineInfo``: the event's line and schedule statuses (its status view).
- ``errorMessage``: the event's error message (null when it has none).
- ``erpNumber``: Leo's ERP number of the PO as Leo revealed it (``remote_ids["erp"]``);
  else the PO's own number in the operator's ERP of record (``defaults.erpSystem``, e.g.
  Uniware: a PO that came from it is numbered there); else null: the PO has no ERP number.
- ``lob``, ``subType`` and the headers ``event``, ``subtypeAppId``: Leo's own values when
  the event came from Leo; else the operator's Leo integration settings under ``defaults``.
"""

from __future__ import annotations

from typing import Any

from adapters.leo.schema import HEADER_EVENT, HEADER_SUBTYPE, PATH, SYSTEM
from core.adapter import Call, RenderContext, Rendered
from core.errors import MappingMissing
from core.mapping.tables import Mapping
from core.model import LineStatus, PoEvent, PoStatus, PurchaseOrder, StatusChange
from core.state import status_view


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    view = status_view(event, ctx.state)
    mapping = ctx.mapping
    own = event.source_system == SYSTEM
    ext: dict[str, Any] = event.extensions.get(SYSTEM, {})
    body: dict[str, Any] = {
        "documentNumber": event.po_number,
        "lob": ext["lob"] if "lob" in ext else mapping.default("lob", "$.lob"),
        "status": _document_status(view, ctx.state, mapping, own),
        "errorMessage": event.error_message,
        "erpNumber": _erp(event, ctx.state, mapping),
        "subType": ext["subType"] if "subType" in ext else mapping.default("subType", "$.subType"),
        "lineInfo": [_line(line, i, mapping, own) for i, line in enumerate(view.lines)],
    }
    if body["status"] is None:
        del body["status"]  # no document status known: say none rather than guess one
    if ext:
        _replay_shapes(body, ext)
    command = event.action if own and event.action else None
    headers = {
        HEADER_EVENT: command or mapping.default("event", f"headers.{HEADER_EVENT}"),
        HEADER_SUBTYPE: ext.get("subtypeAppId")
        or mapping.default("subtypeAppId", f"headers.{HEADER_SUBTYPE}"),
    }
    return Rendered(SYSTEM, [Call("POST", PATH, body, headers)], mapping.version)


def _document_status(
    view: StatusChange, state: PurchaseOrder | None, mapping: Mapping, own: bool
) -> str | None:
    """The new status; a change that names none (lines only) is written with the PO's stored
    status; None when the hub knows none."""
    status, source = view.to_status, view.source_to_status
    if status is None and source is None:
        if state is None or (state.status is None and state.source_status is None):
            return None
        status, source, own = state.status, state.source_status, False
    return _code(mapping, status, source, "document", own, "$.status")


def _code(
    mapping: Mapping,
    status: PoStatus | None,
    source: str | None,
    level: str,
    own: bool,
    path: str,
) -> str | None:
    """Leo's own raw code goes back as it came (the document's placeholder "string" reads
    as a canonical status but must round-trip); anything else goes through the table."""
    if own and source is not None:
        return source
    if status is None:
        if source is None:
            return None
        raise MappingMissing(SYSTEM, f"statuses.{level}", source, path)
    try:
        return mapping.status_out(status, level)
    except MappingMissing as exc:
        raise MappingMissing(SYSTEM, exc.table, exc.key, path) from None


def _line(line: LineStatus, index: int, mapping: Mapping, own: bool) -> dict[str, Any]:
    path = f"$.lineInfo[{index}]"
    schedules = []
    for j, sched in enumerate(line.schedules):
        status = sched.status
        if not own and status is None and sched.source_status is None:
            status = line.status  # a schedule with no status of its own follows its line
        where = f"{path}.scheduleInfo[{j}].status"
        code = _code(mapping, status, sched.source_status, "schedule", own, where)
        schedules.append({"scheduleNumber": sched.number, "status": code})
    return {
        "lineNumber": line.line_number,
        "status": _code(mapping, line.status, line.source_status, "line", own, f"{path}.status"),
        "scheduleInfo": schedules,
    }


def _erp(event: PoEvent, state: PurchaseOrder | None, mapping: Mapping) -> str | None:
    """ "ERP system number associated with the document" (document, Request Body).

    Leo's own ``erpNumber`` as last revealed wins; else the PO's number in the operator's
    ERP of record (``defaults.erpSystem``; null there means the operator has none); else
    None: a PO that never went through the ERP has no ERP number, and the document does
    not require the field. The hub's PO number is never copied in on its own.
    """
    sources = [event.remote_ids]
    if event.po is not None:
        sources.append(event.po.remote_ids)
    if state is not None:
        sources.append(state.remote_ids)
    erp = _first(sources, "erp")
    if erp is not None:
        return erp
    of_record = mapping.default("erpSystem", "$.erpNumber")
    return None if of_record is None else _first(sources, of_record)


def _first(sources: list[dict[str, str]], key: str) -> str | None:
    for ids in sources:
        if ids.get(key) is not None:
            return ids[key]
    return None


def _replay_shapes(body: dict[str, Any], ext: dict[str, Any]) -> None:
    """Put back keys the sender left out or sent as null, and its unknown keys (innermost
    first, since replaying an outer shape may drop the list an inner one refers to)."""
    for line, shape in zip(body["lineInfo"], ext.get("lines", ()), strict=False):
        schedules = zip(line["scheduleInfo"], shape.get("schedules", ()), strict=False)
        for sched, sched_shape in schedules:
            _replay(sched, sched_shape)
        _replay(line, shape)
    _replay(body, ext.get("shape"))


def _replay(obj: dict[str, Any], shape: dict[str, Any] | None) -> None:
    if not shape:
        return
    for key in shape.get("null", ()):
        obj[key] = None
    for key in shape.get("absent", ()):
        obj.pop(key, None)
    obj.update(shape.get("extra", {}))
