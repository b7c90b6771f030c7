"""Canonical event -> template status update (one call).

- ``poNumber``: the event's PO number.
- ``status``: the event's status (a whole PO's, a status change's, or what a goods receipt
  made it) through ``statuses.document``; for an event that names none, the PO's stored
  status; template's own code goes back as it came. No status at all cannot be said: the
  document requires one (``CannotExpress``).
- ``note``: the event's remarks (null when it has none).
"""

from __future__ import annotations

from typing import Any

from adapters._template.schema import NAME, PATH
from core.adapter import Call, RenderContext, Rendered
from core.errors import CannotExpress
from core.model import PoEvent
from core.state import status_view


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    body: dict[str, Any] = {
        "poNumber": event.po_number,
        "status": _status(event, ctx),
        "note": event.remarks,
    }
    return Rendered(NAME, [Call("POST", PATH, body)], ctx.mapping.version)


def _status(event: PoEvent, ctx: RenderContext) -> str:
    view = status_view(event, ctx.state)
    if event.source_system == NAME and view.source_to_status is not None:
        return view.source_to_status
    status = view.to_status
    if status is None and ctx.state is not None:
        status = ctx.state.status
    if status is None:
        raise CannotExpress(NAME, "$.status", "the event names no status and the hub knows none")
    return ctx.mapping.status_out(status)
