"""Operations API: messages, replay (one and bulk), PO timelines (targets: ``targets_api``)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any, Literal

import structlog
from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers.base import BaseRouteHandler
from pydantic import BaseModel

from gateway import metrics, pins
from gateway.auth import Principal, client_address
from gateway.store.base import aggregate
from gateway.store.records import Delivery, Message, MessageFilter, State

API_BODY_MAX = 64 * 1024
"""Request body of the operations API and of the mappings API's small requests (rollback,
replay filters): 64 KiB, answered 413 past it. Mapping saves and previews have their own."""

log = structlog.get_logger("pohub.api")


def hub_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
    return connection.app.state.hub


def principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    hub = hub_of(connection)
    address = client_address(connection)
    given = connection.headers.getall("authorization", [])
    if given:  # only a request that tries a key is counted, or refused for past failures
        throttled = hub.failed_auth.blocked(address)
        if throttled is not None:
            metrics.AUTH_THROTTLED.labels("api").inc()
            raise TooManyRequestsException(
                "too many failed sign-ins from this address",
                headers={"Retry-After": str(max(1, math.ceil(throttled)))},
            )
    if len(given) > 1:  # which one counts would depend on the reader: refuse instead
        _failed(hub, address)
        raise NotAuthorizedException("more than one Authorization header")
    found: Principal | None = hub.keys.identify(given[0] if given else None)
    if found is None:
        if given:
            _failed(hub, address)
        raise NotAuthorizedException("a valid API key is required: Authorization: Bearer <key>")
    wait = hub_of(connection).key_limits.take(found.name)
    if wait is not None:
        metrics.API_RATE_LIMITED.labels(found.name).inc()
        raise TooManyRequestsException(
            f"rate limit for key {found.name!r}", headers={"Retry-After": str(max(1, round(wait)))}
        )
    return found


def _failed(hub: Any, address: str) -> None:
    hub.failed_auth.failed(address)
    metrics.API_AUTH_FAILED.inc()
    log.warning("api.auth_failed", client=address)


def requires(role: str) -> Any:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not principal(connection).can(role):
            raise PermissionDeniedException(f"the {role} role is required")

    return guard


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


def message_summary(message: Message, body_size: int | None = None) -> dict[str, Any]:
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
    return data


_MESSAGE_FIELDS = {"id", "system", "po_number", "received_at", "status", "error", "error_path",
                   "note"}  # fmt: skip
_DELIVERY_FIELDS = {"id", "target", "seq", "state", "reason", "park_kind", "updated_at"}
_ATTEMPT_FIELDS = {"at", "outcome", "status", "error", "mapping_version"}


def _delivery_summary(d: Delivery) -> dict[str, Any]:
    data = d.model_dump(mode="json", include=_DELIVERY_FIELDS)
    data["reason"] = _cut(data["reason"])
    data["attempt_count"] = len(d.attempts)
    last = d.attempts[-1].model_dump(mode="json", include=_ATTEMPT_FIELDS) if d.attempts else None
    if last is not None:
        last["error"] = _cut(last["error"])
    data["last_attempt"] = last
    return data


def message_view(message: Message) -> dict[str, Any]:
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
    return data


class ReplayRequest(BaseModel):
    """Which deliveries to replay; ``dry_run`` only counts them."""

    po_number: str | None = None
    system: str | None = None
    target: str | None = None
    status: State | None = State.DEAD
    since: datetime | None = None
    until: datetime | None = None
    reason: str | None = None
    mapping: Literal["live", "first"] = "live"
    """Render with the live mapping, or with the version each delivery first used."""
    dry_run: bool = True
    force: bool = False
    """Replay delivered deliveries, and deliveries a newer delivered event of the same PO has
    superseded at the target. Without it both are refused: replaying them would send the
    target an older state than the one it already has."""


class Messages(Controller):
    path = "/api/v1"
    tags = ["operations"]
    request_max_body_size = API_BODY_MAX

    @get("/messages", guards=[requires("viewer")])
    async def search(
        self, request: Request[Any, Any, Any], po_number: str | None = None, system: str | None = None,
        target: str | None = None, status: State | None = None, since: datetime | None = None,
        until: datetime | None = None, reason: str | None = None, offset: int = 0, limit: int = 50,
    ) -> dict[str, Any]:  # fmt: skip
        flt = MessageFilter(po_number=po_number, system=system, target=target, status=status,
                            since=since, until=until, reason=reason)  # fmt: skip
        """A page of message summaries, newest first (``LIST_LIMIT_MAX`` at most); ``next``
        is the offset of the following page, or null on the last one."""
        offset = min(max(offset, 0), 10**9)
        limit = min(max(limit, 1), LIST_LIMIT_MAX)
        page = await hub_of(request).store.search(flt, offset, limit, light=True)
        after = page.offset + len(page.items)
        items = [message_summary(m, page.body_sizes.get(m.id)) for m in page.items]
        return {"items": items, "total": page.total,
                "offset": page.offset, "limit": page.limit,
                "next": after if page.items and after < page.total else None}  # fmt: skip

    @get("/messages/{message_id:str}", guards=[requires("viewer")])
    async def detail(self, request: Request[Any, Any, Any], message_id: str) -> dict[str, Any]:
        message = await hub_of(request).store.get_message(message_id)
        if message is None:
            raise NotFoundException(f"no message {message_id}")
        return message_view(message)

    @post("/messages/{message_id:str}/replay", guards=[requires("operator")], status_code=202)
    async def replay(
        self, request: Request[Any, Any, Any], message_id: str, target: str | None = None,
        mapping: Literal["live", "first"] = "live", force: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """Deliver again, rendered with the live mapping or the version first used.

        A delivery that a newer event of the same PO has already superseded at its target
        is refused (409, with the newer message named) unless ``force``: it would put the
        target back to an older state than the hub holds.
        """
        hub = hub_of(request)
        message = await hub.store.get_message(message_id)
        if message is None:
            raise NotFoundException(f"no message {message_id}")
        replayed: list[str] = []
        refused: list[dict[str, str]] = []
        for delivery in message.deliveries:
            if target is not None and delivery.target != target:
                continue
            newer = None if force else await superseded_by(hub.store, delivery)
            if newer is not None:
                refused.append({"delivery": delivery.id, "reason": newer})
                continue
            if await hub.store.replay(delivery.id, pins.pin_for(delivery, mapping)):
                replayed.append(delivery.id)
        if refused and not replayed:
            raise HTTPException(status_code=409, detail="replay refused: " + "; ".join(
                f"{r['delivery']}: {r['reason']}" for r in refused
            ), extra={"refused": refused})  # fmt: skip
        return {"replayed": replayed, "refused": refused, "mapping": mapping, "force": force}

    @post("/replays", guards=[requires("operator")], status_code=202)
    async def bulk_replay(
        self, request: Request[Any, Any, Any], data: ReplayRequest
    ) -> dict[str, Any]:
        """Replay the *whole* filtered set as a background job; ``dry_run`` counts first.

        The filter must name a status; ``delivered`` (or no status) needs ``force``, and so
        do deliveries a newer delivered event of their PO superseded (skipped otherwise and
        counted as ``stale``). The reply states the filter it acted on.
        """
        hub = hub_of(request)
        if not data.force and data.status in (None, State.DELIVERED):
            raise HTTPException(
                status_code=400,
                detail="replaying delivered deliveries needs force: true (they would be sent "
                "again); name a status such as dead, parked or retrying",
            )
        flt = MessageFilter(**data.model_dump(exclude={"dry_run", "mapping", "force"}))
        stated = data.model_dump(mode="json")
        if data.dry_run:
            chosen = [d async for d in hub.store.deliveries(flt)]
            stale = (
                0
                if data.force
                else sum([await superseded_by(hub.store, d) is not None for d in chosen])
            )
            return {"dry_run": True, "count": len(chosen) - stale, "stale": stale,
                    "filter": stated}  # fmt: skip
        job_id = uuid.uuid4().hex[:12]
        job = hub.jobs[job_id] = {"id": job_id, "state": "running", "done": 0, "replayed": 0,
                                  "stale": 0, "filter": stated}  # fmt: skip
        hub.spawn(_run_replay(hub, flt, job, data.mapping, data.force))
        return job

    @get("/replays/{job_id:str}", guards=[requires("operator")])
    async def replay_job(self, request: Request[Any, Any, Any], job_id: str) -> dict[str, Any]:
        job = hub_of(request).jobs.get(job_id)
        if job is None:
            raise NotFoundException(f"no replay job {job_id}")
        return dict(job)

    @get("/purchase-orders/{po_number:str}", guards=[requires("viewer")])
    async def purchase_order(
        self, request: Request[Any, Any, Any], po_number: str
    ) -> dict[str, Any]:
        hub = hub_of(request)
        """The PO and the summaries of its latest ``TIMELINE_MAX`` messages, oldest first."""
        po = await hub.store.get_po(po_number)
        flt = MessageFilter(po_number=po_number)
        page = await hub.store.search(flt, 0, TIMELINE_MAX, light=True)
        if po is None and not page.items:
            raise NotFoundException(f"no purchase order {po_number}")
        return {"po": po.model_dump(mode="json") if po else None,
                "timeline": [message_summary(m, page.body_sizes.get(m.id))
                             for m in reversed(page.items)],
                "timeline_total": page.total}  # fmt: skip


async def superseded_by(store: Any, delivery: Delivery) -> str | None:
    """Why replaying ``delivery`` would be stale: a later event of the same PO was already
    delivered to the same target (``seq`` orders a PO's deliveries per target)."""
    for message in await store.timeline(delivery.po_number):
        for other in message.deliveries:
            if (other.target == delivery.target and other.seq > delivery.seq
                    and other.state is State.DELIVERED):  # fmt: skip
                return (f"message {other.message_id} (a newer event of PO {delivery.po_number}) "
                        f"was already delivered to {delivery.target}; use force to send the "
                        "older one anyway")  # fmt: skip
    return None


async def _run_replay(
    hub: Any, flt: MessageFilter, job: dict[str, Any], mapping: Any, force: bool = False
) -> None:
    try:
        chosen = [d async for d in hub.store.deliveries(flt)]
        job["total"] = len(chosen)
        for delivery in chosen:
            if not force and await superseded_by(hub.store, delivery) is not None:
                job["stale"] += 1
                job["done"] += 1
                continue
            pin = pins.pin_for(delivery, mapping)
            job["replayed"] += int(await hub.store.replay(delivery.id, pin))
            job["done"] += 1
        job["state"] = "done"
    except Exception as exc:
        job["state"], job["error"] = "failed", str(exc)
