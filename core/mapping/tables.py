"""A loaded, validated mapping with the lookups adapters call while translating.

Lookups never invent a value: a missing entry raises ``MappingMissing`` naming the table
and the key, so the gateway can park the delivery until an admin adds the row.
"""

from __future__ import annotations

import hashlib
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

import orjson

from core.errors import CannotExpress, InvalidInput, MappingMissing
from core.mapping.schema import MappingFile, MappingSpec
from core.model import PoStatus

_ROUNDING = {"half_even": ROUND_HALF_EVEN, "half_up": ROUND_HALF_UP, "down": ROUND_DOWN,
             "up": ROUND_CEILING}  # fmt: skip

_LEVELS = ("document", "line", "schedule")


class Mapping:
    """Read-only view of one system's mapping, with inverse tables built once."""

    def __init__(
        self, file: MappingFile, version: str | None = None, spec: MappingSpec | None = None
    ) -> None:
        self.file = file
        # Only what the file says: a spec checks the defaults' types, it never adds values.
        self._defaults: dict[str, Any] = dict(file.defaults)
        if spec is not None and spec.defaults is not None:
            spec.defaults.model_validate(file.defaults)
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

    def status_in_checked(
        self, code: str | None, path: str, level: str = "document"
    ) -> PoStatus | None:
        """Like ``status_in``, but a code with no row is refused at the border (``InvalidInput``
        naming ``path``): the document lets a status be absent, never unknown."""
        if code is None:
            return None
        status = self._inverse_status[level].get(code)
        if status is None:
            known = ", ".join(sorted(self._inverse_status[level])) or "none"
            raise InvalidInput.one(
                self.system, path, "known_status",
                f"unknown {level} status code {code!r} (known: {known})",
            )  # fmt: skip
        return status

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
        """This system's id -> hub key, or None when no row has it.

        An explicit ``reverse.<table>`` wins. Otherwise the crosswalk is inverted, and an id
        that several hub keys share (a many-to-one table) reads back as None: choosing one of
        them would be a guess.
        """
        if value is None:
            return None
        explicit = self.file.reverse.get(table)
        if explicit is not None:
            return explicit.get(value)
        inverse = self._inverse_tables.get(table)
        if inverse is None:
            inverse = {}
            shared: set[str] = set()
            for key, val in self.file.crosswalks.get(table, {}).items():
                if val in inverse:
                    shared.add(val)
                inverse[val] = key
            for val in shared:
                inverse.pop(val)
            self._inverse_tables[table] = inverse
        return inverse.get(value)

    def shared_values(self, table: str) -> dict[str, list[str]]:
        """System ids that several hub keys map to: what ``check-config`` explains."""
        keys: dict[str, list[str]] = {}
        for key, val in self.file.crosswalks.get(table, {}).items():
            keys.setdefault(val, []).append(key)
        return {val: ks for val, ks in keys.items() if len(ks) > 1}

    # units and defaults ---------------------------------------------------------------
    def unit_out(self, unit: str | None) -> str | None:
        """The system's code for a canonical unit; a PO line without a unit has none here
        either (``units.default`` describes what the system sends, it is never written)."""
        if unit is None:
            return None
        return self.file.units.map.get(unit, unit)

    def quantity_out(
        self,
        quantity: Decimal | None,
        unit: str | None,
        path: str,
        *,
        integer: bool = False,
        price: Decimal | None = None,
    ) -> tuple[Decimal | None, str | None, Decimal | None]:
        """(quantity, unit code, unit price) as this system is to receive them.

        A ``units.convert`` row for the unit rescales the quantity and divides the unit price.
        A system that takes integers only (``integer``) gets a fractional quantity rounded
        only when the row says how; otherwise it is ``CannotExpress``, never truncated.
        """
        if quantity is None:
            return None, self.unit_out(unit), price
        rule = self.file.units.convert.get(unit) if unit is not None else None
        rounding = "refuse"
        if rule is not None:
            quantity, unit, rounding = quantity * rule.factor, rule.to, rule.rounding
            if price is not None:
                scaled = price / rule.factor
                if scaled * rule.factor != price:
                    raise CannotExpress(
                        self.system, path,
                        f"unit price {price} per {unit} does not divide exactly by {rule.factor}",
                    )  # fmt: skip
                price = scaled
        if integer and quantity != quantity.to_integral_value():
            if rounding == "refuse":
                how = (
                    f"converted to {quantity} {unit} by units.convert"
                    if rule is not None
                    else f"{quantity} {unit or ''}".rstrip()
                )
                raise CannotExpress(
                    self.system, path,
                    f"takes whole quantities only; {how} is fractional (add a units.convert "
                    "row for this unit, with a factor or a rounding)",
                )  # fmt: skip
            quantity = quantity.quantize(Decimal(1), rounding=_ROUNDING[rounding])
        return quantity, self.unit_out(unit), price

    def unit_in(self, code: str | None) -> str | None:
        if code is None:
            return self.file.units.default
        for canonical, value in self.file.units.map.items():
            if value == code:
                return canonical
        return code

    def default(self, name: str, path: str | None = None) -> Any:
        """A default an admin wrote for this system; a missing one is a mapping gap (the
        delivery parks), never a value from code. A default written as null gives None."""
        if name not in self._defaults:
            raise MappingMissing(self.system, "defaults", name, path)
        return self._defaults[name]

    def has_default(self, name: str) -> bool:
        return name in self._defaults

    def default_or(self, name: str, fallback: Any = None) -> Any:
        """An optional default: the adapter has a sensible behaviour without it."""
        value = self._defaults.get(name)
        return fallback if value is None else value


def content_version(file: MappingFile) -> str:
    """A short, stable fingerprint of the mapping's content, recorded with every render."""
    raw = orjson.dumps(file.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()[:12]
