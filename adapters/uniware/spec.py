"""What Uniware needs from ``mappings/uniware.yaml``.

Nothing here has a value: a default exists only when an admin writes it in the mapping
file, and a field the render needs but the file lacks parks the delivery (MappingMissing).
The document marks every payload field mandatory and allows null for none of the fields
below, so a default written as null is refused here.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.uniware.dates import parse_uniware
from adapters.uniware.schema import STATUS_CODES
from core.mapping.schema import CrosswalkSpec, MappingSpec

_NUMBER = "for a line whose PO has none (the document allows no null)."


class Defaults(BaseModel):
    """Values an admin may choose for what a source does not carry; all optional."""

    model_config = ConfigDict(extra="forbid")

    currency: str | None = Field(
        None,
        min_length=3,
        max_length=3,
        description=(
            "ISO 4217 code of the currency the operator's Uniware trades in. The push has no "
            "currency field: Uniware POs are read as in this currency, and a PO in another "
            "one cannot be sent (CannotExpress)."
        ),
    )
    created: str | None = Field(None, description="`created` (Mar 12, 2024 4:16:42 PM).")
    createdBy: str | None = Field(None, description="`createdBy` (an email address).")
    deliveryDate: str | None = Field(None, description="`deliveryDate` (Uniware format).")
    expiryDate: str | None = Field(
        None, description="`expiryDate` (Uniware format), e.g. a far date if POs never expire."
    )
    fromParty: str | None = Field(None, description="`fromParty`: the ordering party's name.")
    type: str | None = Field(None, description="`type` of purchase order, e.g. Manual.")
    discount: Decimal | None = Field(None, description=f"`discount` {_NUMBER}")
    discountPercentage: Decimal | None = Field(None, description=f"`discountPercentage` {_NUMBER}")
    logisticCharges: Decimal | None = Field(None, description=f"`logisticCharges` {_NUMBER}")
    maxRetailPrice: Decimal | None = Field(None, description=f"`maxRetailPrice` {_NUMBER}")
    tax: Decimal | None = Field(None, description=f"`tax` {_NUMBER}")
    taxPercentage: Decimal | None = Field(None, description=f"`taxPercentage` {_NUMBER}")
    cgst: Decimal | None = Field(None, description=f"`cgst` {_NUMBER}")
    sgst: Decimal | None = Field(None, description=f"`sgst` {_NUMBER}")
    igst: Decimal | None = Field(None, description=f"`igst` {_NUMBER}")
    utgst: Decimal | None = Field(None, description=f"`utgst` {_NUMBER}")
    total: Decimal | None = Field(None, description=f"`total` {_NUMBER}")

    @field_validator("created", "deliveryDate", "expiryDate")
    @classmethod
    def _uniware_date(cls, value: str | None) -> str | None:
        if value is not None:
            parse_uniware(value, "UTC")  # the format only; the zone is the mapping's
        return value

    @model_validator(mode="after")
    def _no_null(self) -> Defaults:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"the document allows no null for {', '.join(nulls)}")
        return self


SPEC = MappingSpec(
    crosswalks={
        "vendor_name": CrosswalkSpec(
            description="hub vendor code -> vendorName, for a PO that names no supplier name"
        ),
        "vendor_sku": CrosswalkSpec(
            description="hub SKU -> vendorSkuCode, for a line that carries no vendor SKU"
        ),
    },
    defaults=Defaults,
    statuses=STATUS_CODES,
)
