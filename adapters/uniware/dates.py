"""Uniware's own date text, ``Mar 12, 2024 4:16:42 PM``, read and written in a zone.

Parsed by hand (strptime is the slowest part of a translation). It lives in Uniware's
folder, not in ``core/dates.py``: only this dialect writes dates this way.
"""

from __future__ import annotations

from datetime import datetime

from core.dates import check_year, zone

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_MONTH_NAMES = {i: m for m, i in _MONTHS.items()}


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
