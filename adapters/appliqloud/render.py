"""Canonical event -> AppliQloud bulk update (one ``PUT`` carrying this one PO).

Every value written has a source: the PO (AppliQloud's own ids ride in ``ids`` /
``product_ids`` / ``extensions`` and come back as they were read), a crosswalk row, a default
an admin wrote under ``defaults:`` in the mapping, or the id AppliQloud confirmed for the PO.
Anything else raises ``MappingMissing`` (the delivery parks until the row or default exists)
or ``CannotExpress`` (the update has no way to say it: a fractional quantity in the int
``quantity``, a cancelled line, a net price that does not divide exactly).
"""

from __future__ import annotations

from decimal import Decimal, Inexact, localcontext
from typing import Any

from adapters._wire import num
from adapters.appliqloud.schema import ASCRIPTIONS, ITEM_TYPES, PATH, PO_TYPES, SYSTEM
from core.adapter import Call, RenderContext, Rendered
from core.dates import format_date
from core.errors import CannotExpress, MappingMissing
from core.mapping.tables import Mapping
from core.model import EventKind, Line, PoEvent, PoStatus, PurchaseOrder
from core.state import full_po

HEADER = "$.inputs[0].header"


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    po = full_po(event, ctx.state, SYSTEM)
    ext = po.extensions.get(SYSTEM, {})
    po_id = purchase_order_id(event, po, ctx.remote.remote_id)
    body: dict[str, Any] = {"inputs": [render_input(po, ctx.mapping, po_id)]}
    body.update(ext.get("envelopeExtra", {}))
    return Rendered(SYSTEM, [Call("PUT", PATH, body)], ctx.mapping.version)


def combine(rendered: list[Rendered]) -> dict[str, Any]:
    """The bulk document: every rendered PO in one ``inputs`` array, in order."""
    inputs: list[Any] = []
    envelope: dict[str, Any] = {}
    for plan in rendered:
        for call in plan.calls:
            inputs.extend(call.json["inputs"])
            envelope.update((k, v) for k, v in call.json.items() if k != "inputs")
    return {"inputs": inputs, **envelope}


def purchase_order_id(event: PoEvent, po: PurchaseOrder, learnt: str | None = None) -> str:
    """The PO as AppliQloud knows it. The document's update only changes a PO its backend
    holds (else ``PurchaseOrderNotFoundException``) and says nothing of amendments, so a PO
    that amends an earlier one is written as an update of the original's id; once AppliQloud
    has confirmed an id for this PO (``learnt``, or read from it) that id is used."""
    if learnt:
        return learnt
    own = po.remote_ids.get(SYSTEM)
    if own:
        return own
    if po.amended_po_number:
        return po.amended_po_number
    if event.kind is EventKind.AMENDED:
        raise CannotExpress(
            SYSTEM, f"{HEADER}.purchaseOrderId",
            f"PO {po.po_number!r} is an amendment that names no original PO; AppliQloud's "
            "update can only address a PO it holds",
        )  # fmt: skip
    return po.po_number


def render_input(po: PurchaseOrder, mapping: Mapping, po_id: str | None = None) -> dict[str, Any]:
    """One element of ``inputs``. Lines go under ``items`` (the example's and the reply's key)
    unless the PO was read from a payload that used ``details``."""
    ext = po.extensions.get(SYSTEM, {})
    header: dict[str, Any] = {
        "purchaseOrderId": po_id or po.po_number,
        "purchaseOrderType": _po_type(po, ext, mapping),
        "accountingEntityId": _buyer(po, mapping),
        "vendorBusinessPartnerId": po.supplier.ids.get(SYSTEM)
        or mapping.lookup("vendor", po.supplier.code, f"{HEADER}.vendorBusinessPartnerId"),
        "currencyId": po.currency or _default(mapping, "currencyId", f"{HEADER}.currencyId"),
    }
    header.update(ext.get("extra", {}))
    key = ext.get("linesKey", "items")
    out: dict[str, Any] = {
        "header": header,
        key: [
            _item(f"$.inputs[0].{key}[{i}]", line, po, mapping) for i, line in enumerate(po.lines)
        ],
    }
    out.update(ext.get("inputExtra", {}))
    return out


