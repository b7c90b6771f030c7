"""What Uniware needs from ``mappings/uniware.yaml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.mapping.schema import MappingSpec


class Defaults(BaseModel):
    """Values Uniware's push requires that other dialects do not carry."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="Purchase order type when the source has none, e.g. Manual.")
    createdBy: str = Field(description="createdBy when the source names no user (an email).")
    fromParty: str = Field(description="fromParty when the source names no buyer party.")
    expiryDays: int = Field(
        default=30, description="expiryDate = deliveryDate + this many days when none is sent."
    )


SPEC = MappingSpec(crosswalks={}, defaults=Defaults)
