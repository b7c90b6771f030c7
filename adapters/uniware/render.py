"""Canonical event -> Uniware approved-PO push (one call).

Every value written has a source (issue 10): the PO (the event merged into its stored
state), what Uniware itself sent for it (``extensions["uniware"]``), a mapping row, or a
default an admin wrote in ``mappings/uniware.yaml``. The document marks every field
mandatory; where the PO has nothing:

- null only where the document says so: ``amendedPurchaseOrderCode``,
  ``amendmentPurchaseOrderCode`` ("null if not applicable") and ``batchGroupCode``
  ("null"); ``itemTypeCustomFields`` is null in the document's own sample;
- ``vendorName`` from crosswalk ``vendor_name`` (vendor code), ``vendorSkuCode`` from
  crosswalk ``vendor_sku`` (hub SKU): a missing row parks the delivery;
- every other field from ``defaults.<field>`` (a missing default parks the delivery,
  ``MappingMissing``); the PO's own keys (``vendorCode``, ``itemSKU``, ``quantity``,
  ``unitPrice``) have no default: missing, they park as table ``canonical``.

Derived, and only where exact:

- ``deliveryDate`` of a PO without one: the lines' required delivery date when every line
  has the same one;
- ``total`` of a line without one: ``quantity x unitPrice`` when ``discount``,
  ``logisticCharges`` and ``tax`` are all known to be 0. The document gives no formula for
  "Total cost for the quantity of items ordered"; with those three at 0 every reading of
  it gives the same number. Otherwise the total is missing (``defaults.total``).

Never derived: ``created`` (the PO's own creation time only; an event's time is when the
hub heard of it), ``expiryDate`` (no "+N days"), percentages, taxes, MRP.

Refused (``CannotExpress``, the delivery goes dead):

- a PO in a currency other than ``defaults.currency``: the push has no currency field
  (``$``);
- a cancelled or rejected line (or schedule) of a PO that is not itself cancelled or
  rejected: the push has no line status, so the line would read as ordered
  (``$.purchaseOrderItems[i]``);
- a line whose unit, after ``units.convert``, is not ``units.default``: the push has no
  unit field (``$.purchaseOrderItems[i].quantity``).

Received and accepted quantities have no field in the push and are not written.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters._wire import num
from adapters.uniware.dates import format_uniware, parse_uniware
from adapters.uniware.parse import SYSTEM
from core.adapter import Call, RenderContext, Rendered
from core.errors import CannotExpress, MappingMissing
from core.mapping.tables import Mapping
from core.model import CustomField, Line, PoEvent, PoStatus, PurchaseOrder
from core.numbers import to_decimal, to_json_number
from core.state import full_po

PATH = "/approvedPurchaseOrder"
WITHDRAWN = (PoStatus.CANCELLED, PoStatus.REJECTED)
"""Statuses that say a line is no longer ordered."""


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    po = full_po(event, ctx.state, SYSTEM)
    mapping = ctx.mapping
    status = _status(po, mapping)  # a PO whose status Uniware cannot say goes no further
    _check_currency(po, mapping)
    ext = po.extensions.get(SYSTEM, {})
    dates = _Dates(mapping, ext.get("dates", {}))
    body: dict[str, Any] = {
        "code": po.po_number,
        "created": dates.write("created", po.created_at),
        "createdBy": _text(po.created_by, "createdBy", mapping),
        "deliveryDate": dates.write("deliveryDate", po.delivery_date or _common_line_date(po)),
        "expiryDate": dates.write("expiryDate", po.expiry_date),
        "fromParty": _text(po.buyer.name, "fromParty", mapping),
        "statusCode": status,
        "type": _text(po.po_type, "type", mapping),
        "vendorCode": _key(po.supplier.code, "vendorCode", "$.vendorCode"),
        "vendorName": po.supplier.name
        or mapping.lookup("vendor_name", po.supplier.code, "$.vendorName"),
        "amendedPurchaseOrderCode": po.amended_po_number,
        "amendmentPurchaseOrderCode": po.amendment_po_number,
        "purchaseOrderItems": _items(po, mapping),
        "customFieldValues": _custom(po.custom_fields, ext.get("customFieldValues"), "fieldName"),
    }
    body.update(ext.get("extra", {}))
    return Rendered(SYSTEM, [Call("POST", PATH, body)], mapping.version)


def _check_currency(po: PurchaseOrder, mapping: Mapping) -> None:
    """The push has no currency field: its amounts are in the currency the operator's
    Uniware trades in (``defaults.currency``). A PO naming none has nothing to contradict."""
    if po.currency is None:
        return
    trades = mapping.default("currency", "$")
    if trades is None or po.currency.upper() != str(trades).upper():
        raise CannotExpress(
            SYSTEM, "$",
            f"the push has no currency field and its amounts are in {trades} "
            f"(defaults.currency); this PO is in {po.currency}",
        )  # fmt: skip


def _status(po: PurchaseOrder, mapping: Mapping) -> str:
    sent = po.extensions.get(SYSTEM, {}).get("statusCode")
    if po.status is None and sent is not None and sent == po.source_status:
        return str(sent)
    return mapping.status_out(po.status)


def _key(value: str | None, name: str, path: str) -> str:
    """One of the PO's own keys: no default can stand in for it."""
    if value is None:
        raise MappingMissing(SYSTEM, "canonical", name, path)
    return value


def _text(value: str | None, name: str, mapping: Mapping) -> Any:
    """The PO's value, else the admin's ``defaults.<name>`` (never null: mandatory)."""
    if value is not None:
        return value
    return _not_null(mapping.default(name, f"$.{name}"), f"$.{name}")


