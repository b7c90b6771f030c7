"""AlphaAlpha documents -> canonical events.

What a body is depends on the request path, which the gateway passes in the ``X-Pohub-Path``
header (the path as received, e.g. ``/api/v1/purchase-orders/{id}/cancel``):

- no header: a full PO object (``GET /find/{id}``, every action's reply), or a JSON array
  of them (``find``, ``find-all``, ``find-list``): one UPDATED event with the whole PO each;
- ``.../dynamic-search``, ``.../page``: a page, one event per PO of its ``content``;
- ``POST /api/v1/purchase-orders``: a create request. It carries no id, so the hub's answer
  assigns one and the gateway passes it in ``X-Pohub-Id``;
- ``PATCH /api/v1/purchase-orders/{id}``: the same body, an edit of order ``id``;
- ``.../{id}/<action>``: a lifecycle action, read as a status-only event; ``receive-goods``
  as the goods it brings (``GOODS_RECEIVED``, no status: the hub's totals decide it);
- ``.../{id}/comment``: a remark, ``COMMENTED``.

Remark bodies (cancel, reject-*, comment) are raw text as the document's curl sends them,
or a JSON string (``rules.remark_text``).

AlphaAlpha has no PO number: ``po_number`` is its ``id`` (the store keeps the hub's number).
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from decimal import Decimal
from typing import Any

from pydantic import RootModel

from adapters.alphaalpha import lifecycle, rules
from adapters.alphaalpha.lifecycle import Action
from adapters.alphaalpha.schema import (
    SYSTEM,
    MarkAsSentDoc,
    OrderRequest,
    OrderRequestDoc,
    PageDoc,
    PurchaseOrder,
    PurchaseOrderDoc,
    PurchaseOrderList,
    ReceiveGoods,
    ReceiveGoodsDoc,
)
from core.errors import FieldError, InvalidInput
from core.mapping.tables import Mapping
from core.model import EventKind, LineReceipt, PoEvent, StatusChange
from core.validation import validate_json

PATH_HEADER = "x-pohub-path"
ID_HEADER = "x-pohub-id"
RESOURCE = "/purchase-orders"

PO_KEYS = (
    "id", "supplierId", "supplierEmail", "subsidiaryId", "products", "currency", "total",
    "status", "created", "updated", "expectedDeliveryDate", "createdBy",
)  # fmt: skip
"""PO object keys with a canonical home; every other key rides in ``extensions``."""
DATES = {"created": "created_at", "updated": "updated_at", "expectedDeliveryDate": "delivery_date"}
PRODUCT_KEYS = ("productId", "quantity", "unit", "totalPrice", "productName")
REQUEST_KEYS: tuple[str, ...] = ("price", "productId", "quantity", "unit")
_LISTS = frozenset({"find", "find-all", "find-list"})
_PAGES = frozenset({"dynamic-search", "page"})
_RESERVED = frozenset({"csv-export", "delete-list", "empty", "stats"}) | _LISTS | _PAGES
"""Collection paths that are not an ``{id}``."""
_REMARKS = frozenset({Action.CANCEL, Action.REJECT_INTERNAL, Action.REJECT_SUPPLIER})
COMMENT = "comment"
"""``POST /purchase-orders/{id}/comment`` (``body*string``): a remark, no lifecycle move."""


def parse(
    body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None
) -> list[PoEvent]:
    head = {k.lower(): v for k, v in (headers or {}).items()}
    path = head.get(PATH_HEADER)
    if path is None:
        return _objects(body, mapping)
    parts = _segments(path)
    if not parts:
        return [_request(body, mapping, rules.path_id(head.get(ID_HEADER)), EventKind.CREATED)]
    first, rest = parts[0], parts[1:]
    if first in _LISTS and not rest:
        return _list(body, mapping)
    if first in _PAGES and not rest:
        return _page(body, mapping)
    if (first == "find" and len(rest) == 1) or rest == ["enriched"]:
        return _objects(body, mapping)
    if not rest and first not in _RESERVED:
        return [_request(body, mapping, rules.path_id(first), EventKind.UPDATED)]
    if rest == [COMMENT]:
        return [_comment(body, rules.path_id(first))]
    if len(rest) == 1 and rest[0] in lifecycle.METHOD:
        return [_action(body, mapping, rules.path_id(first), Action(rest[0]))]
    raise InvalidInput.one(
        SYSTEM, "$", "unsupported_path", f"pohub reads no purchase-order event from {path!r}"
    )


def _segments(path: str) -> list[str]:
    """The path segments after ``/purchase-orders`` (``[]`` for the collection itself)."""
    at = path.find(RESOURCE)
    if at < 0:
        raise InvalidInput.one(SYSTEM, "$", "unsupported_path", f"not a PO path: {path!r}")
    rest = path[at + len(RESOURCE) :].split("?", 1)[0].rstrip("/")
    return rest.split("/")[1:] if rest else []


def _validate(model: type[RootModel[Any]], body: bytes) -> Any:
    """The document, validated straight from the bytes (the ``TypedDict`` tree comes out as
    plain dicts: nothing to dump back for ``extensions``)."""
    return validate_json(model, body, SYSTEM).root


def _objects(body: bytes, mapping: Mapping) -> list[PoEvent]:
    if body.lstrip()[:1] == b"[":
        return _list(body, mapping)
    return [read_po(_validate(PurchaseOrderDoc, body), mapping)]


def _list(body: bytes, mapping: Mapping) -> list[PoEvent]:
    pos: list[PurchaseOrder] = _validate(PurchaseOrderList, body)
    return [read_po(po, mapping, f"$[{i}]") for i, po in enumerate(pos)]


def _page(body: bytes, mapping: Mapping) -> list[PoEvent]:
    pos: list[PurchaseOrder] = _validate(PageDoc, body)["content"]
    return [read_po(po, mapping, f"$.content[{i}]") for i, po in enumerate(pos)]


# -- the full PO object ---------------------------------------------------------------------
def read_po(wire: PurchaseOrder, mapping: Mapping, at: str = "$") -> PoEvent:
    """One PO object -> an UPDATED event carrying the whole PO (its ``updated`` as the time).

    The event is validated once from plain dicts: cheaper than a model per line and party.
    """
    dates = rules.po_dates(wire, at)
    po = {
        "po_number": wire["id"],
        "buyer": _party(mapping, "buyer", wire.get("subsidiaryId")),
        "supplier": _party(mapping, "vendor", wire.get("supplierId"), wire.get("supplierEmail")),
        "created_at": dates["created"],
        "created_by": wire.get("createdBy"),
        "updated_at": dates["updated"],
        "delivery_date": dates["expectedDeliveryDate"],
        "currency": wire.get("currency"),
        "total": _num(wire.get("total")),
        "status": mapping.status_in_checked(wire.get("status"), f"{at}.status"),
        "source_status": wire.get("status"),
        "remote_ids": {SYSTEM: wire["id"]},
        "lines": [_line(i, p, mapping) for i, p in enumerate(wire.get("products") or ())],
        "extensions": {SYSTEM: _po_extensions(wire)},
    }
    return PoEvent.model_validate({
        "kind": EventKind.UPDATED,
        "po_number": wire["id"],
        "source_system": SYSTEM,
        "occurred_at": dates["updated"] or dates["created"],
        "po": po,
    })  # fmt: skip


def _party(
    mapping: Mapping, table: str, own_id: str | None, email: str | None = None
) -> dict[str, Any]:
    ids = {SYSTEM: own_id} if own_id is not None else {}
    return {"code": mapping.reverse(table, own_id), "email": email, "ids": ids}


def _po_extensions(wire: PurchaseOrder) -> dict[str, Any]:
    """What the PO object says beyond the canonical fields, and how it said the rest."""
    ext: dict[str, Any] = {
        "shape": "object",
        "rest": _without(wire, PO_KEYS),
        "dates": {k: v for k in DATES if (v := wire.get(k)) is not None},
    }
    if "status" in wire:
        ext["status"] = wire["status"]
    absent = [k for k in PO_KEYS if k not in wire]
    if absent:
        ext["absent"] = absent
    return ext


def _line(index: int, item: Any, mapping: Mapping, request: bool = False) -> dict[str, Any]:
    """A PO object's product (``Product``) or a request's (``RequestProduct``)."""
    price = "price"
    keys: tuple[str, ...] = REQUEST_KEYS
    if not request:
        # Action replies say `price`, find/search replies `pricePerUnit`: keep the one that came.
        if "price" not in item and "pricePerUnit" in item:
            price = "pricePerUnit"
        keys = (*PRODUCT_KEYS, price)
    ext: dict[str, Any] = {"rest": _without(item, keys)}
    if price != "price":
        ext["priceKey"] = price
    if "unit" in item:
        ext["unit"] = item["unit"]
    absent = [k for k in keys if k not in item]
    if absent:
        ext["absent"] = absent
    product_id = item.get("productId")
    return {
        "line_number": str(index + 1),
        "sku": mapping.reverse("product", product_id),
        "product_name": item.get("productName"),
        "product_ids": {SYSTEM: product_id} if product_id is not None else {},
        "quantity": _num(item.get("quantity")),
        "unit": mapping.unit_in(item.get("unit")),
        "unit_price": _num(item.get(price)),
        "total": _num(item.get("totalPrice")),
        "extensions": {SYSTEM: ext},
    }


def _without(raw: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """``raw`` minus ``keys`` (a copy and a few pops beat filtering every key)."""
    out = dict(raw)
    for key in keys:
        out.pop(key, None)
    return out


def _num(value: float | None) -> Decimal | None:
    """A schema-checked JSON number to Decimal (``Num`` admits only float or int)."""
    if value is None:
        return None
    return Decimal(repr(value)) if type(value) is float else Decimal(value)


# -- requests to the hub as AlphaAlpha ------------------------------------------------------
def _request(body: bytes, mapping: Mapping, po_id: str, kind: EventKind) -> PoEvent:
    """Create (a new DRAFT, as the create reply shows) or patch (no status change) of ``po_id``."""
    wire: OrderRequest = _validate(OrderRequestDoc, body)
    ext: dict[str, Any] = {"shape": "request", "rest": _without(wire, ("products", "subsidiaryId"))}
    if "subsidiaryId" not in wire:
        ext["absent"] = ["subsidiaryId"]
    status = None
    if kind is EventKind.CREATED:
        status = ext["status"] = lifecycle.INITIAL.value
    po = {
        "po_number": po_id,
        "buyer": _party(mapping, "buyer", wire.get("subsidiaryId")),
        # a request names no currency: the order is priced in what the operator declared
        "currency": mapping.default_or("currency"),
        "status": mapping.status_in(status),
        "source_status": status,
        "remote_ids": {SYSTEM: po_id},
        "lines": [_line(i, p, mapping, request=True) for i, p in enumerate(wire["products"])],
        "extensions": {SYSTEM: ext},
    }
    return PoEvent.model_validate(
        {"kind": kind, "po_number": po_id, "source_system": SYSTEM, "po": po}
    )


def _action(body: bytes, mapping: Mapping, po_id: str, action: Action) -> PoEvent:
    """A lifecycle call -> the status it leads to (pohub's reading, see ``lifecycle``)."""
    if action is Action.RECEIVE_GOODS:
        return _goods_received(body, mapping, po_id)
    remarks = None
    ext: dict[str, Any] = {}
    if action in _REMARKS:
        remarks = rules.remark_text(body)  # `body?string`: may be empty
    elif action is Action.MARK_AS_SENT:
        ext["body"] = _validate(MarkAsSentDoc, body)
    code = next(to for act, _, to in lifecycle.TRANSITIONS if act is action).value
    return PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number=po_id,
        source_system=SYSTEM,
        status_change=StatusChange(to_status=mapping.status_in(code), source_to_status=code),
        remote_ids={SYSTEM: po_id},
        action=action.value,
        remarks=remarks,
        extensions={SYSTEM: ext} if ext else {},
    )


