"""template's reply envelope, one table for the simulator and the drop-in endpoint.

Success: ``{"accepted": true, "poNumber": ...}``. Every error, any status:
``{"accepted": false, "error": {"status", "message", "field", "rule"}}``; a 401 asks for a
Bearer token.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, StrictBool

from core.inbound import Reply as HttpReply


class Reply(BaseModel):
    accepted: StrictBool
    poNumber: str | None = None
    error: dict[str, Any] | None = None


def accepted(po_number: str, **extra: Any) -> dict[str, Any]:
    """The success body for a PO."""
    return {**Reply(accepted=True, poNumber=po_number).model_dump(exclude_none=True), **extra}


def error_reply(
    status: int, message: str, field: str | None = None, rule: str | None = None
) -> HttpReply:
    """The error envelope for ``status``, naming the field and rule when there are some."""
    error = {"status": status, "message": message, "field": field, "rule": rule}
    reply = HttpReply(status, Reply(accepted=False, error=error).model_dump(exclude_none=True))
    if status == 401:
        reply.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return reply
