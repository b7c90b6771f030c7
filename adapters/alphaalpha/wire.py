"""Canonical -> AlphaAlpha documents: the full PO object and the create/patch body.

Both are written from canonical fields. A PO (or line) read from AlphaAlpha carries
``extensions["alphaalpha"]``: the keys without a canonical home (``rest``), the canonical
keys the sender left out (``absent``) and the raw codes it used, so the same document comes
back. Without a mapping only what the event already holds in AlphaAlpha's terms (its ids
and codes) can be written; anything needing a crosswalk then raises ``MappingMissing``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters._wire import num
from adapters.alphaalpha.parse import DATES, PO_KEYS, PRODUCT_KEYS, REQUEST_KEYS
from adapters.alphaalpha.schema import SYSTEM
from core.dates import format_iso_z
from core.errors import MappingMissing
from core.mapping.tables import Mapping
from core.model import Line, PoStatus, PurchaseOrder


def po_object(po: PurchaseOrder, mapping: Mapping | None, remote_id: str | None = None) -> Any:
    """The full PO object (the shape ``GET /purchase-orders/find/{id}`` answers)."""
    ext = po.extensions.get(SYSTEM)
    own = ext or {}
    raw_dates = own.get("dates", {})
    values: dict[str, Any] = {
        "id": _po_id(po, remote_id),
        "supplierId": _supplier_id(po, mapping),
        "supplierEmail": _email(po, mapping, ext),
        "subsidiaryId": subsidiary_id(po, mapping, mirror=ext is not None),
        "products": [_product(i, line, mapping) for i, line in enumerate(po.lines)],
        "currency": po.currency,
        "total": num(po.total),
        "status": status_code(po, mapping),
        "createdBy": po.created_by,
    }
    for key, attr in DATES.items():
        values[key] = _date(getattr(po, attr), raw_dates.get(key))
    return _merge(own.get("rest", {}), values, PO_KEYS, own.get("absent"), ext is not None)


def order_request(po: PurchaseOrder, mapping: Mapping | None) -> dict[str, Any]:
    """``{products: [{price, productId, quantity, unit}], subsidiaryId}`` for create and patch.

    A cancelled line is left out: the patch body is the order's whole product list, so a
    product no longer in it is no longer ordered, which is what a cancelled line means (a
    create simply does not order it). Sending it would tell AlphaAlpha it is still wanted.
    """
    ext = po.extensions.get(SYSTEM) or {}
    mirror = ext.get("shape") == "request"
    ordered = [line for line in po.lines if line.status is not PoStatus.CANCELLED]
    values = {
        "products": [_request_product(i, line, mapping, mirror) for i, line in enumerate(ordered)],
        "subsidiaryId": subsidiary_id(po, mapping, mirror=mirror),
    }
    rest = ext.get("rest", {}) if mirror else {}
    return _merge(rest, values, values, ext.get("absent") if mirror else None, mirror)


def status_code(po: PurchaseOrder, mapping: Mapping | None) -> str | None:
    """AlphaAlpha's code for the PO's status: the one it sent while unchanged, else mapped."""
    own = po.extensions.get(SYSTEM) or {}
    if "status" in own and po.source_status == own["status"]:
        sent: str | None = own["status"]
        return sent
    if po.status is None:
        return None
    if mapping is None:
        raise MappingMissing(SYSTEM, "statuses.document", po.status, "$.status")
    return mapping.status_out(po.status)


def product_id(line: Line, mapping: Mapping | None, path: str, mirror: bool = False) -> str | None:
    """``productId``: the one AlphaAlpha sent, else crosswalk ``product`` of the hub SKU."""
    own = line.product_ids.get(SYSTEM)
    if own is not None:
        return own
    if mirror and line.sku is None:
        return None
    return _lookup(mapping, "product", line.sku, path)


def unit_code(line: Line, mapping: Mapping | None) -> str | None:
    """The unit code AlphaAlpha sent while the canonical unit is unchanged, else mapped."""
    own = line.extensions.get(SYSTEM) or {}
    sent: str | None = own.get("unit")
    if "unit" in own and (mapping is None or mapping.unit_in(sent) == line.unit):
        return sent
    return line.unit if mapping is None else mapping.unit_out(line.unit)


def subsidiary_id(po: PurchaseOrder, mapping: Mapping | None, *, mirror: bool) -> str | None:
    """``subsidiaryId``: AlphaAlpha's own, else crosswalk ``buyer``, else the default an
    admin wrote (``null``: none is sent); a buyer with neither parks the delivery
    (``MappingMissing`` on ``crosswalks.buyer``), a PO with no buyer is written without one.

    ``mirror``: the PO came from AlphaAlpha, so a missing subsidiary stays missing.
    """
    own = po.buyer.ids.get(SYSTEM)
    if own is not None or (mirror and po.buyer.code is None):
        return own
    if mapping is None:
        raise MappingMissing(SYSTEM, "crosswalks.buyer", po.buyer.code, "$.subsidiaryId")
    row = mapping.file.crosswalks.get("buyer", {}).get(po.buyer.code or "")
    if row is not None:
        return row
    if mapping.has_default("subsidiaryId"):
        chosen = mapping.default("subsidiaryId")
        return None if chosen is None else str(chosen)
    if po.buyer.code is None:
        return None  # no buyer to say, and the document does not require `subsidiaryId`
    raise MappingMissing(SYSTEM, "crosswalks.buyer", po.buyer.code, "$.subsidiaryId")


def _product(index: int, line: Line, mapping: Mapping | None) -> dict[str, Any]:
    ext = line.extensions.get(SYSTEM)
    own = ext or {}
    price = own.get("priceKey", "price")
    values = {
        "productId": product_id(line, mapping, f"$.products[{index}].productId", ext is not None),
        "quantity": num(line.quantity),
        "unit": unit_code(line, mapping),
        "totalPrice": num(line.total),
        "productName": line.product_name,
        price: num(line.unit_price),
    }
    keys = (*PRODUCT_KEYS, price)
    return _merge(own.get("rest", {}), values, keys, own.get("absent"), ext is not None)


def _request_product(
    index: int, line: Line, mapping: Mapping | None, mirror: bool
) -> dict[str, Any]:
    own = line.extensions.get(SYSTEM) or {}
    at = f"$.products[{index}]"
    values = {
        "price": num(line.unit_price),
        "productId": product_id(line, mapping, f"{at}.productId", mirror),
        "quantity": num(line.quantity),
        "unit": unit_code(line, mapping),
    }
    if not mirror:
        if mapping is not None:
            # `quantity` is a JSON number (the document's own sample says 0.1): fractions go
            # as they are; a `units.convert` row rescales quantity and price. A line without
            # a unit has none here either: `unit` is not a required field.
            qty, unit, price = mapping.quantity_out(
                line.quantity, line.unit, f"{at}.quantity", price=line.unit_price
            )
            values.update(price=num(price), quantity=num(qty), unit=unit)
        return {k: v for k, v in values.items() if v is not None}
    return _merge(own.get("rest", {}), values, REQUEST_KEYS, own.get("absent"), True)


def _merge(
    rest: dict[str, Any],
    values: dict[str, Any],
    keys: Any,
    absent: list[str] | None,
    mirror: bool,
) -> dict[str, Any]:
    """``rest`` plus the canonical ``keys``: a mirror writes every key it was sent (even null),
    a PO from elsewhere only the known values."""
    out = dict(rest)
    skip = set(absent or ())
    for key in keys:
        value = values[key]
        if (mirror and key not in skip) or (not mirror and value is not None):
            out[key] = value
    return out


def _date(value: datetime | None, raw: str | None) -> str | None:
    if value is None:
        return None
    if raw is not None and datetime.fromisoformat(raw) == value:
        return raw
    return format_iso_z(value)


def _po_id(po: PurchaseOrder, remote_id: str | None) -> str:
    """AlphaAlpha's id; a PO it has not numbered yet is named by its PO number, the same
    identity ``parse`` gives an AlphaAlpha PO (``po_number = id``)."""
    return remote_id or po.remote_ids.get(SYSTEM) or po.po_number


def _supplier_id(po: PurchaseOrder, mapping: Mapping | None) -> str | None:
    own = po.supplier.ids.get(SYSTEM)
    if own is not None or po.supplier.code is None:
        return own
    return _lookup(mapping, "vendor", po.supplier.code, "$.supplierId")


def _lookup(mapping: Mapping | None, table: str, key: str | None, path: str) -> str:
    if mapping is None:
        raise MappingMissing(SYSTEM, f"crosswalks.{table}", key, path)
    return mapping.lookup(table, key, path)


def _email(po: PurchaseOrder, mapping: Mapping | None, ext: dict[str, Any] | None) -> Any:
    """The supplier's email; the optional default only for POs from other systems."""
    if po.supplier.email is not None or mapping is None or ext is not None:
        return po.supplier.email
    return mapping.default_or("supplierEmail")
