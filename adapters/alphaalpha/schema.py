"""AlphaAlpha's purchase-order API, as its document describes it.

The document (``alphaalpha-purchase-orders-api.txt``) shows samples only, no field table:
every field is optional except where a sample cannot mean anything without it. Numbers the
samples show as ``0.1`` are JSON numbers (``Num``); ``0`` where a count is meant
(``fileSize``, ``totalOrders``, paging) are integers. Dates are date-time strings with an
offset (``2019-08-24T14:15:22Z``); ``rules.py`` checks the ones the hub reads.

The full PO object comes in two shapes (one type accepts both): the create / patch /
action replies carry ``amountUsed``, ``percentageUsed``, ``productStatus`` and products with
``price``, ``productName``, ``canReceive``...; the find / search replies carry
``accessTokenHash``, ``amountAccepted``, ``isLocked``, ``shortageProducts``, ``signature``...
and products with ``pricePerUnit`` instead of ``price``.

The PO tree and the request bodies are ``TypedDict``s validated by pydantic (unknown keys
kept, as with ``adapters._wire.Wire``): validating plain dicts is about half the cost of
building ~30 model objects per PO, and the validated dict is what the hub carries on. The
``*Doc`` root models validate them; the small reply envelopes are ``Wire`` models.
"""

from __future__ import annotations

from typing import Annotated, Required

from pydantic import ConfigDict, Field, RootModel, Strict, StrictBool, StrictInt, StrictStr
from pydantic import with_config as _with_config
from typing_extensions import TypedDict

from adapters._wire import PoNumber, Wire

SYSTEM = "alphaalpha"

Num = Annotated[float, Strict()]
"""A JSON number (an integer is accepted too); strings and booleans are refused."""
Int32 = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
"""``Formatint32`` in the document's query parameter lists."""
Id = Annotated[StrictStr, Field(min_length=1)]

_open = _with_config(ConfigDict(extra="allow"))
"""Unknown keys are kept (and so carried and written back), as ``Wire`` does."""


# -- the create / patch request -------------------------------------------------------------
@_open
class RequestProduct(TypedDict, total=False):
    """One product of create / patch. ``productId`` is required: pohub's reading, a product
    line without a product means nothing."""

    price: Num | None
    productId: Required[Id]
    quantity: Num | None
    unit: StrictStr | None


@_open
class OrderRequest(TypedDict, total=False):
    """``POST /purchase-orders`` and ``PATCH /purchase-orders/{id}``:
    ``{products: [{price, productId, quantity, unit}], subsidiaryId}``."""

    products: Required[list[RequestProduct]]
    subsidiaryId: StrictStr | None


# -- pieces of the full PO object -----------------------------------------------------------
@_open
class Blob(TypedDict, total=False):
    """``attachments[]``, ``pdf``, ``signature``, ``products[].imageAssets[]``."""

    blobId: StrictStr | None
    created: StrictStr | None
    extension: StrictStr | None
    fileSize: StrictInt | None
    name: StrictStr | None
    type: StrictStr | None


@_open
class Address(TypedDict, total=False):
    city: StrictStr | None
    country: StrictStr | None
    houseNumber: StrictStr | None
    id: StrictStr | None
    latitude: Num | None
    longitude: Num | None
    postalCode: StrictStr | None
    street: StrictStr | None


@_open
class Coordinate(TypedDict, total=False):
    """The samples show the bounds (``-90``, ``-180``): a latitude and a longitude in degrees."""

    latitude: Annotated[Num, Field(ge=-90, le=90)] | None
    longitude: Annotated[Num, Field(ge=-180, le=180)] | None


@_open
class Location(TypedDict, total=False):
    address: Address | None
    coordinate: Coordinate | None
    name: StrictStr | None


@_open
class ApprovalRuleSnapshot(TypedDict, total=False):
    amountThreshold: Num | None
    approvalMode: StrictStr | None
    approverUserIds: list[StrictStr] | None
    globalApproverUserIds: list[StrictStr] | None
    ruleId: StrictStr | None


@_open
class HistoryEvent(TypedDict, total=False):
    """``events[]``: the PO's own history (``"type": "CREATE"``)."""

    authorId: StrictStr | None
    date: StrictStr | None
    description: StrictStr | None
    id: StrictStr | None
    type: StrictStr | None


@_open
class Review(TypedDict, total=False):
    """``internalApprovals[]``, ``internalReview``, ``supplierReview``."""

    approved: StrictBool | None
    by: StrictStr | None
    on: StrictStr | None
    reason: StrictStr | None


@_open
class ProductQuantity(TypedDict, total=False):
    """``acceptedProducts[]`` and ``resolve-shortage/expense`` ``items[]``."""

    productId: StrictStr | None
    quantity: Num | None


