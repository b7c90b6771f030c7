"""Money and quantities: Decimal inside, the plainest JSON number outside."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MAX_MAGNITUDE = Decimal("1e15")
"""Every amount and quantity pohub accepts is below a quadrillion in absolute value: far
above any real PO, far below where float, 64-bit integer or big-integer arithmetic turns a
value into an error or seconds of CPU (``int(Decimal("1e200000"))`` is quadratic)."""
MAX_PLACES = 10
"""At most ten digits after the decimal point."""
MAX_TEXT = 64
"""A numeric string longer than this is not a number anybody means."""


class OutOfRange(ValueError):
    """A number outside what pohub accepts at its border (see ``MAX_MAGNITUDE``)."""


def check_range(value: Decimal) -> Decimal:
    """``value`` if finite, below ``MAX_MAGNITUDE`` and with at most ``MAX_PLACES`` places."""
    if not value.is_finite():
        raise OutOfRange(f"not a finite number: {value}")
    if value and value.adjusted() >= 15:
        raise OutOfRange(f"{value:.6g} is out of range (|x| < 1e15)")
    exponent = value.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -MAX_PLACES
        and value != value.quantize(Decimal(1).scaleb(-MAX_PLACES))
    ):
        raise OutOfRange(f"{value} has more than {MAX_PLACES} decimal places")
    return value


def to_decimal(value: object) -> Decimal | None:
    """Numbers and numeric strings to Decimal; None stays None; anything else raises.

    A number out of range raises ``OutOfRange`` (a ``ValueError``), so that no later step
    has to handle an infinite, huge or absurdly precise value.
    """
    if value is None:
        return None
    if isinstance(value, Decimal):
        return check_range(value)
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        if -(10**15) < value < 10**15:
            return Decimal(value)
        raise OutOfRange("integer out of range (|x| < 1e15)")
    if isinstance(value, float):
        return check_range(Decimal(repr(value)))
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise OutOfRange(f"numeric text longer than {MAX_TEXT} characters")
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
        return check_range(result)
    raise ValueError(f"not a number: {value!r}")


def to_json_number(value: Decimal | None) -> int | float | None:
    """Integral values as ints (``6000``), others as floats (``0.1``)."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)
