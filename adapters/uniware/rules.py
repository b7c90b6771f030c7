"""Uniware's rules beyond types: its three dates must read as ``Mar 12, 2024 4:16:42 PM``."""

from __future__ import annotations

from datetime import datetime

from adapters.uniware.dates import parse_uniware
from adapters.uniware.schema import DATE_FIELDS, ApprovedPurchaseOrder
from core.errors import FieldError, InvalidInput


def checked_dates(wire: ApprovedPurchaseOrder, tz: str) -> dict[str, datetime]:
    """Every date field parsed in the mapping's zone; every bad one reported at once."""
    out: dict[str, datetime] = {}
    errors = []
    for name in DATE_FIELDS:
        try:
            out[name] = parse_uniware(getattr(wire, name), tz)
        except ValueError as exc:
            errors.append(FieldError(f"$.{name}", "date_format", str(exc)))
    if errors:
        raise InvalidInput("uniware", errors)
    return out
