"""Money and quantities: Decimal inside, the plainest JSON number outside."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def to_decimal(value: object) -> Decimal | None:
    """Numbers and numeric strings to Decimal; None stays None; anything else raises."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
        if not result.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return result
    raise ValueError(f"not a number: {value!r}")


def to_json_number(value: Decimal | None) -> int | float | None:
    """Integral values as ints (``6000``), others as floats (``0.1``)."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)
