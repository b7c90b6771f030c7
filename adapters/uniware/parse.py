"""Uniware approved-PO push -> canonical event.

Faithful: every field of the document lands in the canonical PO or in
``extensions["uniware"]``, so other systems render from what Uniware said.

- ``statusCode`` must be a code of the mapping's status table (``$.statusCode``,
  rule ``known_status``): a status may not be unknown.
- ``amendedPurchaseOrderCode`` set: this PO amends an earlier one, the event is
  ``AMENDED`` (``amended_po_number`` keeps the relation); otherwise ``APPROVED`` for
  ``"APPROVED"`` and ``CREATED`` for other codes.
- The push has no currency field: ``po.currency`` is the mapping's ``defaults.currency``
  (the currency the operator's Uniware trades in), or None when the admin wrote none.
- ``occurred_at`` is ``created`` only for a ``CREATED`` push (the event is the creation);
  the payload carries no approval time, so otherwise it stays None and the hub stamps
  the time it received the push (the document's FAQ: pushes are "real-time").
- Uniware has no unit field: lines are in the mapping's ``units.default``.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any

from adapters._wire import dec, extras
from adapters.uniware.rules import checked_dates
from adapters.uniware.schema import DATE_FIELDS, ApprovedPurchaseOrder, CustomFieldValue
from core.mapping.tables import Mapping
from core.model import CustomField, EventKind, Line, Party, PoEvent, PurchaseOrder, Taxes
from core.validation import validate_json

SYSTEM = "uniware"
_NUMERIC = (
    "discount", "discountPercentage", "logisticCharges", "maxRetailPrice", "quantity", "tax",
    "taxPercentage", "cgst", "sgst", "igst", "utgst", "total", "unitPrice",
)  # fmt: skip


def parse(body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None) -> PoEvent:
    wire = validate_json(ApprovedPurchaseOrder, body, SYSTEM)
    dates = checked_dates(wire, mapping.timezone)
    status = mapping.status_in_checked(wire.statusCode, "$.statusCode")
    po = PurchaseOrder(
        po_number=wire.code,
        po_type=wire.type,
        buyer=Party(code=wire.fromParty, name=wire.fromParty),
        supplier=Party(code=wire.vendorCode, name=wire.vendorName, ids={SYSTEM: wire.vendorCode}),
        created_at=dates["created"],
        created_by=wire.createdBy,
        delivery_date=dates["deliveryDate"],
        expiry_date=dates["expiryDate"],
        currency=mapping.defaults.get("currency"),
        status=status,
        source_status=wire.statusCode,
        amended_po_number=wire.amendedPurchaseOrderCode,
        amendment_po_number=wire.amendmentPurchaseOrderCode,
        remote_ids={SYSTEM: wire.code},
        custom_fields=_custom(wire.customFieldValues),
        lines=[_line(i, item, mapping) for i, item in enumerate(wire.purchaseOrderItems)],
        extensions={SYSTEM: _po_extensions(wire)},
    )
    kind = _kind(wire)
    return PoEvent(
        kind=kind,
        po_number=wire.code,
        source_system=SYSTEM,
        occurred_at=dates["created"] if kind is EventKind.CREATED else None,
        po=po,
    )


def _kind(wire: ApprovedPurchaseOrder) -> EventKind:
    """An amendment PO (it names the PO it amends) is ``AMENDED``, whatever its status."""
    if wire.amendedPurchaseOrderCode:
        return EventKind.AMENDED
    return EventKind.APPROVED if wire.statusCode == "APPROVED" else EventKind.CREATED


def _custom(values: list[CustomFieldValue] | None) -> list[CustomField]:
    return [
        CustomField(
            name=v.fieldName if v.fieldName is not None else v.name,
            value=v.fieldValue if v.fieldValue is not None else v.value,
        )
        for v in values or []
    ]


def _custom_style(values: list[CustomFieldValue] | None) -> list[dict[str, Any]] | None:
    """The exact keys each custom field was sent with, so it is written back the same way."""
    if values is None:
        return None
    return [v.model_dump(exclude_unset=True) for v in values]


def _line(index: int, item: Any, mapping: Mapping) -> Line:
    raw = {name: getattr(item, name) for name in _NUMERIC}
    return Line(
        line_number=str(index + 1),
        sku=item.itemSKU,
        vendor_sku=item.vendorSkuCode,
        quantity=dec(raw["quantity"]),
        unit=mapping.unit_in(None),
        unit_price=dec(raw["unitPrice"]),
        mrp=dec(raw["maxRetailPrice"]),
        discount=dec(raw["discount"]),
        discount_percent=dec(raw["discountPercentage"]),
        taxes=Taxes(
            cgst=dec(raw["cgst"]),
            sgst=dec(raw["sgst"]),
            igst=dec(raw["igst"]),
            utgst=dec(raw["utgst"]),
            tax=dec(raw["tax"]),
            tax_percent=dec(raw["taxPercentage"]),
        ),
        logistic_charges=dec(raw["logisticCharges"]),
        total=dec(raw["total"]),
        custom_fields=_custom(item.customFieldValues),
        extensions={
            SYSTEM: {
                "batchGroupCode": item.batchGroupCode,
                "itemTypeCustomFields": item.itemTypeCustomFields,
                "customFieldValues": _custom_style(item.customFieldValues),
                "raw": {k: v for k, v in raw.items() if isinstance(v, str)},
                "extra": extras(item),
            }
        },
    )


def _po_extensions(wire: ApprovedPurchaseOrder) -> dict[str, Any]:
    return {
        "statusCode": wire.statusCode,
        "dates": {name: getattr(wire, name) for name in DATE_FIELDS},
        "customFieldValues": _custom_style(wire.customFieldValues),
        "extra": extras(wire),
    }
