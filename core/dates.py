"""Date parsing by hand: strptime is the slowest part of a translation, so avoid it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_MONTH_NAMES = {i: m for m, i in _MONTHS.items()}


MIN_YEAR, MAX_YEAR = 1900, 2999
"""Dates a PO can mean. Year 0001 or 9999 converts out of range in some zone at render time
(and used to fail there, retried for days), so it is refused where it is read."""


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def check_year(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")
    return value


def parse_iso(text: str, tz: str = "UTC") -> datetime:
    """ISO 8601 date or date-time; a value without an offset is read in ``tz``."""
    if len(text) == 10:
        return check_year(datetime.combine(date.fromisoformat(text), time(), zone(tz)))
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return check_year(value)


def format_iso_z(value: datetime) -> str:
    """``2019-08-24T14:15:22Z``: the form AlphaAlpha's document uses."""
    value = value.astimezone(UTC)
    text = value.isoformat()
    return text.replace("+00:00", "Z")


def format_date(value: datetime, tz: str) -> str:
    """``2024-07-22`` in the system's zone."""
    return value.astimezone(zone(tz)).date().isoformat()


def parse_uniware(text: str, tz: str) -> datetime:
    """``Mar 12, 2024 4:16:42 PM`` in the mapping's zone (default Asia/Kolkata)."""
    try:
        month_s, day_s, year_s, clock, meridiem = text.replace(",", "").split()
        hour_s, minute_s, second_s = clock.split(":")
        hour = int(hour_s) % 12 + (12 if meridiem.upper() == "PM" else 0)
        if meridiem.upper() not in ("AM", "PM"):
            raise ValueError(meridiem)
        return check_year(
            datetime(
                int(year_s),
                _MONTHS[month_s[:3].title()],
                int(day_s),
                hour,
                int(minute_s),
                int(second_s),
                tzinfo=zone(tz),
            )
        )
    except (ValueError, KeyError) as exc:
        raise ValueError(f"expected a date like 'Mar 12, 2024 4:16:42 PM', got {text!r}") from exc


def format_uniware(value: datetime, tz: str) -> str:
    local = value.astimezone(zone(tz))
    hour12 = local.hour % 12 or 12
    meridiem = "PM" if local.hour >= 12 else "AM"
    return (
        f"{_MONTH_NAMES[local.month]} {local.day}, {local.year} "
        f"{hour12}:{local.minute:02d}:{local.second:02d} {meridiem}"
    )
