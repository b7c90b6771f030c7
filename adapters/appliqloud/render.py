"""Canonical event -> AppliQloud bulk update (one ``PUT`` carrying this one PO).

A value read from AppliQloud is written back as it came (its own ids ride in ``ids`` /
``product_ids`` / ``extensions``); anything else goes through the crosswalks, and the
defaults fill only what the document requires and the source lacks (never an id of a
vendor or product: those raise ``MappingMissing``).
"""

from __future__ import annotations

from typing import Any

from adapters._wire import num
from adapters.appliqloud.schema import ASCRIPTIONS, ITEM_TYPES, PATH, PO_TYPES, SYSTEM
from core.adapter import Call, RenderContext, Rendered
from core.dates import format_date
from core.errors import MappingMissing
from core.mapping.tables import Mapping
from core.model import Line, PoEvent, PurchaseOrder
from core.state import full_po

HEADER = "$.inputs[0].header"


def render(event: PoEvent, ctx: RenderContext) -> Rendered:
    po = full_po(event, ctx.state, SYSTEM)
    ext = po.extensions.get(SYSTEM, {})
    body: dict[str, Any] = {"inputs": [render_input(po, ctx.mapping)]}
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


def render_input(po: PurchaseOrder, mapping: Mapping) -> dict[str, Any]:
    """One element of ``inputs``. Lines go under ``items`` (the example's and the reply's key)
    unless the PO was read from a payload that used ``details``."""
    ext = po.extensions.get(SYSTEM, {})
    header: dict[str, Any] = {
        "purchaseOrderId": po.po_number,
        "purchaseOrderType": _po_type(po, ext, mapping),
        "accountingEntityId": _buyer(po, mapping),
        "vendorBusinessPartnerId": po.supplier.ids.get(SYSTEM)
        or mapping.lookup("vendor", po.supplier.code, f"{HEADER}.vendorBusinessPartnerId"),
        "currencyId": po.currency or mapping.default("currencyId"),
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


def _po_type(po: PurchaseOrder, ext: dict[str, Any], mapping: Mapping) -> str:
    """The type as sent, else the ``po_type`` row, else the type itself if it is one of the
    document's (LOCAL, IMPORT), else the default (Uniware's ``Manual`` has no equivalent)."""
    sent = ext.get("purchaseOrderType")
    if sent is not None and (mapping.reverse("po_type", sent) or sent) == po.po_type:
        return str(sent)
    rows = mapping.file.crosswalks.get("po_type", {})
    if po.po_type in rows:
        return rows[po.po_type]
    if po.po_type in PO_TYPES:
        return po.po_type
    return str(mapping.default("purchaseOrderType"))


def _buyer(po: PurchaseOrder, mapping: Mapping) -> str:
    """AppliQloud's entity id, else the ``buyer`` row, else the default entity: the document
    requires one, and a buyer is the hub's own company, not a partner to be crosswalked."""
    own = po.buyer.ids.get(SYSTEM)
    if own is not None:
        return own
    if po.buyer.code in mapping.file.crosswalks.get("buyer", {}):
        return mapping.lookup("buyer", po.buyer.code)
    return str(mapping.default("accountingEntityId"))


def _item(path: str, line: Line, po: PurchaseOrder, mapping: Mapping) -> dict[str, Any]:
    ext = line.extensions.get(SYSTEM, {})
    item_type = line.item_type if line.item_type in ITEM_TYPES else mapping.default("itemType")
    ascription = _ascription(line, item_type, mapping)
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
        "quantity": _required(num(line.quantity), path, "quantity"),
        "unitId": _unit(line, ext, mapping),
        "netUnitPrice": _required(num(line.unit_price), path, "netUnitPrice"),
    }
    for name in ext.get("absent", ()):
        if item[name] is None:
            del item[name]
    item.update(ext.get("extra", {}))
    return item


def _ascription(line: Line, item_type: str, mapping: Mapping) -> str:
    """Document: "itemTypes with value SERVICE must have an ascriptionType value of EXPENSE"."""
    if line.ascription in ASCRIPTIONS:
        return line.ascription
    if item_type == "SERVICE":
        return "EXPENSE"
    return str(mapping.default("ascriptionType"))


def _group(path: str, line: Line, ext: dict[str, Any], mapping: Mapping) -> str:
    """The group sent with this line's product, else the ``product_group`` row of the SKU."""
    sent = ext.get("productGroupId")
    if sent is not None and line.product_ids.get(SYSTEM) is not None:
        return str(sent)
    return mapping.lookup("product_group", line.sku, f"{path}.productGroupId")


def _location(
    path: str, line: Line, ext: dict[str, Any], ascription: str, mapping: Mapping
) -> str | None:
    """Document: locationId is required for INVENTORY lines (see ``rules``), else optional."""
    sent = ext.get("locationId")
    if sent is not None and mapping.reverse("location", sent) == line.location:
        return str(sent)
    if line.location is not None:
        return mapping.lookup("location", line.location, f"{path}.locationId")
    if ascription == "INVENTORY":
        return str(mapping.default("locationId"))
    return None


def _unit(line: Line, ext: dict[str, Any], mapping: Mapping) -> str | None:
    """The unitId as sent when the line still has the unit it was read as."""
    sent = ext.get("unitId")
    if "unitId" in ext and mapping.unit_in(sent) == line.unit:
        return None if sent is None else str(sent)
    return mapping.unit_out(line.unit)


def _required(value: Any, item_path: str, name: str) -> Any:
    """A number the document requires and the canonical PO lacks: nothing to write."""
    if value is None:
        raise MappingMissing(SYSTEM, "canonical", name, f"{item_path}.{name}")
    return value
