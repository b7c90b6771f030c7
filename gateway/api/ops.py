"""Operations API for viewers: messages, PO timelines, the systems (replays:
``gateway.api.replays``; targets: ``gateway.api.targets``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from litestar import Controller, Request, get
from litestar.exceptions import (
    NotFoundException,
)

from gateway.api.guards import API_BODY_MAX, hub_of, page_offset, requires
from gateway.api.schemas import (
    DeliverySummary,
    MessageDetail,
    MessagePage,
    MessageSummary,
    PoPage,
    PoTimeline,
    Systems,
)
from gateway.mappings import version_numbers
from gateway.store.base import aggregate
from gateway.store.records import Delivery, Message, MessageFilter, State

LIST_LIMIT_MAX = 200
"""Largest page of ``GET /api/v1/messages`` (``limit`` above it is cut to it)."""
TIMELINE_MAX = 200
"""Messages of a PO timeline shown (the latest); ``timeline_total`` counts them all."""
TEXT_CAP = 200
"""Characters of an error or reason in a list item (the detail has all of it)."""
KINDS_CAP = 20
DETAIL_ATTEMPTS = 50
"""Attempts of one delivery in the detail (the latest); ``attempt_count`` counts them all."""
DETAIL_EXCHANGE_ATTEMPTS = 3
"""Attempts of one delivery whose HTTP exchanges the detail shows (the latest); each
exchange's bodies are capped when recorded (64 KiB sent, 16 KiB reply)."""


def _cut(text: str | None, cap: int = TEXT_CAP) -> str | None:
    return text if text is None or len(text) <= cap else text[: cap - 1] + "…"


def message_summary(message: Message, body_size: int | None = None) -> MessageSummary:
    """A message as lists and timelines show it: ids, states, reasons, counts. Never the
    body, headers, canonical form or exchanges (``GET /api/v1/messages/{id}`` has them), so
    an item stays under ~4 KB whatever the message holds."""
    kinds = [str(e.get("kind")) for e in message.canonical[:KINDS_CAP] if isinstance(e, dict)]
    data = message.model_dump(mode="json", include=_MESSAGE_FIELDS)
    for name in ("error", "error_path", "note"):
        data[name] = _cut(data[name])
    size = len(message.body.encode()) if body_size is None else body_size
    data.update(state=aggregate(message).value, body_size=size,
                event_count=len(message.canonical), kinds=kinds,
                deliveries=[_delivery_summary(d) for d in message.deliveries])  # fmt: skip
    return cast(MessageSummary, data)


_MESSAGE_FIELDS = {"id", "system", "po_number", "received_at", "status", "error", "error_path",
                   "note"}  # fmt: skip
_DELIVERY_FIELDS = {"id", "target", "seq", "state", "reason", "park_kind", "updated_at"}
_ATTEMPT_FIELDS = {"at", "outcome", "status", "error", "mapping_version"}


def _delivery_summary(d: Delivery) -> DeliverySummary:
    data = d.model_dump(mode="json", include=_DELIVERY_FIELDS)
    data["reason"] = _cut(data["reason"])
    data["attempt_count"] = len(d.attempts)
    last = d.attempts[-1].model_dump(mode="json", include=_ATTEMPT_FIELDS) if d.attempts else None
    if last is not None:
        last["error"] = _cut(last["error"])
    data["last_attempt"] = last
    return cast(DeliverySummary, data)


def message_view(message: Message) -> MessageDetail:
    """One message in full (the detail): body, headers, canonical form, and each delivery's
    latest ``DETAIL_ATTEMPTS`` attempts, the latest ``DETAIL_EXCHANGE_ATTEMPTS`` of them
    with their HTTP calls as sent and the replies."""
    data: dict[str, Any] = message.model_dump(mode="json", exclude={"deliveries"})
    data["state"] = aggregate(message).value
    deliveries = []
    for d in message.deliveries:
        item = d.model_dump(mode="json", exclude={"attempts"})
        shown = d.attempts[-DETAIL_ATTEMPTS:]
        with_calls = len(shown) - DETAIL_EXCHANGE_ATTEMPTS
        item["attempt_count"] = len(d.attempts)
        item["attempts"] = [
            a.model_dump(mode="json", exclude=None if i >= with_calls else {"exchanges"})
            for i, a in enumerate(shown)
        ]
        deliveries.append(item)
    data["deliveries"] = deliveries
    return cast(MessageDetail, data)


