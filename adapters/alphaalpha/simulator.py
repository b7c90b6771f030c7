"""AlphaAlpha's purchase-order API, simulated under ``/api/v1/purchase-orders``.

What it enforces, and why:

- **Auth.** ``Authorization: Bearer <token>`` (config.yaml's ``bearer`` auth), compared in
  constant time; anything else is ``401``.
- **Errors.** Every failure is the document's ``{detail, time, title}`` with the HTTP
  reason phrase as ``title`` (the document gives no status codes; these are pohub's reading):
  ``400`` a body that breaks the adapter's schema (``detail`` names the JSON path and rule),
  ``404`` an unknown id or path, ``409`` an action the lifecycle refuses from the PO's status
  (``lifecycle.apply``), and whatever status a fault injects.
- **Bodies.** Remarks (cancel, reject-*, comment) are raw text, as the document's curl sends
  them, or a JSON string (``rules.remark_text``); comment's is required. A receive-goods
  must receive something, only products of the order, and never more than ordered (accepted
  plus rejected, over every receipt): ``400`` naming the entry.
- **State.** Create assigns an id (``AA-PO-000001``...) and status DRAFT; each action moves
  the status as ``adapters.alphaalpha.lifecycle`` says and appends an ``events[]`` entry.
  ``updated`` is strictly increasing across all orders, so sorting by it is total.
- **Reads.** ``GET /find/{id}``, ``GET|POST /dynamic-search`` (``page``/``size``, sort by
  ``updated`` or any top-level field, ``filters`` by top-level equality) in the documented
  page envelope, and ``GET /stats``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from adapters._sim import SimReply, SimRequest, Simulator, from_reply, same_secret
from adapters.alphaalpha import lifecycle, replies, rules
from adapters.alphaalpha.lifecycle import Action
from adapters.alphaalpha.schema import (
    SYSTEM,
    OrderRequestDoc,
    ReceiveGoodsDoc,
    SearchRequest,
)
from core.errors import InvalidInput, TransitionNotAllowed
from core.validation import validate_json

BASE = "/api/v1/purchase-orders"
DEFAULT_SIZE = 20
MAX_SIZE = 1000
USER = "pohub-simulator"
TENANT = "sim-tenant"
REMARK_FIELD = {
    Action.CANCEL: "cancellationReason",
    Action.REJECT_INTERNAL: "rejectionReason",
    Action.REJECT_SUPPLIER: "rejectionReason",
}


class AlphaalphaSimulator(Simulator):
    """AlphaAlpha's PO store with its lifecycle."""

    system = SYSTEM

    def __init__(self, secrets: dict[str, str]) -> None:
        super().__init__(secrets)
        self.orders: dict[str, dict[str, Any]] = {}
        self._sequence = 0
        self._event_sequence = 0
        self._last = datetime(2000, 1, 1, tzinfo=UTC)
        self.route("POST", BASE, self.create)
        self.route("GET", f"{BASE}/find/{{id}}", self.find)
        self.route("GET", f"{BASE}/dynamic-search", self.search_get)
        self.route("POST", f"{BASE}/dynamic-search", self.search_post)
        self.route("GET", f"{BASE}/stats", self.stats)
        self.route("PATCH", f"{BASE}/{{id}}", self.update)
        for action in Action:
            path = f"{BASE}/{{id}}/{action.value}"
            self.route(lifecycle.METHOD[action], path, self._action_handler(action))
        self.route("POST", f"{BASE}/{{id}}/comment", self.comment)

    # the system's envelopes -------------------------------------------------------------
    def authenticate(self, request: SimRequest) -> SimReply | None:
        expected = self.secrets.get("token")
        if expected is None or same_secret(request.header("authorization"), f"Bearer {expected}"):
            return None
        return self.error(401, "missing or wrong Bearer token in Authorization")

    def error(
        self, status: int, message: str, field: str | None = None, rule: str | None = None
    ) -> SimReply:
        """``{detail, time, title}`` at the simulator's clock (``replies.error_reply``)."""
        return from_reply(replies.error_reply(status, message, field, rule, self._now()))

    def reset(self) -> None:
        self.orders.clear()

    # routes -------------------------------------------------------------------------------
    def create(self, request: SimRequest) -> SimReply:
        invalid, body = self._order_body(request)
        if invalid is not None:
            return invalid
        self._sequence += 1
        po_id = f"AA-PO-{self._sequence:06d}"
        now = self._stamp()
        order: dict[str, Any] = {
            "id": po_id,
            "tenantId": TENANT,
            "status": lifecycle.INITIAL.value,
            "subsidiaryId": body.get("subsidiaryId"),
            "currency": "EUR",
            "created": now,
            "createdBy": USER,
            "updated": now,
            "updatedBy": USER,
            "events": [],
            "acceptedProducts": [],
            "rejectedProducts": [],
            "attachments": [],
            "sentMails": [],
        }
        self._set_products(order, body)
        self._event(order, "CREATE", "purchase order created", now)
        self.orders[po_id] = order
        return SimReply(201, copy.deepcopy(order))

    def find(self, request: SimRequest) -> SimReply:
        order = self.orders.get(request.params["id"])
        if order is None:
            return self._missing(request.params["id"])
        return SimReply(200, copy.deepcopy(order))

    def update(self, request: SimRequest) -> SimReply:
        po_id = request.params["id"]
        order = self.orders.get(po_id)
        if order is None:
            return self._missing(po_id)
        if lifecycle.status_of(order["status"]) in lifecycle.TERMINAL:
            return self.error(409, f"purchase order {po_id} is {order['status']}: it cannot change")
        invalid, body = self._order_body(request)
        if invalid is not None:
            return invalid
        if "subsidiaryId" in body:
            order["subsidiaryId"] = body["subsidiaryId"]
        self._set_products(order, body)
        self._touch(order, "UPDATE", "products updated")
        return SimReply(200, copy.deepcopy(order))

    def search_get(self, request: SimRequest) -> SimReply:
        query = request.query
        try:
            page = int(query.get("page", ["0"])[0])
            size = int(query.get("size", [str(DEFAULT_SIZE)])[0])
        except ValueError:
            return self.error(400, "page and size must be integers (int_parsing)", "$.page")
        sorts: list[tuple[str, bool]] = []
        for value in query.get("sort", []):
            name, _, direction = value.partition(",")
            sorts.append((name, direction.lower() != "desc"))
        filters: dict[str, object] = {
            k: v[0] for k, v in query.items() if k not in ("page", "size", "sort")
        }
        return self._search(page, size, sorts, filters)

    def search_post(self, request: SimRequest) -> SimReply:
        try:
            body = validate_json(SearchRequest, request.body or b"{}", SYSTEM)
        except InvalidInput as err:
            return self._invalid(err)
        sorts = [(s.field or "updated", s.ascending is not False) for s in body.sort or []]
        page = body.page if body.page is not None else 0
        size = body.size if body.size is not None else DEFAULT_SIZE
        return self._search(page, size, sorts, dict(body.filters or {}))

    def stats(self, request: SimRequest) -> SimReply:
        by_status: dict[str, int] = {}
        for order in self.orders.values():
            by_status[order["status"]] = by_status.get(order["status"], 0) + 1
        total = sum(float(o.get("total") or 0) for o in self.orders.values())
        count = len(self.orders)
        body = {
            "averageValue": total / count if count else 0.0,
            "numberByStatus": by_status,
            "totalOrders": count,
            "totalValue": total,
        }
        return SimReply(200, body)

    def comment(self, request: SimRequest) -> SimReply:
        po_id = request.params["id"]
        order = self.orders.get(po_id)
        if order is None:
            return self._missing(po_id)
        try:
            text = rules.remark_text(request.body, required=True)
        except InvalidInput as err:
            return self._invalid(err)
        self._touch(order, "COMMENT", text or "")
        return SimReply(200, copy.deepcopy(order))

    def _action_handler(self, action: Action) -> Any:
        def handler(request: SimRequest) -> SimReply:
            return self.act(action, request)

        return handler

    def act(self, action: Action, request: SimRequest) -> SimReply:
        """Check the body, then let ``lifecycle.apply`` say where the PO goes (or 409)."""
        po_id = request.params["id"]
        order = self.orders.get(po_id)
        if order is None:
            return self._missing(po_id)
        complete = True
        remark: str | None = None
        goods: Any = None
        received: dict[str, float] = {}
        try:
            if action in REMARK_FIELD:
                remark = rules.remark_text(request.body)
            elif action is Action.RECEIVE_GOODS:
                goods = validate_json(ReceiveGoodsDoc, request.body or b"{}", SYSTEM).root
                received = self._received(order, goods)
            elif action is Action.MARK_AS_SENT and not (request.form or {}).get("pdf"):
                raise InvalidInput.one(SYSTEM, "$.pdf", "missing", "multipart part pdf required")
        except InvalidInput as err:
            return self._invalid(err)
        current = order["status"]
        if action is Action.RECEIVE_GOODS:
            complete = all(
                received.get(p["productId"], 0.0) >= p["quantity"] for p in order["products"]
            )
        try:
            reached = lifecycle.apply(current, action, complete=complete)
        except TransitionNotAllowed:
            allowed = sorted(
                {s for a, froms, _ in lifecycle.TRANSITIONS if a == action for s in froms}
            )
            detail = (
                f"cannot {action.value} purchase order {po_id}: it is {current}"
                f" (allowed from {', '.join(allowed)})"
            )
            return self.error(409, detail)
        if action in REMARK_FIELD and remark is not None:
            order[REMARK_FIELD[action]] = remark
        if action is Action.MARK_AS_SENT:
            pdf = (request.form or {})["pdf"]
            order["pdf"] = {"blobId": f"blob-{po_id}", "name": pdf, "extension": "pdf"}
        if action is Action.RECEIVE_GOODS:
            self._book(order, goods)
        if action is Action.REINSTATE:
            order.pop("cancellationReason", None)
            order.pop("rejectionReason", None)
        order["status"] = reached.value
        self._touch(order, action.value.upper().replace("-", "_"), f"{current} -> {reached}")
        return SimReply(200, copy.deepcopy(order))

    # helpers ------------------------------------------------------------------------------
    def _order_body(self, request: SimRequest) -> tuple[SimReply | None, dict[str, Any]]:
        try:
            body = validate_json(OrderRequestDoc, request.body, SYSTEM).root
        except InvalidInput as err:
            return self._invalid(err), {}
        return None, dict(body)

    def _set_products(self, order: dict[str, Any], body: dict[str, Any]) -> None:
        products = []
        for item in body.get("products", []):
            price = float(item.get("price") or 0)
            quantity = float(item.get("quantity") or 0)
            products.append(
                {
                    "productId": item["productId"],
                    "productName": f"Product {item['productId']}",
                    "price": price,
                    "quantity": quantity,
                    "unit": item.get("unit"),
                    "currency": order["currency"],
                    "totalPrice": price * quantity,
                    "canReceive": True,
                }
            )
        order["products"] = products
        order["total"] = sum(p["totalPrice"] for p in products)
        order["amountUsed"] = 0.0
        order["percentageUsed"] = 0.0

    def _received(self, order: dict[str, Any], goods: Any) -> dict[str, float]:
        """Per product, everything arrived after this receipt (accepted plus rejected);
        raises for an empty receipt, a product not ordered, or more than ordered."""
        ordered = {p["productId"]: p["quantity"] for p in order.get("products", [])}
        arrived: dict[str, float] = {}
        for key in ("acceptedProducts", "rejectedProducts"):
            for p in order.get(key, []):
                arrived[p["productId"]] = arrived.get(p["productId"], 0.0) + p["quantity"]
        entries = [
            (f"$.{key}[{i}]", entry)
            for key in ("acceptedGoods", "rejectedGoods")
            for i, entry in enumerate(goods.get(key) or [])
        ]
        if not entries:
            raise InvalidInput.one(SYSTEM, "$.acceptedGoods", "not_empty", "nothing received")
        for at, entry in entries:
            pid = entry["productId"]
            if pid not in ordered:
                raise InvalidInput.one(SYSTEM, f"{at}.productId", "ordered",
                                       f"product {pid!r} is not on the order")  # fmt: skip
            arrived[pid] = arrived.get(pid, 0.0) + _quantity(entry)
            if arrived[pid] > ordered[pid] + 1e-9:
                message = f"{arrived[pid]:g} of {pid!r} received, {ordered[pid]:g} ordered"
                raise InvalidInput.one(SYSTEM, at, "not_above_ordered", message)
        return arrived

    def _book(self, order: dict[str, Any], goods: Any) -> None:
        """Add the receipt to ``acceptedProducts`` / ``rejectedProducts``."""
        for key, into in (
            ("acceptedGoods", "acceptedProducts"),
            ("rejectedGoods", "rejectedProducts"),
        ):
            totals = {p["productId"]: p["quantity"] for p in order.get(into, [])}
            for entry in goods.get(key) or []:
                pid = entry["productId"]
                totals[pid] = totals.get(pid, 0.0) + _quantity(entry)
            order[into] = [{"productId": k, "quantity": v} for k, v in totals.items()]

    def _search(
        self, page: int, size: int, sorts: list[tuple[str, bool]], filters: dict[str, object]
    ) -> SimReply:
        if page < 0:
            return self.error(400, "page must be at least 0 (greater_than_equal)", "$.page")
        if not 1 <= size <= MAX_SIZE:
            return self.error(400, f"size must be within 1..{MAX_SIZE} (range)", "$.size")
        found = [
            o
            for o in self.orders.values()
            if all(f is None or o.get(k) == f for k, f in filters.items())
        ]
        for name, ascending in reversed(sorts):
            found.sort(key=lambda o: _sort_key(o.get(name)), reverse=not ascending)
        chunk = [copy.deepcopy(o) for o in found[page * size : (page + 1) * size]]
        return SimReply(200, replies.page(chunk, page, size, len(found)))

    def _invalid(self, err: InvalidInput) -> SimReply:
        first = err.first
        return self.error(400, f"{first.message} ({first.rule})", first.path)

    def _missing(self, po_id: str) -> SimReply:
        return self.error(404, f"purchase order {po_id} does not exist")

    def _touch(self, order: dict[str, Any], kind: str, description: str) -> None:
        now = self._stamp()
        order["updated"], order["updatedBy"] = now, USER
        self._event(order, kind, description, now)

    def _event(self, order: dict[str, Any], kind: str, description: str, when: str) -> None:
        self._event_sequence += 1
        event = {"authorId": USER, "date": when, "description": description, "type": kind}
        order["events"].append({"id": f"EV-{self._event_sequence:06d}", **event})

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _stamp(self) -> str:
        """A timestamp later than every earlier one (ms resolution), as ``...Z``."""
        now = self._now()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last:
            now = self._last + timedelta(milliseconds=1)
        self._last = now
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _quantity(entry: Any) -> float:
    return sum(float(split["quantity"]) for split in entry.get("uomSplit") or [])


def _sort_key(value: Any) -> tuple[int, str]:
    """None first, everything else by its JSON text (ISO dates sort as text)."""
    if value is None:
        return (0, "")
    if isinstance(value, int | float):
        return (1, f"{value:030.6f}")
    return (2, value if isinstance(value, str) else orjson.dumps(value).decode())
