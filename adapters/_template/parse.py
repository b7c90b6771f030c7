"""template status update -> canonical status-changed event.

The status code must have a row in ``statuses.document`` of the mapping (``known_status``,
naming ``$.status``): an unknown code is refused at the border, never parked later.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping

from adapters._template.schema import NAME, StatusUpdate
from core.mapping.tables import Mapping
from core.model import EventKind, PoEvent, StatusChange
from core.validation import validate_json


def parse(body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None) -> PoEvent:
    wire = validate_json(StatusUpdate, body, NAME)
    status = mapping.status_in_checked(wire.status, "$.status")
    return PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number=wire.poNumber,
        source_system=NAME,
        status_change=StatusChange(to_status=status, source_to_status=wire.status),
        remarks=wire.note,
    )
