"""What EnKash needs from ``mappings/enkash.yaml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.mapping.schema import CrosswalkSpec, MappingSpec


class Defaults(BaseModel):
    """Values EnKash's status-change webhook requires that other dialects do not carry."""

    model_config = ConfigDict(extra="forbid")

    buyerB2BId: str = Field(
        min_length=1,
        description="buyerB2BId when the PO's buyer has no row in crosswalk `buyer` "
        "(the hub's own EnKash B2B id).",
    )
    buyerAction: str = Field(
        default="STATUS_CHANGE",
        description="poStatus.buyerAction when the source event names no action.",
    )
    initialStatus: str = Field(
        default="CREATED",
        description="poStatusTransition.currentStatus when the hub knows no earlier status "
        "(the PO's first change).",
    )
    deviceTagName: str = Field(
        default="GEOCODE",
        description="device.tag.name when the source carries no device (the document's "
        "Example sends GEOCODE); tag.value is then empty.",
    )


SPEC = MappingSpec(
    crosswalks={
        "vendor": CrosswalkSpec(
            description="hub vendor code -> EnKash b2bIds.supplierB2BId", required=True
        ),
        "buyer": CrosswalkSpec(
            description="hub buyer code -> EnKash b2bIds.buyerB2BId (else defaults.buyerB2BId)"
        ),
    },
    defaults=Defaults,
)
