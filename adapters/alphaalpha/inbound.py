"""AlphaAlpha's drop-in inbound façade under ``/api/v1/purchase-orders``.

The document has no push: a sender that speaks AlphaAlpha's API is pointed at the hub and
calls create, ``PATCH /{id}`` and the lifecycle actions with their documented methods.
``parse`` reads a body by its path, so ``prepare`` hands it ``X-Pohub-Path`` (and, for a
create, the id the hub assigns in ``X-Pohub-Id``); ``mark-as-sent`` is a multipart form in
the document, turned into the JSON object of its fields that ``parse`` reads. The remark
bodies (cancel, reject-internal, reject-supplier, comment) are raw text under
``Content-Type: application/json`` as the document's curl sends them (``-d 'string'``), or
a JSON string: both pass through as they came, ``parse`` reads either.

Replies are the PO object as far as the hub knows it (201 for a create, 200 otherwise) and
errors the document's ``{detail, time, title}`` with the HTTP reason phrase as title.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import orjson

from adapters.alphaalpha import lifecycle, replies
from adapters.alphaalpha.lifecycle import Action
from adapters.alphaalpha.parse import ID_HEADER, PATH_HEADER
from core.dates import format_iso_z
from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundRoute, Reply
from core.model import EventKind, PoEvent, utc_now

BASE = "/api/v1/purchase-orders"
ID_PREFIX = "AA-HUB-"
REMARK_FIELD = {
    Action.CANCEL: "cancellationReason",
    Action.REJECT_INTERNAL: "rejectionReason",
    Action.REJECT_SUPPLIER: "rejectionReason",
}
"""Where the simulator keeps an action's remarks on the PO object."""

ROUTES: list[InboundRoute] = [
    InboundRoute("POST", BASE, "create"),
    InboundRoute("PATCH", f"{BASE}/{{id}}", "update"),
    *(
        InboundRoute(lifecycle.METHOD[action], f"{BASE}/{{id}}/{action.value}", action.value)
        for action in Action
    ),
    InboundRoute("POST", f"{BASE}/{{id}}/comment", "comment"),
]


class AlphaalphaInbound:
    routes: list[InboundRoute] = ROUTES

    def prepare(self, request: InboundRequest) -> tuple[bytes, dict[str, str]]:
        headers = {
            k.lower(): v
            for k, v in request.headers.items()
            if k.lower() not in (PATH_HEADER, ID_HEADER)
        }
        headers[PATH_HEADER] = _path(request)
        if request.route.name == "create":
            headers[ID_HEADER] = new_id()
        body = request.body
        if request.route.name == Action.MARK_AS_SENT.value:
            body = form_as_json(body, headers.get("content-type"))
        return body, headers

    def accepted(
        self, request: InboundRequest, events: list[PoEvent], message_ids: list[str]
    ) -> Reply:
        event = events[0] if events else None
        po_id = request.params.get("id") or (event.po_number if event else "")
        order: dict[str, Any] = {"id": po_id}
        status = _status(event)
        if status is not None:
            order["status"] = status
        name = request.route.name
        if name in ("create", "update"):
            order.update(_order_fields(request.body))
        elif event is not None and event.remarks is not None and name in REMARK_FIELD:
            order[REMARK_FIELD[Action(name)]] = event.remarks
        now = format_iso_z(utc_now())
        if name == "create":
            order["created"] = now
        order["updated"] = now
        return Reply(201 if name == "create" else 200, order)

    def refused(
        self, request: InboundRequest | None, status: int, message: str,
        error: InvalidInput | None = None,
    ) -> Reply:  # fmt: skip
        if error is not None and error.errors:
            first = error.first
            return replies.error_reply(status, first.message, first.path, first.rule)
        return replies.error_reply(status, message)


def new_id() -> str:
    """The id the hub assigns to a PO created through the façade."""
    return ID_PREFIX + uuid.uuid4().hex[:12]


def _path(request: InboundRequest) -> str:
    """The route's path with its parameters filled in, as the sender called it."""
    path = request.route.path
    for key, value in request.params.items():
        path = path.replace("{" + key + "}", value)
    return path


def form_as_json(body: bytes, content_type: str | None) -> bytes:
    """A multipart or url-encoded form as the JSON object of its fields; JSON unchanged.

    A file part stands for its file name (the hub keeps no PDF), a text part for its text.
    Anything that is neither is passed through for ``parse`` to refuse with its own path.
    """
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "multipart/form-data" and content_type is not None:
        fields = _multipart(body, content_type)
        return orjson.dumps(fields) if fields is not None else body
    stripped = body.strip()
    if kind == "application/json" or stripped[:1] in (b"{", b"[", b'"'):
        return body
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return body
    pairs = parse_qsl(text, keep_blank_values=True)
    return orjson.dumps(dict(pairs)) if pairs else body


def _multipart(body: bytes, content_type: str) -> dict[str, str] | None:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return None
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        if filename is not None:
            fields[name] = filename
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            charset = part.get_content_charset() or "utf-8"
            fields[name] = payload.decode(charset, errors="replace")
    return fields


def _status(event: PoEvent | None) -> str | None:
    """AlphaAlpha's code for where the call leaves the PO: the action's outcome, DRAFT for
    a create, unknown (None) for a patch of products."""
    if event is None:
        return None
    if event.status_change is not None and event.status_change.source_to_status:
        return event.status_change.source_to_status
    if event.po is not None and event.po.source_status:
        return event.po.source_status
    if event.kind is EventKind.CREATED:
        return lifecycle.INITIAL.value
    return None


def _order_fields(body: bytes) -> dict[str, Any]:
    """What a create or patch body tells of the PO: its subsidiary, products and total."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    if "subsidiaryId" in data:
        out["subsidiaryId"] = data["subsidiaryId"]
    products: list[dict[str, Any]] = []
    total = Decimal(0)
    for item in data.get("products") or []:
        if not isinstance(item, dict):
            continue
        product = dict(item)
        price, quantity = _dec(item.get("price")), _dec(item.get("quantity"))
        if price is not None and quantity is not None:
            line_total = price * quantity
            product["totalPrice"] = float(line_total)
            total += line_total
        products.append(product)
    out["products"] = products
    out["total"] = float(total)
    return out


def _dec(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


INBOUND = AlphaalphaInbound()
