"""AppliQloud bulk PO update -> one canonical event per PO of ``inputs``."""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from decimal import Decimal
from typing import Any

from adapters._wire import dec, extras
from adapters.appliqloud.rules import check
from adapters.appliqloud.schema import (
    OPTIONAL_ITEM_FIELDS,
    SYSTEM,
    PurchaseOrderInput,
    PurchaseOrderItem,
    UpdateRequest,
)
from core.dates import parse_iso
from core.mapping.tables import Mapping
from core.model import EventKind, PoEvent
from core.validation import validate_json


def parse(
    body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None
) -> list[PoEvent]:
    """Validate the bulk once, check the document's rules, then read each PO.

    The request carries no time and no status: every PO is an UPDATED event with the full PO
    and no status (``None``), so the hub keeps the status it stored (``core.state``) and no
    target is told a status AppliQloud never said.
    """
    wire = validate_json(UpdateRequest, body, SYSTEM)
    check(wire)
    envelope = extras(wire)
    return [_event(po_in, mapping, envelope) for po_in in wire.inputs]


def _event(po_in: PurchaseOrderInput, mapping: Mapping, envelope: dict[str, Any]) -> PoEvent:
    """One validation of the whole canonical event from plain values: cheaper than building
    each nested model by its constructor (a Line costs most of a translation)."""
    header = po_in.header
    tz = mapping.timezone
    po = {
        "po_number": header.purchaseOrderId,
        # the hub type of the po_type row (reverse.po_type when several share LOCAL), else the
        # document's own LOCAL/IMPORT, which render writes back as is
        "po_type": mapping.reverse("po_type", header.purchaseOrderType) or header.purchaseOrderType,
        "buyer": _party(mapping, "buyer", header.accountingEntityId),
        "supplier": _party(mapping, "vendor", header.vendorBusinessPartnerId),
        "currency": header.currencyId,
        "remote_ids": {SYSTEM: header.purchaseOrderId},
        "lines": [_line(item, mapping, tz) for item in po_in.lines],
        "extensions": {
            SYSTEM: {
                "purchaseOrderType": header.purchaseOrderType,
                "linesKey": po_in.lines_key,
                "extra": extras(header),
                "inputExtra": extras(po_in),
                "envelopeExtra": envelope,
            }
        },
    }
    return PoEvent.model_validate(
        {"kind": EventKind.UPDATED, "po_number": header.purchaseOrderId,
         "source_system": SYSTEM, "po": po}
    )  # fmt: skip


def _party(mapping: Mapping, table: str, own_id: str) -> dict[str, Any]:
    """The hub's key by reverse crosswalk (None when no row, or when several hub keys share
    the id), AppliQloud's id kept as is."""
    return {"code": mapping.reverse(table, own_id), "ids": {SYSTEM: own_id}}


def _line(item: PurchaseOrderItem, mapping: Mapping, tz: str) -> dict[str, Any]:
    """A canonical ``Line`` as plain values; ids read back through the crosswalks."""
    when = item.requiredDeliveryDate
    sent = item.model_fields_set
    return {
        "line_number": item.itemId,
        "sku": mapping.reverse("product", item.productId),
        "product_ids": {SYSTEM: item.productId},
        "quantity": Decimal(item.quantity),
        "unit": mapping.unit_in(item.unitId),
        # "net": after line discounts and charges; the gross unit price is not in the update
        "net_unit_price": dec(item.netUnitPrice),
        "item_type": item.itemType,
        "ascription": item.ascriptionType,
        "location": mapping.reverse("location", item.locationId),
        "storage": item.storageId,
        "required_delivery_date": parse_iso(when, tz) if when is not None else None,
        "extensions": {
            SYSTEM: {
                "productGroupId": item.productGroupId,
                "locationId": item.locationId,
                "unitId": item.unitId,
                "absent": [k for k in OPTIONAL_ITEM_FIELDS if k not in sent],
                "extra": extras(item),
            }
        },
    }