@_open
class Batch(TypedDict, total=False):
    quantity: Num | None
    reason: StrictStr | None


@_open
class RejectedProduct(TypedDict, total=False):
    batches: list[Batch] | None
    productId: StrictStr | None
    quantity: Num | None


@_open
class Resolution(TypedDict, total=False):
    glAccountId: StrictStr | None
    id: StrictStr | None
    quantity: Num | None
    referenceId: StrictStr | None
    resolvedAt: StrictStr | None
    resolvedBy: StrictStr | None
    type: StrictStr | None


@_open
class ShortageBatch(TypedDict, total=False):
    quantity: Num | None
    reason: StrictStr | None
    resolutions: list[Resolution] | None
    resolvedQuantity: Num | None
    unresolvedQuantity: Num | None


@_open
class ShortageProduct(TypedDict, total=False):
    batches: list[ShortageBatch] | None
    productId: StrictStr | None
    quantity: Num | None
    resolvedQuantity: Num | None
    unresolvedQuantity: Num | None


@_open
class ProductStatus(TypedDict, total=False):
    amountLeft: Num | None
    percentagePending: Num | None
    percentageReceived: Num | None
    percentageRejected: Num | None
    productId: StrictStr | None
    quantityAccepted: Num | None
    quantityRejected: Num | None
    totalQuantity: Num | None
    unitPrice: Num | None


@_open
class UnitOfMeasurement(TypedDict, total=False):
    baseUnit: StrictBool | None
    cost: Num | None
    decimal: StrictBool | None
    isBaseUnit: StrictBool | None
    isDecimal: StrictBool | None
    name: StrictStr | None
    quantity: Num | None
    salesPrice: Num | None
    unit: StrictStr | None


@_open
class Product(TypedDict, total=False):
    """``products[]`` of the PO object: ``price`` in the action shape, ``pricePerUnit`` in the
    find shape (both read; the one that came is written back)."""

    baseUnitConversion: Num | None
    baseUnitQuantity: Num | None
    canReceive: StrictBool | None
    currency: StrictStr | None
    imageAssets: list[Blob] | None
    price: Num | None
    pricePerBaseUnit: Num | None
    pricePerUnit: Num | None
    productId: StrictStr | None
    productName: StrictStr | None
    quantity: Num | None
    sourceLocationId: StrictStr | None
    totalPrice: Num | None
    unit: StrictStr | None
    unitsOfMeasurement: list[UnitOfMeasurement] | None


@_open
class PurchaseOrder(TypedDict, total=False):
    """The full PO object (both shapes). Only ``id`` is required."""

    acceptedProducts: list[ProductQuantity] | None
    accessTokenHash: StrictStr | None
    actualDeliveryDate: StrictStr | None
    allowOverdraft: StrictBool | None
    amountAccepted: Num | None
    amountOfProducts: Num | None
    amountRejected: Num | None
    amountUsed: Num | None
    approvalRuleSnapshot: ApprovalRuleSnapshot | None
    attachments: list[Blob] | None
    baseConversionRate: Num | None
    cancellationReason: StrictStr | None
    created: StrictStr | None
    createdBy: StrictStr | None
    currency: StrictStr | None
    currentLocation: Location | None
    deliveryAddress: Address | None
    events: list[HistoryEvent] | None
    expectedDeliveryDate: StrictStr | None
    id: Required[Annotated[PoNumber, Field(min_length=1)]]
    internalApprovals: list[Review] | None
    internalReview: Review | None
    isLocked: StrictBool | None
    localizedTotal: Num | None
    mailBody: StrictStr | None
    note: StrictStr | None
    pdf: Blob | None
    percentageAccepted: Num | None
    percentageRejected: Num | None
    percentageUsed: Num | None
    productStatus: list[ProductStatus] | None
    products: list[Product] | None
    rejectedProducts: list[RejectedProduct] | None
    rejectionReason: StrictStr | None
    sentMails: list[StrictStr] | None
    shortageProducts: list[ShortageProduct] | None
    signature: Blob | None
    signedAt: StrictStr | None
    signedBy: StrictStr | None
    status: StrictStr | None
    stockSiteId: StrictStr | None
    subsidiaryId: StrictStr | None
    supplierEmail: StrictStr | None
    supplierId: StrictStr | None
    supplierReview: Review | None
    tenantId: StrictStr | None
    total: Num | None
    updated: StrictStr | None
    updatedBy: StrictStr | None


# -- paging and search ----------------------------------------------------------------------
@_open
class Sort(TypedDict, total=False):
    empty: StrictBool | None
    sorted: StrictBool | None
    unsorted: StrictBool | None


@_open
class Pageable(TypedDict, total=False):
    offset: StrictInt | None
    pageNumber: StrictInt | None
    pageSize: StrictInt | None
    paged: StrictBool | None
    sort: Sort | None
    unpaged: StrictBool | None


