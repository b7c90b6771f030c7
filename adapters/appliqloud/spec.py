"""What AppliQloud needs from ``mappings/appliqloud.yaml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adapters.appliqloud.schema import AscriptionType, ItemType, PoType
from core.mapping.schema import CrosswalkSpec, MappingSpec


class Defaults(BaseModel):
    """Values AppliQloud's update requires that other dialects do not carry."""

    model_config = ConfigDict(extra="forbid")

    purchaseOrderType: PoType = Field(
        description="purchaseOrderType when the PO's type is neither LOCAL/IMPORT nor in po_type."
    )
    accountingEntityId: str = Field(
        min_length=1, description="accountingEntityId when the buyer has no row in `buyer`."
    )
    currencyId: str = Field(
        min_length=1, description="currencyId when the source carries no currency (Uniware)."
    )
    itemType: ItemType = Field(
        default="GOODS", description="itemType of a line when the source has none."
    )
    ascriptionType: AscriptionType = Field(
        default="EXPENSE",
        description="ascriptionType of a line when the source has none (SERVICE lines: EXPENSE).",
    )
    locationId: str | None = Field(
        default=None,
        description="locationId of an INVENTORY line with no location; needed if such lines occur.",
    )

    purchaseOrderStatus: str = Field(
        default="OPEN",
        min_length=1,
        description=(
            "AppliQloud status code a PO read from an update is in: the request carries none, "
            "the 200 reply reports OPEN. Read through statuses (inbound/document)."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Defaults:
        """The document: INVENTORY only with GOODS; and INVENTORY lines need a locationId."""
        if self.ascriptionType == "INVENTORY" and self.itemType != "GOODS":
            raise ValueError("ascriptionType INVENTORY is only allowed with itemType GOODS")
        if self.ascriptionType == "INVENTORY" and not self.locationId:
            raise ValueError("ascriptionType INVENTORY needs a default locationId")
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
        "product_group": CrosswalkSpec(description="hub SKU -> productGroupId", required=True),
        "location": CrosswalkSpec(description="hub location key -> locationId"),
        "po_type": CrosswalkSpec(
            description="hub PO type -> LOCAL or IMPORT (else defaults.purchaseOrderType)"
        ),
    },
    defaults=Defaults,
)
