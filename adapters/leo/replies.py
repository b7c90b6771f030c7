"""Leo's reply envelope: ``{exception, data, hasData, hasException}``.

The document's "Sample Response" gives types, not values (``"data": object``); its table
types ``exception`` and ``data`` as objects and the two flags as booleans. An async call
may carry no data, so both may be null.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from pydantic import BaseModel, StrictBool

from core.inbound import Reply as HttpReply


class Reply(BaseModel):
    exception: Any = None
    """Error details if any: an object per the table; read as whatever a real server sends."""
    data: Any = None
    hasData: StrictBool
    hasException: StrictBool

    @property
    def failed(self) -> bool:
        """An envelope can say failure with the flag or just by carrying an exception."""
        return self.hasException or bool(self.exception)

    @classmethod
    def accepted(cls, data: dict[str, Any] | None = None) -> Reply:
        return cls(exception=None, data=data, hasData=data is not None, hasException=False)

    @classmethod
    def error(cls, message: str, code: str = "BadRequest") -> Reply:
        return cls(
            exception={"code": code, "message": message},
            data=None,
            hasData=False,
            hasException=True,
        )


def error_reply(
    status: int, message: str, field: str | None = None, rule: str | None = None
) -> HttpReply:
    """Errors keep the success envelope with ``hasException: true`` (document, "Response
    Body": ``exception`` holds "Error details if any") and ``exception`` ``{code, message,
    field, rule}``; a 401 says ``WWW-Authenticate: Bearer``. Shared by the simulator and the
    drop-in endpoint."""
    if field is None and rule is None:
        field, rule = _DEFAULT_FIELD.get(status, (None, None))
    exception = {"code": code(status), "message": message, "field": field, "rule": rule}
    body = Reply(exception=exception, data=None, hasData=False, hasException=True)
    reply = HttpReply(status, body.model_dump())
    if status == 401:
        reply.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return reply


_DEFAULT_FIELD = {401: ("Authorization", "unauthorized"), 415: ("Content-Type", "media_type")}
"""What a 401 or 415 is about when the caller names nothing."""


def code(status: int) -> str:
    """``BadRequest`` for 400, ``Unauthorized`` for 401: the status's phrase, as
    ``Reply.error`` names its default code."""
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return "Error"


def read_reply(body: bytes) -> Reply:
    """The envelope of a reply; the curl asks for ``application/octet-stream``, so an
    empty body is read as an accepted async request (raises ValueError on anything else
    that is not the envelope)."""
    if not body.strip():
        return Reply.accepted()
    return Reply.model_validate(orjson.loads(body))
