"""What AppliQloud needs from ``mappings/appliqloud.yaml``.

No value here has a default: each field is a value an admin may write under ``defaults:``
(type-checked only). A default that is not written is a ``MappingMissing`` when a PO needs it,
so the delivery parks until an admin writes the row or the default.
"""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adapters.appliqloud.schema import STATUS_CODES, AscriptionType, ItemType, PoType
from core.mapping.schema import CrosswalkSpec, MappingSpec


class Defaults(BaseModel):
    """Values AppliQloud's update requires that a source PO may lack (all optional)."""

    model_config = ConfigDict(extra="forbid")

    purchaseOrderType: PoType | None = Field(
        None,
        description="purchaseOrderType when the PO's type is neither LOCAL/IMPORT nor in po_type.",
    )
    accountingEntityId: str | None = Field(
        None, min_length=1, description="accountingEntityId when the buyer has no row in `buyer`."
    )
    currencyId: str | None = Field(
        None, min_length=1, description="currencyId when the source PO carries no currency."
    )
    itemType: ItemType | None = Field(
        None, description="itemType of a line when neither the line nor `item_type` says."
    )
    ascriptionType: AscriptionType | None = Field(
        None,
        description=(
            "ascriptionType of a line when neither the line nor `ascription` says "
            "(a SERVICE line is EXPENSE whatever this says: the document's rule)."
        ),
    )
    locationId: str | None = Field(
        None, min_length=1, description="locationId of an INVENTORY line that names no location."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Defaults:
        """The document: INVENTORY only with GOODS."""
        if self.ascriptionType == "INVENTORY" and self.itemType == "SERVICE":
            raise ValueError("ascriptionType INVENTORY is only allowed with itemType GOODS")
        return self


SPEC = MappingSpec(
    crosswalks={
        "vendor": CrosswalkSpec(
            description="hub vendor code -> vendorBusinessPartnerId", required=True
        ),
        "buyer": CrosswalkSpec(
            description="hub buyer code -> accountingEntityId (else defaults.accountingEntityId)"
        ),
        "product": CrosswalkSpec(description="hub SKU -> productId", required=True),
        "product_group": CrosswalkSpec(
            description="hub SKU -> productGroupId (several SKUs may share a group)", required=True
        ),
        "item_type": CrosswalkSpec(
            description="hub SKU -> itemType GOODS|SERVICE (else defaults.itemType)",
            choices=get_args(ItemType),
        ),
        "ascription": CrosswalkSpec(
            description="hub SKU -> ascriptionType INVENTORY|EXPENSE (else defaults.ascriptionType)",
            choices=get_args(AscriptionType),
        ),
        "location": CrosswalkSpec(description="hub location key -> locationId"),
        "po_type": CrosswalkSpec(
            description="hub PO type -> LOCAL or IMPORT (else defaults.purchaseOrderType)",
            choices=get_args(PoType),
        ),
    },
    defaults=Defaults,
    statuses=STATUS_CODES,
)
