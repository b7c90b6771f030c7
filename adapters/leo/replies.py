"""Leo's reply envelope: ``{exception, data, hasData, hasException}``.

The document's "Sample Response" gives types, not values (``"data": object``); its table
types ``exception`` and ``data`` as objects and the two flags as booleans. An async call
may carry no data, so both may be null.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, StrictBool


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


def read_reply(body: bytes) -> Reply:
    """The envelope of a reply; the curl asks for ``application/octet-stream``, so an
    empty body is read as an accepted async request (raises ValueError on anything else
    that is not the envelope)."""
    if not body.strip():
        return Reply.accepted()
    return Reply.model_validate(orjson.loads(body))