@_open
class Page(TypedDict, total=False):
    """``GET|POST /purchase-orders/dynamic-search`` and ``GET /purchase-orders/page``."""

    content: Required[list[PurchaseOrder]]
    empty: StrictBool | None
    first: StrictBool | None
    last: StrictBool | None
    number: StrictInt | None
    numberOfElements: StrictInt | None
    pageable: Pageable | None
    size: StrictInt | None
    sort: Sort | None
    totalElements: StrictInt | None
    totalPages: StrictInt | None


class SearchSort(Wire):
    ascending: StrictBool | None = None
    field: StrictStr | None = None


class SearchRequest(Wire):
    """``POST /purchase-orders/dynamic-search`` body; ``filters`` is a free name -> value map."""

    filters: dict[str, object] | None = None
    page: Int32 | None = None
    search: list[StrictStr] | None = None
    size: Int32 | None = None
    sort: list[SearchSort] | None = None


# -- lifecycle action bodies ----------------------------------------------------------------
@_open
class MarkAsSentForm(TypedDict, total=False):
    """``mark-as-sent`` / ``send-mail`` multipart form (``-F pdf=...``), as a JSON object of its
    fields. The gateway turns the multipart body into this object before parsing."""

    pdf: Required[StrictStr]


@_open
class UomSplit(TypedDict, total=False):
    productId: Required[Id]
    quantity: Required[Num]
    unit: StrictStr | None


@_open
class Goods(TypedDict, total=False):
    """One entry of ``acceptedGoods`` (with ``batchNumber``, ``locationId``), ``rejectedGoods`` or
    ``shortageGoods`` (with ``unit``). ``productId`` is required (pohub's reading)."""

    batchNumber: StrictStr | None
    locationId: StrictStr | None
    productId: Required[Id]
    unit: StrictStr | None
    uomSplit: list[UomSplit] | None


@_open
class ReceiveGoods(TypedDict, total=False):
    """``POST /purchase-orders/{id}/receive-goods`` body."""

    acceptedGoods: list[Goods] | None
    rejectedGoods: list[Goods] | None
    shortageGoods: list[Goods] | None


class ResolveShortage(Wire):
    """``POST /purchase-orders/{id}/resolve-shortage/expense`` body."""

    glAccountId: StrictStr | None = None
    items: list[ProductQuantity] | None = None


class UploadAttachmentsForm(Wire):
    """``upload-attachments`` multipart form (``-F files=...``) as a JSON object of its fields."""

    files: StrictStr | list[StrictStr]


# -- validators (pydantic models over the TypedDicts) ---------------------------------------
class OrderRequestDoc(RootModel[OrderRequest]):
    pass


class PurchaseOrderDoc(RootModel[PurchaseOrder]):
    """One PO object: ``GET /find/{id}``, ``/{id}/enriched``, and every action's reply."""


class PurchaseOrderList(RootModel[list[PurchaseOrder]]):
    """``GET /purchase-orders/find``, ``find-all``, ``find-list``: a JSON array of POs."""


class PageDoc(RootModel[Page]):
    pass


class Remarks(RootModel[StrictStr | None]):
    """``cancel``, ``reject-internal``, ``reject-supplier`` (``body?string``), ``comment``
    (``body*string``) when sent as a JSON string. The document's curl sends the text raw
    (``-d 'string'``): ``rules.remark_text`` reads both, and is what parse and the simulator
    use."""


class MarkAsSentDoc(RootModel[MarkAsSentForm]):
    pass


class ReceiveGoodsDoc(RootModel[ReceiveGoods]):
    pass


# -- other replies --------------------------------------------------------------------------
class Stats(Wire):
    """``GET /purchase-orders/stats``; ``numberByStatus`` maps a status code to a count."""

    averageValue: Num | None = None
    numberByStatus: dict[str, StrictInt] | None = None
    totalOrders: StrictInt | None = None
    totalValue: Num | None = None


class ShortageItem(Wire):
    productId: StrictStr | None = None
    productName: StrictStr | None = None
    resolvedQuantity: Num | None = None
    shortageQuantity: Num | None = None
    unitPrice: Num | None = None
    unresolvedQuantity: Num | None = None
    unresolvedValue: Num | None = None


class ShortageSummary(Wire):
    """``GET /purchase-orders/{id}/shortage-summary``."""

    items: list[ShortageItem] | None = None


class CsvExport(RootModel[StrictStr]):
    """``GET /purchase-orders/csv-export``: the CSV as one JSON string."""


class Error(Wire):
    """Every error reply of the document: ``{detail, time, title}``."""

    detail: StrictStr | None = None
    time: StrictStr | None = None
    title: StrictStr | None = None
