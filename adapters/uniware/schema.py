"""Uniware's approved-PO push, as its document describes it.

Every field of the payload table is marked mandatory, so every key must be present, and
only the ones the document shows as ``null`` may be null: the amendment codes ("null if
not applicable"), batchGroupCode ("null") and itemTypeCustomFields (null in the sample).
Numbers: the table says number, the sample sends strings (``"cgst": "string"``), so both
are read; GST fields accept any string because the document's own sample does, but not
null. ``quantity`` is a number, so fractions are allowed.
Custom fields: the table says ``fieldName/fieldValue``, the item sample ``name/value``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr

from adapters._wire import LooseNumber, Number, PoNumber, Wire
from core.mapping.schema import StatusCodes

STATUS_CODES = StatusCodes(
    codes=("APPROVED",),
    levels=("document",),
    source='Uniware\'s document: statusCode is a string, "e.g. APPROVED"; it gives no list',
)
"""The status codes the document names; open (an example only), so others are not refused."""


class CustomFieldValue(Wire):
    fieldName: StrictStr | None = None
    fieldValue: StrictStr | None = None
    name: StrictStr | None = None
    value: StrictStr | None = None


class PurchaseOrderItem(Wire):
    batchGroupCode: StrictStr | None
    discount: Number
    discountPercentage: Number
    itemSKU: StrictStr = Field(min_length=1)
    itemTypeCustomFields: dict[str, Any] | list[Any] | None
    logisticCharges: Number
    maxRetailPrice: Number
    quantity: Number
    tax: Number
    taxPercentage: Number
    cgst: LooseNumber
    sgst: LooseNumber
    igst: LooseNumber
    utgst: LooseNumber
    total: Number
    unitPrice: Number
    vendorSkuCode: StrictStr
    customFieldValues: list[CustomFieldValue]


class ApprovedPurchaseOrder(Wire):
    """``POST {PartnerBaseUrl}/approvedPurchaseOrder`` body."""

    code: PoNumber = Field(min_length=1)
    created: StrictStr
    createdBy: StrictStr
    deliveryDate: StrictStr
    expiryDate: StrictStr
    fromParty: StrictStr
    statusCode: StrictStr = Field(min_length=1)
    type: StrictStr
    vendorCode: StrictStr = Field(min_length=1)
    vendorName: StrictStr
    amendedPurchaseOrderCode: PoNumber | None
    amendmentPurchaseOrderCode: PoNumber | None
    purchaseOrderItems: list[PurchaseOrderItem] = Field(min_length=1)
    customFieldValues: list[CustomFieldValue]


DATE_FIELDS = ("created", "deliveryDate", "expiryDate")
