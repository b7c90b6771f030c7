"""What AlphaAlpha needs from ``mappings/alphaalpha.yaml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from adapters.alphaalpha.lifecycle import Status
from core.mapping.schema import CrosswalkSpec, MappingSpec, StatusCodes


class Defaults(BaseModel):
    """Values AlphaAlpha needs that other dialects do not carry."""

    model_config = ConfigDict(extra="forbid")

    subsidiaryId: str | None = Field(
        default=None,
        description=(
            "subsidiaryId of a create/patch when the PO's buyer has no row in crosswalk `buyer` "
            "(null: none is sent; absent: such a PO is a missing mapping and parks)."
        ),
    )
    currency: str | None = Field(
        default=None,
        min_length=3,
        description=(
            "The currency AlphaAlpha's subsidiaries price orders in: its create/patch requests "
            "carry none, so a PO in another currency cannot be sent (absent: parks)."
        ),
    )
    hubMayApproveForSupplier: bool | None = Field(
        default=None,
        description=(
            "true lets the hub call approve-supplier / reject-supplier (the supplier's steps) "
            "on the supplier's behalf; absent or false, a plan stops before them with the reason."
        ),
    )
    supplierEmail: str | None = Field(
        default=None,
        description="supplierEmail written in the PO object of another system's PO naming none.",
    )


SPEC = MappingSpec(
    crosswalks={
        "product": CrosswalkSpec(
            description="hub SKU -> AlphaAlpha productId (every product line needs one)",
            required=True,
        ),
        "vendor": CrosswalkSpec(description="hub vendor code -> AlphaAlpha supplierId"),
        "buyer": CrosswalkSpec(description="hub buyer code -> AlphaAlpha subsidiaryId"),
        "location": CrosswalkSpec(
            description="hub location key -> AlphaAlpha locationId (receive-goods)"
        ),
    },
    defaults=Defaults,
    statuses=StatusCodes(
        codes=tuple(Status),
        closed=True,
        levels=("document",),
        source="adapters/alphaalpha/lifecycle.py: the statuses its plans move a PO through "
        "(pohub's reading of the document's actions; the document shows only DRAFT)",
    ),
)
