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


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_iso(text: str, tz: str = "UTC") -> datetime:
    """ISO 8601 date or date-time; a value without an offset is read in ``tz``."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), zone(tz))
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return value


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
        return datetime(
            int(year_s),
            _MONTHS[month_s[:3].title()],
            int(day_s),
            hour,
            int(minute_s),
            int(second_s),
            tzinfo=zone(tz),
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
