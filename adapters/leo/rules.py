"""Leo's rules beyond types.

The document's "Validations / Exceptions" column is empty, so these are the hub's own
reading of what a status update needs: the ids that say *what* changed must not be blank,
and a line (or a schedule within a line) must not be listed twice, since two statuses for
one line would be ambiguous. A status may be absent at every level (an update may carry
line statuses only); whether a code that is sent is known depends on the mapping, so parse
checks it (``known_status``), not these rules.
"""

from __future__ import annotations

from adapters.leo.schema import SYSTEM, LineInfo, ProcessAsync
from core.errors import FieldError, InvalidInput


def check(wire: ProcessAsync) -> None:
    """Raise ``InvalidInput`` listing every broken rule."""
    errors: list[FieldError] = []
    _not_blank(errors, "$.documentNumber", wire.documentNumber)
    seen: set[str] = set()
    for i, line in enumerate(wire.lineInfo or ()):
        path = f"$.lineInfo[{i}]"
        _not_blank(errors, f"{path}.lineNumber", line.lineNumber)
        _unique(errors, f"{path}.lineNumber", line.lineNumber, seen, "unique_line_number")
        _schedules(errors, path, line)
    if errors:
        raise InvalidInput(SYSTEM, errors)


def _schedules(errors: list[FieldError], path: str, line: LineInfo) -> None:
    seen: set[str] = set()
    for j, sched in enumerate(line.scheduleInfo or ()):
        where = f"{path}.scheduleInfo[{j}].scheduleNumber"
        _not_blank(errors, where, sched.scheduleNumber)
        _unique(errors, where, sched.scheduleNumber, seen, "unique_schedule_number")


def _not_blank(errors: list[FieldError], path: str, value: str) -> None:
    if not value.strip():
        errors.append(FieldError(path, "not_blank", "must not be empty or blank"))


def _unique(errors: list[FieldError], path: str, value: str, seen: set[str], rule: str) -> None:
    if value in seen:
        errors.append(FieldError(path, rule, f"{value!r} is listed more than once"))
    seen.add(value)
