"""The values inside a mapping, checked against what the system itself allows.

The schema (``schema.py``) checks shapes and types; a well-typed value can still be one the
system would never accept: a status code outside AlphaAlpha's lifecycle, ``BOGUS`` as an
AppliQloud itemType, a blank id. Such a row saved as live would turn every delivery it
touches into a refusal at the target. The rules come from the adapter (its ``MappingSpec``:
status codes from its schema or rules, enumerations from its document); where a document
states no format for an id, none is invented: only blank ids are refused.

Each problem names the JSON path inside the mapping and the rule (``not_blank``, ``choice``,
``level_not_read``), so an editor can put it next to the row.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import ConfigProblem, json_path
from core.mapping.schema import LEVELS, MappingFile, MappingSpec, StatusCodes

Lines = dict[tuple[str | int, ...], int]

MAX_LISTED = 20
"""Choices spelt out in one message; past it the message says how many more."""


def check_values(
    file_model: MappingFile, spec: MappingSpec, file: str, lines: Lines | None = None
) -> list[ConfigProblem]:
    """Every value of ``file_model`` the system would not accept, per ``spec``."""
    check = _Checker(file, lines or {}, spec.statuses)
    statuses = file_model.statuses
    for level in LEVELS:
        table: dict[object, str] = getattr(statuses, level)
        if table and level not in spec.statuses.levels:
            check.add(("statuses", level), "level_not_read",
                      f"{file_model.system} has no {level} status (it reads statuses at: "
                      f"{', '.join(spec.statuses.levels) or 'no level'}); leave the table empty")  # fmt: skip
            continue
        for canonical, code in table.items():
            check.status_code(("statuses", level, str(canonical)), code)
    for code in statuses.inbound:
        check.status_code(("statuses", "inbound", code), code, key=True)
    for name, rows in file_model.crosswalks.items():
        table_spec = spec.crosswalks.get(name)
        choices = table_spec.choices if table_spec else None
        for key, value in rows.items():
            check.not_blank(("crosswalks", name, key), key, "a hub key", key=True)
            if check.not_blank(("crosswalks", name, key), value, "an id") and choices:
                check.choice(("crosswalks", name, key), value, choices, f"crosswalks.{name}")
    for name, rows in file_model.reverse.items():
        table_spec = spec.crosswalks.get(name)
        choices = table_spec.choices if table_spec else None
        for system_id, hub_key in rows.items():
            at = ("reverse", name, system_id)
            if check.not_blank(at, system_id, "a system id", key=True) and choices:
                check.choice(at, system_id, choices, f"reverse.{name}", key=True)
            check.not_blank(at, hub_key, "a hub key")
    for unit, code in file_model.units.map.items():
        check.not_blank(("units", "map", unit), unit, "a unit", key=True)
        check.not_blank(("units", "map", unit), code, "a unit code")
    return check.problems


class _Checker:
    def __init__(self, file: str, lines: Lines, statuses: StatusCodes) -> None:
        self.file = file
        self.lines = lines
        self.statuses = statuses
        self.problems: list[ConfigProblem] = []

    def add(self, loc: tuple[str, ...], rule: str, message: str) -> None:
        line = next((self.lines[loc[:end]] for end in range(len(loc), -1, -1)
                     if loc[:end] in self.lines), None)  # fmt: skip
        self.problems.append(ConfigProblem(self.file, line, json_path(loc), message, rule))

    def not_blank(self, loc: tuple[str, ...], value: str, what: str, *, key: bool = False) -> bool:
        if value.strip():
            return True
        where = "key" if key else "value"
        self.add(loc, "not_blank", f"the {where} is blank: {what} must name something")
        return False

    def choice(
        self, loc: tuple[str, ...], value: str, choices: Iterable[str], table: str,
        *, key: bool = False,
    ) -> None:  # fmt: skip
        allowed = list(choices)
        if value in allowed:
            return
        where = "key" if key else "value"
        self.add(loc, "choice",
                 f"{value!r} is not allowed as a {where} of {table} (choices: {_listed(allowed)})")  # fmt: skip

    def status_code(self, loc: tuple[str, ...], code: str, *, key: bool = False) -> None:
        what = "a status code"
        if not self.not_blank(loc, code, what, key=key) or not self.statuses.closed:
            return
        if code not in self.statuses.codes:
            where = "key" if key else "value"
            self.add(loc, "choice",
                     f"{code!r} is not one of the system's status codes, so the {where} is "
                     f"refused (choices: {_listed(self.statuses.codes)}; from "
                     f"{self.statuses.source})")  # fmt: skip


def _listed(choices: Iterable[str]) -> str:
    items = list(choices)
    shown = ", ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown or "none"


def new_status_codes(draft: MappingFile, live: MappingFile, spec: MappingSpec) -> list[str]:
    """Codes the draft writes that neither the live mapping nor the adapter names: legal for a
    system whose document gives no list, but worth a second look before publishing."""
    known = set(spec.statuses.codes) | _codes(live)
    return sorted(_codes(draft) - known)


def _codes(file_model: MappingFile) -> set[str]:
    s = file_model.statuses
    out = {code for level in LEVELS for code in getattr(s, level).values()}
    return out | set(s.inbound)