# header ------------------------------------------------------------------------------------
def _po_type(po: PurchaseOrder, ext: dict[str, Any], mapping: Mapping) -> str:
    """The type as read from AppliQloud, else the PO's type if it is the document's own
    (LOCAL, IMPORT), else its ``po_type`` row, else ``defaults.purchaseOrderType``."""
    path = f"{HEADER}.purchaseOrderType"
    sent = ext.get("purchaseOrderType")
    if sent is not None and (mapping.reverse("po_type", sent) or sent) == po.po_type:
        return str(sent)
    if po.po_type in PO_TYPES:
        return str(po.po_type)
    value = _row_or_default(mapping, "po_type", po.po_type, "purchaseOrderType", path)
    return _member(value, PO_TYPES, path, f"po_type {po.po_type!r}")


def _buyer(po: PurchaseOrder, mapping: Mapping) -> str:
    """AppliQloud's entity id, else the ``buyer`` row, else ``defaults.accountingEntityId``."""
    own = po.buyer.ids.get(SYSTEM)
    if own is not None:
        return own
    path = f"{HEADER}.accountingEntityId"
    return _row_or_default(mapping, "buyer", po.buyer.code, "accountingEntityId", path)


# items -------------------------------------------------------------------------------------
def _item(path: str, line: Line, po: PurchaseOrder, mapping: Mapping) -> dict[str, Any]:
    _still_ordered(path, line)
    ext = line.extensions.get(SYSTEM, {})
    item_type = _item_type(path, line, mapping)
    ascription = _ascription(path, line, item_type, mapping)
    quantity, unit, price = _quantity(path, line, ext, mapping)
    when = line.required_delivery_date or po.delivery_date
    item: dict[str, Any] = {
        "itemId": line.line_number,
        "itemType": item_type,
        "ascriptionType": ascription,
        "productGroupId": _group(path, line, ext, mapping),
        "productId": line.product_ids.get(SYSTEM)
        or mapping.lookup("product", line.sku, f"{path}.productId"),
        "locationId": _location(path, line, ext, ascription, mapping),
        "storageId": line.storage,
        "requiredDeliveryDate": format_date(when, mapping.timezone) if when else None,
        "quantity": num(quantity),
        "unitId": unit,
        "netUnitPrice": num(price),
    }
    for name in ext.get("absent", ()):
        if item[name] is None:
            del item[name]
    item.update(ext.get("extra", {}))
    return item


def _still_ordered(path: str, line: Line) -> None:
    """The update has no line status, and the document does not say whether a position left
    out of ``items`` is removed: a cancelled line can be neither sent nor dropped."""
    if line.status is PoStatus.CANCELLED:
        raise CannotExpress(
            SYSTEM, path,
            f"line {line.line_number!r} is CANCELLED; AppliQloud's update has no line status "
            "and its document does not say that leaving a position out removes it",
        )  # fmt: skip


def _item_type(path: str, line: Line, mapping: Mapping) -> str:
    """The line's own type, else the SKU's ``item_type`` row, else ``defaults.itemType``."""
    where = f"{path}.itemType"
    if line.item_type is not None:
        return _member(line.item_type, ITEM_TYPES, where, f"line {line.line_number!r}")
    value = _row_or_default(mapping, "item_type", line.sku, "itemType", where)
    return _member(value, ITEM_TYPES, where, f"SKU {line.sku!r}")


def _ascription(path: str, line: Line, item_type: str, mapping: Mapping) -> str:
    """The line's own, else the SKU's ``ascription`` row, else EXPENSE for a SERVICE line
    (document: "itemTypes with value SERVICE must have an ascriptionType value of EXPENSE"),
    else ``defaults.ascriptionType``. INVENTORY with SERVICE is never written."""
    where = f"{path}.ascriptionType"
    rows = mapping.file.crosswalks.get("ascription", {})
    if line.ascription is not None:
        value = _member(line.ascription, ASCRIPTIONS, where, f"line {line.line_number!r}")
    elif line.sku in rows:
        value = _member(rows[str(line.sku)], ASCRIPTIONS, where, f"SKU {line.sku!r}")
    elif item_type == "SERVICE":
        return "EXPENSE"
    else:
        default = _row_or_default(mapping, "ascription", line.sku, "ascriptionType", where)
        value = _member(default, ASCRIPTIONS, where, "defaults.ascriptionType")
    if value == "INVENTORY" and item_type != "GOODS":
        raise CannotExpress(
            SYSTEM, where,
            f"line {line.line_number!r} is {item_type}; the document allows INVENTORY only "
            "with GOODS (SERVICE must be EXPENSE)",
        )  # fmt: skip
    return value


def _group(path: str, line: Line, ext: dict[str, Any], mapping: Mapping) -> str:
    """The group sent with this line's product, else the ``product_group`` row of the SKU."""
    sent = ext.get("productGroupId")
    if sent is not None and line.product_ids.get(SYSTEM) is not None:
        return str(sent)
    return mapping.lookup("product_group", line.sku, f"{path}.productGroupId")


