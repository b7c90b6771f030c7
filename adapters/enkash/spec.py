"""What EnKash needs from ``mappings/enkash.yaml``.

No field has a value in code: a default missing from the file parks the delivery
(``MappingMissing``) until the admin writes it; each is the operator's own configuration.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from adapters.enkash.schema import STATUS_CODES
from core.mapping.schema import CrosswalkSpec, MappingSpec


class Defaults(BaseModel):
    """Values EnKash's status-change webhook requires that other dialects may not carry."""

    model_config = ConfigDict(extra="forbid")

    buyerB2BId: str | None = Field(
        None,
        min_length=1,
        description="The operator's own EnKash B2B id: b2bIds.buyerB2BId when the PO's "
        "buyer has no row in crosswalk `buyer`.",
    )
    buyerAction: str | None = Field(
        None,
        description="poStatus.buyerAction (required by the document) when the source event "
        "names no action: the operator's own word for the action it takes.",
    )
    buyerRemarks: str | None = Field(
        None,
        description="poStatus.buyerRemarks (required by the document) when the source event "
        'carries no remarks: the operator\'s own remark text ("" for none).',
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
    statuses=STATUS_CODES,
)
