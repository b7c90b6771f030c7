"""Date parsing by hand: strptime is the slowest part of a translation, so avoid it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

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
