"""A loaded, validated mapping with the lookups adapters call while translating.

Lookups never invent a value: a missing entry raises ``MappingMissing`` naming the table
and the key, so the gateway can park the delivery until an admin adds the row.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from core.errors import MappingMissing
from core.mapping.schema import MappingFile, MappingSpec
from core.model import PoStatus

_LEVELS = ("document", "line", "schedule")


class Mapping:
    """Read-only view of one system's mapping, with inverse tables built once."""

    def __init__(
        self, file: MappingFile, version: str | None = None, spec: MappingSpec | None = None
    ) -> None:
        self.file = file
        self._defaults: dict[str, Any] = dict(file.defaults)
        if spec is not None and spec.defaults is not None:
            model = spec.defaults.model_validate(file.defaults)
            self._defaults = {**model.model_dump(exclude_none=True), **file.defaults}
        self.system = file.system
        self.version = version or content_version(file)
        self._inverse_status = {level: self._invert_status(level) for level in _LEVELS}
        self._inverse_tables: dict[str, dict[str, str]] = {}

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], version: str | None = None, spec: MappingSpec | None = None
    ) -> Mapping:
        return cls(MappingFile.model_validate(data), version, spec)

    @property
    def defaults(self) -> dict[str, Any]:
        return self._defaults

    @property
    def timezone(self) -> str:
        return self.file.timezone

    # statuses -----------------------------------------------------------------------
    def status_out(self, status: PoStatus | None, level: str = "document") -> str:
        """Canonical status -> this system's code at ``level``."""
        table: dict[PoStatus, str] = getattr(self.file.statuses, level)
        if status is None or status not in table:
            raise MappingMissing(self.system, f"statuses.{level}", status)
        return table[status]

    def status_in(self, code: str | None, level: str = "document") -> PoStatus | None:
        """This system's code -> canonical status, or None when unmapped (kept raw)."""
        if code is None:
            return None
        return self._inverse_status[level].get(code)

    def _invert_status(self, level: str) -> dict[str, PoStatus]:
        table: dict[PoStatus, str] = getattr(self.file.statuses, level)
        inverse: dict[str, PoStatus] = {}
        for canonical, code in table.items():
            inverse.setdefault(code, canonical)
        inverse.update(self.file.statuses.inbound)
        return inverse

    # crosswalks ---------------------------------------------------------------------
    def lookup(self, table: str, key: str | None, path: str | None = None) -> str:
        """Hub key -> this system's id; raises when the row is missing."""
        rows = self.file.crosswalks.get(table, {})
        if key is None or key not in rows:
            raise MappingMissing(self.system, f"crosswalks.{table}", key, path)
        return rows[key]

    def reverse(self, table: str, value: str | None) -> str | None:
        """This system's id -> hub key, or None when no row has it."""
        if value is None:
            return None
        inverse = self._inverse_tables.get(table)
        if inverse is None:
            inverse = {}
            for key, val in self.file.crosswalks.get(table, {}).items():
                inverse.setdefault(val, key)
            self._inverse_tables[table] = inverse
        return inverse.get(value)

    # units and defaults ---------------------------------------------------------------
    def unit_out(self, unit: str | None) -> str | None:
        unit = unit or self.file.units.default
        if unit is None:
            return None
        return self.file.units.map.get(unit, unit)

    def unit_in(self, code: str | None) -> str | None:
        if code is None:
            return self.file.units.default
        for canonical, value in self.file.units.map.items():
            if value == code:
                return canonical
        return code

    def default(self, name: str) -> Any:
        """A default the system needs; a missing one is a mapping gap, not a silent None."""
        if self._defaults.get(name) is None:
            raise MappingMissing(self.system, "defaults", name)
        return self._defaults[name]

    def default_or(self, name: str, fallback: Any = None) -> Any:
        """An optional default: the adapter has a sensible behaviour without it."""
        value = self._defaults.get(name)
        return fallback if value is None else value


def content_version(file: MappingFile) -> str:
    """A short, stable fingerprint of the mapping's content, recorded with every render."""
    raw = orjson.dumps(file.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()[:12]