def _location(
    path: str, line: Line, ext: dict[str, Any], ascription: str, mapping: Mapping
) -> str | None:
    """Document: locationId is required for INVENTORY lines (see ``rules``), else optional
    (its default is null)."""
    sent = ext.get("locationId")
    if sent is not None and mapping.reverse("location", sent) == line.location:
        return str(sent)
    if line.location is not None:
        return mapping.lookup("location", line.location, f"{path}.locationId")
    if ascription == "INVENTORY":
        return _default(mapping, "locationId", f"{path}.locationId")
    return None


def _quantity(
    path: str, line: Line, ext: dict[str, Any], mapping: Mapping
) -> tuple[Decimal, str | None, Decimal]:
    """(quantity, unitId, netUnitPrice). ``quantity`` is an int in the document: a
    ``units.convert`` row may rescale it (dividing the price), else a fraction is refused."""
    if line.quantity is None:
        raise CannotExpress(
            SYSTEM, f"{path}.quantity", f"line {line.line_number!r} states no quantity; "
            "the document requires one (no null)",
        )  # fmt: skip
    price = line.net_unit_price if line.net_unit_price is not None else _net(path, line)
    quantity, code, net = mapping.quantity_out(
        line.quantity, line.unit, f"{path}.quantity", integer=True, price=price
    )
    assert quantity is not None and net is not None
    converted = line.unit is not None and line.unit in mapping.file.units.convert
    return quantity, code if converted else _unit(line, ext, mapping), net


def _net(path: str, line: Line) -> Decimal:
    """The net unit price from a gross one: (quantity x unit price - line discount + line
    logistic charges) / quantity, taxes excluded. Exact, or ``CannotExpress``: a rounded
    price would make AppliQloud's netTotalPrice differ from the source's total."""
    where = f"{path}.netUnitPrice"
    gross, quantity = line.unit_price, line.quantity
    if gross is None:
        raise CannotExpress(
            SYSTEM, where,
            f"line {line.line_number!r} states no price; the document requires one (no null)",
        )  # fmt: skip
    assert quantity is not None
    discount = line.discount
    if discount is None and line.discount_percent:
        discount = quantity * gross * line.discount_percent / 100
    adjust = (line.logistic_charges or Decimal(0)) - (discount or Decimal(0))
    if not adjust:
        return gross
    if not quantity:
        raise CannotExpress(
            SYSTEM, where, f"line {line.line_number!r} has quantity 0: no unit price for its "
            f"discount/charges of {adjust}",
        )  # fmt: skip
    total = quantity * gross + adjust
    with localcontext() as exact:
        exact.traps[Inexact] = True
        try:
            return total / quantity
        except Inexact:
            raise CannotExpress(
                SYSTEM, where,
                f"line {line.line_number!r}: net amount {total} (after discount and logistic "
                f"charges) over quantity {quantity} is not an exact unit price",
            ) from None  # fmt: skip


def _unit(line: Line, ext: dict[str, Any], mapping: Mapping) -> str | None:
    """The unitId as sent when the line still has the unit it was read as."""
    sent = ext.get("unitId")
    if "unitId" in ext and mapping.unit_in(sent) == line.unit:
        return None if sent is None else str(sent)
    return mapping.unit_out(line.unit)


# mapping helpers -----------------------------------------------------------------------------
def _row_or_default(mapping: Mapping, table: str, key: str | None, default: str, path: str) -> str:
    """``crosswalks.<table>[key]``, else ``defaults.<default>`` if an admin wrote one, else
    the missing row parks the delivery (the missing default, when there is no key)."""
    rows = mapping.file.crosswalks.get(table, {})
    if key is not None and key in rows:
        return rows[key]
    if key is None or mapping.has_default(default):
        return _default(mapping, default, path)
    raise MappingMissing(SYSTEM, f"crosswalks.{table}", key, path)


def _default(mapping: Mapping, name: str, path: str) -> str:
    """A default for a field the document requires without null: null cannot stand for it."""
    value = mapping.default(name, path)
    if value is None:
        raise CannotExpress(
            SYSTEM, path, f"defaults.{name} is null and the document requires a value here"
        )
    return str(value)


def _member(value: str, allowed: frozenset[str], path: str, source: str) -> str:
    """A value for one of the document's enums; anything else is not AppliQloud's to read."""
    if value not in allowed:
        raise CannotExpress(
            SYSTEM,
            path,
            f"{source} gives {value!r}; the document allows {', '.join(sorted(allowed))}",
        )
    return value
