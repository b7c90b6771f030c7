"""What Leo needs from ``mappings/leo.yaml``.

Every default is the operator's own Leo integration setting (what Leo calls this
integration), never a business value: no field has a value in code, and a missing one makes
the delivery park (``MappingMissing``) until the admin writes it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from adapters.leo.schema import STATUS_CODES
from core.mapping.schema import MappingSpec


class Defaults(BaseModel):
    """Values Leo's status update carries that no other dialect does."""

    model_config = ConfigDict(extra="forbid")

    lob: str | None = Field(
        None, description="Body `lob` (line of business) when the event is not Leo's."
    )
    subType: str | None = Field(
        None, description="Body `subType` (document subtype) when the event is not Leo's."
    )
    event: str | None = Field(
        None, description="Header `event` (the command, e.g. POStatusUpdate) when not Leo's."
    )
    subtypeAppId: str | None = Field(
        None, description="Header `subtypeAppId` (the subtype application id) when not Leo's."
    )
    erpSystem: str | None = Field(
        None,
        description="The operator's ERP of record (a system id, e.g. uniware): a PO that "
        "came from it is written with its number there as `erpNumber` when Leo has not "
        "revealed its own; null: no ERP of record, `erpNumber` stays null.",
    )


SPEC = MappingSpec(crosswalks={}, defaults=Defaults, statuses=STATUS_CODES)
"""Leo's status update carries no party, product or location ids: no crosswalk tables."""
