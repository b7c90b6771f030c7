"""Leo ``processAsync`` status update -> canonical status-changed event."""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any

from adapters._wire import Wire, extras
from adapters.leo.rules import check
from adapters.leo.schema import (
    BODY_FIELDS,
    HEADER_EVENT,
    HEADER_SUBTYPE,
    HEADER_SUBTYPE_TABLE,
    LINE_FIELDS,
    SCHEDULE_FIELDS,
    SYSTEM,
    LineInfo,
    ProcessAsync,
)
from core.mapping.tables import Mapping
from core.model import EventKind, PoEvent, StatusChange
from core.validation import validate_json

_EVENT = HEADER_EVENT.lower()
# The curl sends `subtypeAppId`, the Request Headers table spells it `subtypeApplId`.
_SUBTYPE = (HEADER_SUBTYPE.lower(), HEADER_SUBTYPE_TABLE.lower())


def parse(body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None) -> PoEvent:
    wire = validate_json(ProcessAsync, body, SYSTEM)
    check(wire)
    head = _headers(headers)
    # One validation of plain dicts is much cheaper than a model per line and schedule.
    change = StatusChange.model_validate(
        {
            "to_status": mapping.status_in(wire.status, "document"),
            "source_to_status": wire.status,
            "lines": [_line(line, mapping) for line in wire.lineInfo or ()],
        }
    )
    return PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number=wire.documentNumber,
        source_system=SYSTEM,
        status_change=change,
        remote_ids={} if wire.erpNumber is None else {"erp": wire.erpNumber},
        action=head.get(_EVENT) or None,
        error_message=wire.errorMessage,
        extensions={SYSTEM: _extensions(wire, head)},
    )


def _headers(headers: AbcMapping[str, str] | None) -> dict[str, str]:
    """HTTP header names are case-insensitive; frameworks hand them over in any case."""
    if not headers:
        return {}
    return {name.lower(): value for name, value in headers.items()}


def _line(line: LineInfo, mapping: Mapping) -> dict[str, Any]:
    """A canonical ``LineStatus`` as a dict; raw codes kept next to the mapped ones."""
    return {
        "line_number": line.lineNumber,
        "status": mapping.status_in(line.status, "line"),
        "source_status": line.status,
        "schedules": [
            {
                "number": s.scheduleNumber,
                "status": mapping.status_in(s.status, "schedule"),
                "source_status": s.status,
            }
            for s in line.scheduleInfo or ()
        ],
    }


def _extensions(wire: ProcessAsync, head: dict[str, str]) -> dict[str, Any]:
    """What has no canonical home: lob, subType, the subtype app id header, and the shape
    of the payload (keys left out or sent as null, unknown keys) so render can replay it."""
    ext: dict[str, Any] = {"lob": wire.lob, "subType": wire.subType}
    subtype = head.get(_SUBTYPE[0], head.get(_SUBTYPE[1]))
    if subtype is not None:
        ext["subtypeAppId"] = subtype
    shape = _shape(wire, BODY_FIELDS)
    if shape:
        ext["shape"] = shape
    lines = [_line_shape(line) for line in wire.lineInfo or ()]
    if any(lines):
        ext["lines"] = lines
    return ext


def _line_shape(line: LineInfo) -> dict[str, Any]:
    shape = _shape(line, LINE_FIELDS)
    schedules = [_shape(s, SCHEDULE_FIELDS) for s in line.scheduleInfo or ()]
    if any(schedules):
        shape["schedules"] = schedules
    return shape


def _shape(model: Wire, fields: tuple[str, ...]) -> dict[str, Any]:
    """How the sender wrote one object beyond its values; empty in the common case.

    The document marks nothing required, so a key may be absent or null, and the
    canonical model cannot tell those apart from a value the hub would fill in.
    """
    sent = model.model_fields_set
    values = model.__dict__
    absent: list[str] = []
    nulls: list[str] = []
    for name in fields:
        if name not in sent:
            absent.append(name)
        elif values[name] is None:
            nulls.append(name)
    shape: dict[str, Any] = {}
    if absent:
        shape["absent"] = absent
    if nulls:
        shape["null"] = nulls
    if model.__pydantic_extra__:
        shape["extra"] = extras(model)
    return shape