def _comment(body: bytes, po_id: str) -> PoEvent:
    return PoEvent(
        kind=EventKind.COMMENTED,
        po_number=po_id,
        source_system=SYSTEM,
        remote_ids={SYSTEM: po_id},
        action=COMMENT,
        remarks=rules.remark_text(body, required=True),
    )


# -- receive-goods --------------------------------------------------------------------------
_RECEIVED = (("acceptedGoods", "accepted"), ("rejectedGoods", "rejected"))
"""The goods lists that count as arrived; ``shortageGoods`` (what did not come) is carried
in ``extensions`` only: the canonical receipt has no shortage."""


def _goods_received(body: bytes, mapping: Mapping, po_id: str) -> PoEvent:
    """What arrived, per product: this receipt's own quantities (not totals, no status).

    AlphaAlpha names products, not lines: each receipt carries the ``productId`` (and the hub
    SKU it reads back to) and ``core.state.resolve_receipts`` finds the PO's line for it.
    Accepted and rejected goods of one product in one unit are one receipt, at the path that
    named them first.
    """
    goods: ReceiveGoods = _validate(ReceiveGoodsDoc, body)
    receipts: dict[tuple[str, str | None], dict[str, Any]] = {}
    errors: list[FieldError] = []
    lists = {
        "acceptedGoods": goods.get("acceptedGoods"),
        "rejectedGoods": goods.get("rejectedGoods"),
    }
    for key, field in _RECEIVED:
        for i, entry in enumerate(lists[key] or ()):
            at = f"$.{key}[{i}]"
            found = _split_total(entry, at, errors)
            if found is None:
                continue
            quantity, code = found
            pid = entry["productId"]
            unit = mapping.unit_in(code)
            receipt = receipts.setdefault((pid, unit), _receipt(pid, unit, at, mapping))
            receipt[field] += quantity
    if errors:
        raise InvalidInput(SYSTEM, errors)
    return PoEvent(
        kind=EventKind.GOODS_RECEIVED,
        po_number=po_id,
        source_system=SYSTEM,
        remote_ids={SYSTEM: po_id},
        action=Action.RECEIVE_GOODS.value,
        receipts=[LineReceipt.model_validate(r) for r in receipts.values()],
        extensions={SYSTEM: {"body": goods}},
    )


