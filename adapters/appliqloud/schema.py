"""AppliQloud's bulk PO update, as its document describes it.

``PUT {base}/pic/link/purchase-orders/update`` (appliqloud-purchase-orders-update.txt) with
``{"inputs": [{header, items}]}``. Where the document contradicts itself, both readings are
accepted:

- the PurchaseOrder table names the line array ``details``, the cURL example and the 200 reply
  name it ``items``: either key is read (exactly one per PO, checked in ``rules``);
- ``unitId`` is typed string with "false" in the Default column: read as optional;
- ``netUnitPrice`` is typed float while the example sends ``6000``: ints are accepted.

Enumerations are closed (``Literal``): an unknown value is refused with ``literal_error``.
``quantity`` is an int as the table says; a float or a string is refused.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictFloat, StrictInt, StrictStr

from adapters._wire import PoNumber, Wire
from core.mapping.schema import StatusCodes

SYSTEM = "appliqloud"
PATH = "/pic/link/purchase-orders/update"

PoType = Literal["LOCAL", "IMPORT"]
ItemType = Literal["GOODS", "SERVICE"]
AscriptionType = Literal["INVENTORY", "EXPENSE"]

PO_TYPES: frozenset[str] = frozenset(("LOCAL", "IMPORT"))
ITEM_TYPES: frozenset[str] = frozenset(("GOODS", "SERVICE"))
ASCRIPTIONS: frozenset[str] = frozenset(("INVENTORY", "EXPENSE"))

STATUS_CODES = StatusCodes(
    codes=("OPEN",),
    levels=("document",),
    source="AppliQloud's document: the 200 reply's purchaseOrderStatus shows OPEN and gives no "
    "list of codes (the update request carries no status)",
)
"""The status codes the document names; open (no list), so other codes are not refused."""

Id = StrictStr
"""Ids are strings; the document gives no length, so the hub only refuses empty ones."""


class PurchaseOrderHeader(Wire):
    """PurchaseOrderHeader: every field "Required"."""

    purchaseOrderId: PoNumber = Field(min_length=1)
    purchaseOrderType: PoType
    accountingEntityId: Id = Field(min_length=1)
    vendorBusinessPartnerId: Id = Field(min_length=1)
    currencyId: Id = Field(min_length=1)


class PurchaseOrderItem(Wire):
    """PurchaseOrderItem: ``locationId``, ``storageId`` and ``requiredDeliveryDate`` default to
    null; ``unitId`` is not required ("false")."""

    itemId: Id = Field(min_length=1)
    itemType: ItemType
    ascriptionType: AscriptionType
    productGroupId: Id = Field(min_length=1)
    productId: Id = Field(min_length=1)
    locationId: StrictStr | None = None
    storageId: StrictStr | None = None
    requiredDeliveryDate: StrictStr | None = None
    quantity: StrictInt
    unitId: StrictStr | None = None
    netUnitPrice: StrictInt | StrictFloat


OPTIONAL_ITEM_FIELDS = ("locationId", "storageId", "requiredDeliveryDate", "unitId")
"""Item keys a sender may leave out; remembered on parse so a round trip leaves them out too."""


class PurchaseOrderInput(Wire):
    """PurchaseOrder: ``header`` plus the lines as ``items`` (example) or ``details`` (table)."""

    header: PurchaseOrderHeader
    items: list[PurchaseOrderItem] | None = None
    details: list[PurchaseOrderItem] | None = None

    @property
    def lines_key(self) -> str:
        """The key the lines came under: ``details`` only when the sender used the table's."""
        return "details" if self.items is None and self.details is not None else "items"

    @property
    def lines(self) -> list[PurchaseOrderItem]:
        if self.items is None and self.details is not None:
            return self.details
        return self.items or []


class UpdateRequest(Wire):
    """The request body. ``inputs`` is "Required"; the hub also needs at least one PO in it,
    since an empty bulk update carries nothing to translate."""

    inputs: list[PurchaseOrderInput] = Field(min_length=1)
