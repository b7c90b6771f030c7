"""AlphaAlpha's rules beyond types.

The document has no field table; what it does say: date fields are ``Formatdate-time``
(every sample is ``2019-08-24T14:15:22Z``, an RFC 3339 date-time with its offset), and an
action's path names the order (``Path Parameters: id*string``). The coordinate bounds and
int32 limits it shows are in ``schema.py``.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from datetime import datetime

from adapters.alphaalpha.schema import SYSTEM
from core.errors import FieldError, InvalidInput

DATE_FIELDS = ("created", "updated", "expectedDeliveryDate", "actualDeliveryDate", "signedAt")
"""The PO object's own date-times (nested ones are carried as sent)."""


def po_dates(wire: AbcMapping[str, object], at: str = "$") -> dict[str, datetime | None]:
    """Each top-level date-time of a PO object, read; raises listing every malformed one."""
    out: dict[str, datetime | None] = {}
    errors: list[FieldError] = []
    for name in DATE_FIELDS:
        text = wire.get(name)
        out[name] = _date_time(text, f"{at}.{name}", errors) if isinstance(text, str) else None
    if errors:
        raise InvalidInput(SYSTEM, errors)
    return out


def _date_time(text: str, path: str, errors: list[FieldError]) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or text[10:11] not in ("T", "t"):
        message = f"expected a date-time like 2019-08-24T14:15:22Z, got {text!r}"
        errors.append(FieldError(path, "date_time", message))
        return None
    return value


def path_id(value: str | None) -> str:
    """The ``{id}`` of an action path (``id*string``: required)."""
    if not value:
        raise InvalidInput.one(
            SYSTEM, "$.id", "required", "the request path names no purchase order id"
        )
    return value
