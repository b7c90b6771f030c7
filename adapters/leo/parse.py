"""Leo ``processAsync`` status update -> canonical status-changed event.

The document marks no field required, so a document ``status`` may be left out (an update
of line or schedule statuses only: the PO keeps its status), but a status code that is sent
must be one the mapping knows at its level (``known_status``, naming the path): a typo is
refused at the border, not parked later as "no entry for None". Each line and schedule
carries the path it was sent at, so the core refuses a line number the PO does not have at
``$.lineInfo[i]``.
"""

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
from core.errors import FieldError, InvalidInput
from core.mapping.tables import Mapping
from core.model import EventKind, PoEvent, PoStatus, StatusChange
from core.validation import validate_json

_EVENT = HEADER_EVENT.lower()
# The curl sends `subtypeAppId`, the Request Headers table spells it `subtypeApplId`.
_SUBTYPE = (HEADER_SUBTYPE.lower(), HEADER_SUBTYPE_TABLE.lower())


def parse(body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None) -> PoEvent:
    wire = validate_json(ProcessAsync, body, SYSTEM)
    check(wire)
    head = _headers(headers)
    codes = _Codes(mapping)
    # One validation of plain dicts is much cheaper than a model per line and schedule.
    change = StatusChange.model_validate(
        {
            "to_status": codes.read(wire.status, "$.status", "document"),
            "source_to_status": wire.status,
            "lines": [
                _line(line, f"$.lineInfo[{i}]", codes) for i, line in enumerate(wire.lineInfo or ())
            ],
        }
    )
    codes.raise_unknown()
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


class _Codes:
    """Reads status codes through the mapping, collecting every unknown one with its path."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.unknown: list[FieldError] = []

    def read(self, code: str | None, path: str, level: str) -> PoStatus | None:
        try:
            return self.mapping.status_in_checked(code, path, level)
        except InvalidInput as exc:
            self.unknown.extend(exc.errors)
            return None

    def raise_unknown(self) -> None:
        if self.unknown:
            raise InvalidInput(SYSTEM, self.unknown)


def _line(line: LineInfo, path: str, codes: _Codes) -> dict[str, Any]:
    """A canonical ``LineStatus`` as a dict, with the path it was sent at; raw codes kept
    next to the mapped ones (a same-dialect round trip writes Leo's own code back)."""
    status = codes.read(line.status, f"{path}.status", "line")
    schedules = []
    for j, s in enumerate(line.scheduleInfo or ()):
        where = f"{path}.scheduleInfo[{j}]"
        schedules.append(
            {
                "number": s.scheduleNumber,
                "status": codes.read(s.status, f"{where}.status", "schedule"),
                "source_status": s.status,
                "path": where,
            }
        )
    return {
        "line_number": line.lineNumber,
        "status": status,
        "source_status": line.status,
        "schedules": schedules,
        "path": path,
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
