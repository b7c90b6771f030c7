"""EnKash's PO status-change webhook, as its document describes it.

Document: "Webhook Status Change Purchase Order Request",
``POST api/v0/purchase-order/req-status-change`` (enkash-po-status-change-webhook.txt).

Every object and field the body table marks *required* must be present and non-null:
``device`` and its ``tag``, ``b2bIds`` and both ids, ``poStatus`` and each of its fields,
``objectVersion``, ``poStatusTransition``, ``additionalInfos``. The table lists no children
for ``tag``, ``objectVersion`` and ``poStatusTransition``; their fields come from the
Example. ``tag.name``/``tag.value`` and each ``additionalInfos`` ``name``/``value`` are
optional (the table says so for additionalInfos; tag's are not listed at all). The versions
are integers (the Example sends ``0``), the statuses strings (``"CREATED"``).
"""

from __future__ import annotations

from pydantic import StrictInt, StrictStr

from adapters._wire import PoNumberOwnBlankRule, Wire
from core.mapping.schema import StatusCodes

SYSTEM = "enkash"
PATH = "/api/v0/purchase-order/req-status-change"
"""The document writes the path without its leading slash; the hub's calls are base-relative."""

STATUS_CODES = StatusCodes(
    codes=("CREATED",),
    levels=("document",),
    source="EnKash's document: its Example's poStatusTransition says CREATED -> CREATED and "
    "it gives no list of codes",
)
"""The status codes the document names; open (no list), so other codes are not refused."""


class Tag(Wire):
    """``device.tag``: the Example's ``{"name": "GEOCODE", "value": "string"}``."""

    name: StrictStr | None = None
    value: StrictStr | None = None


class Device(Wire):
    tag: Tag


class B2BIds(Wire):
    """EnKash's B2B ids of the two parties (both required)."""

    buyerB2BId: StrictStr
    supplierB2BId: StrictStr


class ObjectVersion(Wire):
    """EnKash's object version before and after the change (integers in the Example)."""

    currentVersion: StrictInt
    newVersion: StrictInt


class PoStatusTransition(Wire):
    currentStatus: StrictStr
    newStatus: StrictStr


class PoStatusBody(Wire):
    """``poStatus``: which PO, which versions, what the buyer did and the status move."""

    objectId: StrictStr
    buyerPONumber: PoNumberOwnBlankRule
    objectVersion: ObjectVersion
    buyerAction: StrictStr
    buyerRemarks: StrictStr
    poStatusTransition: PoStatusTransition


class AdditionalInfo(Wire):
    """One ``additionalInfos`` entry; the table marks both fields optional."""

    name: StrictStr | None = None
    value: StrictStr | None = None


class StatusChangeRequest(Wire):
    """``POST {base}/api/v0/purchase-order/req-status-change`` body."""

    device: Device
    b2bIds: B2BIds
    poStatus: PoStatusBody
    additionalInfos: list[AdditionalInfo]
