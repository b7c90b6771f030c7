"""Uniware's reply envelope: ``{"status": "Success"|"Failed", "message": ...}``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from core.inbound import Reply as HttpReply


class Reply(BaseModel):
    status: Literal["Success", "Failed"]
    message: str

    @classmethod
    def success(cls, message: str = "Detail is updated successfully") -> Reply:
        return cls(status="Success", message=message)

    @classmethod
    def failed(cls, message: str) -> Reply:
        return cls(status="Failed", message=message)


def error_reply(
    status: int, message: str, field: str | None = None, rule: str | None = None
) -> HttpReply:
    """Every error, any status, in the one envelope: ``"Failed"`` and ``"<field>: <message>
    (<rule>)"``. The document shows no error reply; the simulator and the drop-in endpoint
    both answer with this."""
    text = f"{field}: {message}" if field else message
    return HttpReply(status, Reply.failed(f"{text} ({rule})" if rule else text).model_dump())