def _not_null(value: Any, path: str) -> Any:
    if value is None:
        raise CannotExpress(
            SYSTEM, path, "the document allows no null here, and the mapping's default is null"
        )
    return value


class _Dates:
    """Dates in the mapping's zone; a date Uniware sent is written back as it was sent."""

    def __init__(self, mapping: Mapping, sent: dict[str, str]) -> None:
        self.mapping = mapping
        self.sent = sent

    def write(self, name: str, value: datetime | None) -> str:
        tz = self.mapping.timezone
        if value is None:
            return str(_not_null(self.mapping.default(name, f"$.{name}"), f"$.{name}"))
        sent = self.sent.get(name)
        if sent is not None and parse_uniware(sent, tz) == value:
            return sent
        return format_uniware(value, tz)


def _common_line_date(po: PurchaseOrder) -> datetime | None:
    """The order's delivery date only when every line expects the same one."""
    dates = {line.required_delivery_date for line in po.lines}
    return dates.pop() if len(dates) == 1 else None


def _items(po: PurchaseOrder, mapping: Mapping) -> list[dict[str, Any]]:
    withdrawn = po.status in WITHDRAWN
    items = []
    for index, line in enumerate(po.lines):
        at = f"$.purchaseOrderItems[{index}]"
        if not withdrawn:
            _check_ordered(line, at)
        items.append(_item(line, mapping, at))
    return items


def _check_ordered(line: Line, at: str) -> None:
    """The push has no line status: a withdrawn line would be sent as ordered."""
    said = [f"line {line.line_number} is {line.status}"] if line.status in WITHDRAWN else []
    said += [
        f"schedule {s.number} of line {line.line_number} is {s.status}"
        for s in line.schedules
        if s.status in WITHDRAWN
    ]
    if said:
        raise CannotExpress(
            SYSTEM, at,
            f"{'; '.join(said)}, and the push has no line status: Uniware would read it as "
            "ordered",
        )  # fmt: skip


def _item(line: Line, mapping: Mapping, at: str) -> dict[str, Any]:
    ext = line.extensions.get(SYSTEM, {})
    raw: dict[str, Any] = ext.get("raw", {})
    qty, price, mrp = _in_uniware_unit(line, mapping, at)
    taxes = line.taxes

    def n(name: str, value: Decimal | None) -> Any:
        return _number(name, value, raw, mapping, f"{at}.{name}")

    item: dict[str, Any] = {
        "batchGroupCode": ext.get("batchGroupCode"),
        "discount": n("discount", line.discount),
        "discountPercentage": n("discountPercentage", line.discount_percent),
        "itemSKU": _key(line.sku, "itemSKU", f"{at}.itemSKU"),
        "itemTypeCustomFields": ext.get("itemTypeCustomFields"),
        "logisticCharges": n("logisticCharges", line.logistic_charges),
        "maxRetailPrice": n("maxRetailPrice", mrp),
        "quantity": num(qty, raw.get("quantity")),
        "tax": n("tax", taxes.tax),
        "taxPercentage": n("taxPercentage", taxes.tax_percent),
        "cgst": n("cgst", taxes.cgst),
        "sgst": n("sgst", taxes.sgst),
        "igst": n("igst", taxes.igst),
        "utgst": n("utgst", taxes.utgst),
        "total": n(
            "total", line.total if line.total is not None else _exact_total(line, qty, price)
        ),
        "unitPrice": num(price, raw.get("unitPrice")),
        "vendorSkuCode": line.vendor_sku
        or mapping.lookup("vendor_sku", line.sku, f"{at}.vendorSkuCode"),
        "customFieldValues": _custom(line.custom_fields, ext.get("customFieldValues"), "fieldName"),
    }
    item.update(ext.get("extra", {}))
    return item


def _in_uniware_unit(
    line: Line, mapping: Mapping, at: str
) -> tuple[Decimal, Decimal, Decimal | None]:
    """(quantity, unit price, MRP) in ``units.default``, through ``units.convert``.

    The document types ``quantity`` as number, so fractions are written as they are.
    """
    path = f"{at}.quantity"
    if line.quantity is None:
        raise MappingMissing(SYSTEM, "canonical", "quantity", path)
    if line.unit_price is None:
        raise MappingMissing(SYSTEM, "canonical", "unitPrice", f"{at}.unitPrice")
    qty, code, price = mapping.quantity_out(line.quantity, line.unit, path, price=line.unit_price)
    _, _, mrp = mapping.quantity_out(
        line.quantity, line.unit, f"{at}.maxRetailPrice", price=line.mrp
    )
    default = mapping.file.units.default
    if default is None:
        raise MappingMissing(SYSTEM, "units", "default", path)
    if code != mapping.unit_out(default):
        raise CannotExpress(
            SYSTEM, path,
            f"the push has no unit field and its quantities are in {default} (units.default); "
            f"this line is in {line.unit or 'no stated unit'} (a units.convert row to "
            f"{default} would bring it there)",
        )  # fmt: skip
    assert qty is not None and price is not None
    return qty, price, mrp


def _exact_total(line: Line, qty: Decimal, price: Decimal) -> Decimal | None:
    """``quantity x unitPrice`` when nothing else can be in the total (see the module)."""
    extras = (line.discount, line.logistic_charges, line.taxes.tax)
    if all(value is not None and value == 0 for value in extras):
        return qty * price
    return None


def _number(
    name: str, value: Decimal | None, raw: dict[str, Any], mapping: Mapping, path: str
) -> Any:
    """The PO's number (as Uniware sent it, placeholder strings included), else the
    admin's ``defaults.<name>``; never 0 for an unknown."""
    sent = raw.get(name)
    if value is not None or isinstance(sent, str):
        return num(value, sent)
    return to_json_number(to_decimal(_not_null(mapping.default(name, path), path)))


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
