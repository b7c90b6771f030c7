"""Canonical event -> Uniware approved-PO push (one call)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from adapters._wire import num
from adapters.uniware.parse import SYSTEM
from core.adapter import Call, RenderContext, Rendered
from core.dates import format_uniware, parse_uniware
from core.errors import MappingMissing
from core.mapping.tables import Mapping
from core.model import CustomField, Line, PoEvent, PurchaseOrder
from core.state import full_po

PATH = "/approvedPurchaseOrder"


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    po = full_po(event, ctx.state, SYSTEM)
    mapping = ctx.mapping
    ext = po.extensions.get(SYSTEM, {})
    created = po.created_at or event.occurred_at
    delivery = po.delivery_date or _earliest_line_date(po)
    expiry = po.expiry_date
    if expiry is None and delivery is not None:
        expiry = delivery + timedelta(days=int(mapping.default("expiryDays")))
    tz = mapping.timezone
    raw_dates = ext.get("dates", {})
    body: dict[str, Any] = {
        "code": po.po_number,
        "created": _date(created, "created", raw_dates, tz),
        "createdBy": po.created_by or mapping.default("createdBy"),
        "deliveryDate": _date(delivery, "deliveryDate", raw_dates, tz),
        "expiryDate": _date(expiry, "expiryDate", raw_dates, tz),
        "fromParty": po.buyer.name or po.buyer.code or mapping.default("fromParty"),
        "statusCode": _status(po, mapping),
        "type": po.po_type or mapping.default("type"),
        "vendorCode": _required(po.supplier.code, "vendorCode"),
        "vendorName": po.supplier.name or po.supplier.code,
        "amendedPurchaseOrderCode": po.amended_po_number,
        "amendmentPurchaseOrderCode": po.amendment_po_number,
        "purchaseOrderItems": [_item(line) for line in po.lines],
        "customFieldValues": _custom(po.custom_fields, ext.get("customFieldValues"), "fieldName"),
    }
    body.update(ext.get("extra", {}))
    return Rendered(SYSTEM, [Call("POST", PATH, body)], mapping.version)


def _status(po: PurchaseOrder, mapping: Mapping) -> str:
    sent = po.extensions.get(SYSTEM, {}).get("statusCode")
    if po.status is None and sent is not None and sent == po.source_status:
        return str(sent)
    return mapping.status_out(po.status)


def _required(value: str | None, name: str) -> str:
    if value is None:
        raise MappingMissing(SYSTEM, "canonical", name, f"$.{name}")
    return value


def _date(value: datetime | None, name: str, raw: dict[str, str], tz: str) -> str:
    if value is None:
        raise MappingMissing(SYSTEM, "defaults", name, f"$.{name}")
    sent = raw.get(name)
    if sent is not None and parse_uniware(sent, tz) == value:
        return sent
    return format_uniware(value, tz)


def _earliest_line_date(po: PurchaseOrder) -> datetime | None:
    dates = [line.required_delivery_date for line in po.lines if line.required_delivery_date]
    return min(dates) if dates else None


def _item(line: Line) -> dict[str, Any]:
    ext = line.extensions.get(SYSTEM, {})
    raw = ext.get("raw", {})
    taxes = line.taxes
    zero = 0

    def n(name: str, value: Any) -> Any:
        got = num(value, raw.get(name))
        return zero if got is None else got

    item: dict[str, Any] = {
        "batchGroupCode": ext.get("batchGroupCode"),
        "discount": n("discount", line.discount),
        "discountPercentage": n("discountPercentage", line.discount_percent),
        "itemSKU": _required(line.sku, "purchaseOrderItems.itemSKU"),
        "itemTypeCustomFields": ext.get("itemTypeCustomFields"),
        "logisticCharges": n("logisticCharges", line.logistic_charges),
        "maxRetailPrice": n("maxRetailPrice", line.mrp),
        "quantity": n("quantity", line.quantity),
        "tax": n("tax", taxes.tax),
        "taxPercentage": n("taxPercentage", taxes.tax_percent),
        "cgst": n("cgst", taxes.cgst),
        "sgst": n("sgst", taxes.sgst),
        "igst": n("igst", taxes.igst),
        "utgst": n("utgst", taxes.utgst),
        "total": n("total", line.total if line.total is not None else _line_total(line)),
        "unitPrice": n("unitPrice", line.unit_price),
        "vendorSkuCode": line.vendor_sku or line.sku,
        "customFieldValues": _custom(line.custom_fields, ext.get("customFieldValues"), "fieldName"),
    }
    item.update(ext.get("extra", {}))
    return item


def _line_total(line: Line) -> Any:
    if line.quantity is None or line.unit_price is None:
        return None
    return line.quantity * line.unit_price


def _custom(
    fields: list[CustomField], sent: list[dict[str, Any]] | None, style: str
) -> list[dict[str, Any]] | None:
    """Write custom fields back with the keys they came with; new ones per the table."""
    if sent is not None and _pairs(sent) == [(f.name, f.value) for f in fields]:
        return sent
    if not fields and sent is None:
        return []
    key, val = ("fieldName", "fieldValue") if style == "fieldName" else ("name", "value")
    return [{key: f.name, val: f.value} for f in fields]


def _pairs(sent: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return [(d.get("fieldName", d.get("name")), d.get("fieldValue", d.get("value"))) for d in sent]