def _receipt(pid: str, unit: str | None, at: str, mapping: Mapping) -> dict[str, Any]:
    sku = mapping.reverse("product", pid)
    return {"product_id": pid, "sku": sku, "accepted": Decimal(0), "rejected": Decimal(0),
            "unit": unit, "path": at}  # fmt: skip


def _split_total(
    entry: Any, at: str, errors: list[FieldError]
) -> tuple[Decimal, str | None] | None:
    """The quantity of one goods entry (the sum of its ``uomSplit``) and its one unit code.

    The quantity is only in ``uomSplit``; a split names the entry's product in one unit
    (the entry's ``unit`` when the split has none). Anything else is refused at its path.
    """
    splits = entry.get("uomSplit") or []
    if not splits:
        errors.append(FieldError(f"{at}.uomSplit", "missing", "no quantity: uomSplit is empty"))
        return None
    units = {s.get("unit") or entry.get("unit") for s in splits}
    bad = len(errors)
    for j, split in enumerate(splits):
        where = f"{at}.uomSplit[{j}]"
        if split["productId"] != entry["productId"]:
            message = f"split of {entry['productId']!r} names product {split['productId']!r}"
            errors.append(FieldError(f"{where}.productId", "same_product", message))
        if split["quantity"] < 0:
            errors.append(FieldError(f"{where}.quantity", "not_negative", "a negative quantity"))
    if len(units) > 1:
        message = f"one entry in several units: {sorted(map(str, units))}"
        errors.append(FieldError(f"{at}.uomSplit", "one_unit", message))
    if len(errors) > bad:
        return None
    total = sum((_num(s["quantity"]) or Decimal(0) for s in splits), Decimal(0))
    return total, units.pop()
