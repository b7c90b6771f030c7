"""Uniware's reply envelope: ``{"status": "Success"|"Failed", "message": ...}``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Reply(BaseModel):
    status: Literal["Success", "Failed"]
    message: str

    @classmethod
    def success(cls, message: str = "Detail is updated successfully") -> Reply:
        return cls(status="Success", message=message)

    @classmethod
    def failed(cls, message: str) -> Reply:
        return cls(status="Failed", message=message)