class Messages(Controller):
    """Messages and PO timelines, for every signed-in role."""

    path = "/api/v1"
    guards = [requires("viewer")]
    tags = ["operations"]
    request_max_body_size = API_BODY_MAX

    @get("/messages")
    async def search(
        self, request: Request[Any, Any, Any], po_number: str | None = None, system: str | None = None,
        target: str | None = None, status: State | None = None, since: datetime | None = None,
        until: datetime | None = None, reason: str | None = None, offset: int = 0, limit: int = 50,
        po_prefix: str | None = None, message_id: str | None = None,
        message_state: State | None = None,
    ) -> MessagePage:  # fmt: skip
        """A page of message summaries, newest first (``LIST_LIMIT_MAX`` at most); ``next``
        is the offset of the following page, or null on the last one.

        ``status`` is a delivery's state (with ``target``: that target's delivery);
        ``message_state`` the message's own, as the lists show it. ``po_prefix`` and
        ``message_id`` match the start, in any case; ``po_number`` is exact."""
        flt = MessageFilter(po_number=po_number, system=system, target=target, status=status,
                            since=since, until=until, reason=reason, po_prefix=po_prefix or None,
                            message_id=message_id or None, message_state=message_state)  # fmt: skip
        offset = page_offset(offset)
        limit = min(max(limit, 1), LIST_LIMIT_MAX)
        page = await hub_of(request).store.search(flt, offset, limit, light=True)
        after = page.offset + len(page.items)
        items = [message_summary(m, page.body_sizes.get(m.id)) for m in page.items]
        return {"items": items, "total": page.total,
                "offset": page.offset, "limit": page.limit,
                "next": after if page.items and after < page.total else None}  # fmt: skip

    @get("/messages/{message_id:str}")
    async def detail(self, request: Request[Any, Any, Any], message_id: str) -> MessageDetail:
        message = await hub_of(request).store.get_message(message_id)
        if message is None:
            raise NotFoundException(f"no message {message_id}")
        view = message_view(message)
        await version_numbers.annotate(hub_of(request), cast(dict[str, Any], view))
        return view

    @get("/purchase-orders")
    async def purchase_orders(
        self, request: Request[Any, Any, Any], prefix: str | None = None, offset: int = 0,
        limit: int = 50,
    ) -> PoPage:  # fmt: skip
        """POs with messages, latest activity first; ``prefix`` matches the start of the PO
        number in any case."""
        offset = page_offset(offset)
        limit = min(max(limit, 1), LIST_LIMIT_MAX)
        found = await hub_of(request).store.purchase_orders(prefix or None, offset, limit)
        return cast(PoPage, found.model_dump(mode="json"))

    @get("/purchase-orders/{po_number:str}")
    async def purchase_order(self, request: Request[Any, Any, Any], po_number: str) -> PoTimeline:
        """The PO and the summaries of its latest ``TIMELINE_MAX`` messages, oldest first."""
        hub = hub_of(request)
        po = await hub.store.get_po(po_number)
        flt = MessageFilter(po_number=po_number)
        page = await hub.store.search(flt, 0, TIMELINE_MAX, light=True)
        if po is None and not page.items:
            raise NotFoundException(f"no purchase order {po_number}")
        return {"po": po.model_dump(mode="json") if po else None,
                "timeline": [message_summary(m, page.body_sizes.get(m.id))
                             for m in reversed(page.items)],
                "timeline_total": page.total}  # fmt: skip

    @get("/systems")
    async def systems(self, request: Request[Any, Any, Any]) -> Systems:
        """The systems config.yaml names, for the page's filters to offer as choices:
        ``sources`` send messages (a message's ``system``), ``targets`` receive deliveries."""
        config = hub_of(request).config
        # canonical: ``POST /api/v1/purchase-orders`` is always there
        sources = set(config.systems) | {r.from_ for r in config.routes} | {"canonical"}
        targets = {t for r in config.routes for t in r.to}
        return {"sources": sorted(sources), "targets": sorted(targets)}
