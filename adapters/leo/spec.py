"""What Leo needs from ``mappings/leo.yaml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.mapping.schema import MappingSpec


class Defaults(BaseModel):
    """Values Leo's status update carries that no other dialect does."""

    model_config = ConfigDict(extra="forbid")

    lob: str = Field(description="Body `lob` (line of business) when the event is not Leo's.")
    subType: str = Field(description="Body `subType` (document subtype) when not Leo's.")
    event: str = Field(
        description="Header `event` (the command, e.g. POStatusUpdate) when not Leo's."
    )
    subtypeAppId: str = Field(
        description="Header `subtypeAppId` (the subtype application id) when not Leo's."
    )


SPEC = MappingSpec(crosswalks={}, defaults=Defaults)
"""Leo's status update carries no party, product or location ids: no crosswalk tables."""
