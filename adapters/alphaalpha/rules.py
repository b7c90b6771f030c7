"""AlphaAlpha's rules beyond types.

The document has no field table; what it does say: date fields are ``Formatdate-time``
(every sample is ``2019-08-24T14:15:22Z``, an RFC 3339 date-time with its offset), and an
action's path names the order (``Path Parameters: id*string``). The coordinate bounds and
int32 limits it shows are in ``schema.py``.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from datetime import UTC, datetime

import orjson

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


def remark_text(body: bytes, *, required: bool = False) -> str | None:
    """The text of a remark-carrying body (``cancel``, ``reject-internal``, ``reject-supplier``:
    ``body?string``; ``comment``: ``body*string``).

    The document's own curl sends the text raw with ``Content-Type: application/json``
    (``-d 'string'``), so a body that is not JSON is that text; a JSON string (or ``null``)
    is read as JSON. JSON of any other type is refused: the body is a string.
    """
    stripped = body.strip()
    if not stripped:
        _required(required)
        return None
    try:
        value = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return _text(body)
    if value is None:
        _required(required)
        return None
    if not isinstance(value, str):
        raise InvalidInput.one(
            SYSTEM, "$", "string_type", "the body is the remark text: a string, raw or JSON"
        )
    return value


def _required(required: bool) -> None:
    if required:
        raise InvalidInput.one(SYSTEM, "$", "missing", "the body (body*string) is required")


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.one(SYSTEM, "$", "utf8", "the remark text is not UTF-8") from None


def millis(text: object) -> int | None:
    """A date-time as milliseconds since the epoch (None when it is not one)."""
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return None if value.tzinfo is None else int(value.timestamp() * 1000)


def from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)
