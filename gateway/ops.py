"""Operations API: messages, replay (one and bulk), PO timelines, targets, health."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers.base import BaseRouteHandler
from pydantic import BaseModel

from gateway import metrics, pins
from gateway.auth import Principal
from gateway.store.base import aggregate
from gateway.store.records import MessageFilter, State


def hub_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
    return connection.app.state.hub


def principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    given = connection.headers.getall("authorization", [])
    if len(given) > 1:  # which one counts would depend on the reader: refuse instead
        raise NotAuthorizedException("more than one Authorization header")
    found: Principal | None = hub_of(connection).keys.identify(given[0] if given else None)
    if found is None:
        raise NotAuthorizedException("a valid API key is required: Authorization: Bearer <key>")
    wait = hub_of(connection).key_limits.take(found.name)
    if wait is not None:
        metrics.API_RATE_LIMITED.labels(found.name).inc()
        raise TooManyRequestsException(
            f"rate limit for key {found.name!r}", headers={"Retry-After": str(max(1, round(wait)))}
        )
    return found


def requires(role: str) -> Any:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not principal(connection).can(role):
            raise PermissionDeniedException(f"the {role} role is required")

    guard.required_role = role  # type: ignore[attr-defined]  # read by the security matrix test
    return guard


WITHOUT_EXCHANGES = {"deliveries": {"__all__": {"attempts": {"__all__": {"exchanges"}}}}}
"""Lists and timelines leave out what each attempt sent and got back: only the detail has it."""


def message_view(message: Any, exchanges: bool = False) -> dict[str, Any]:
    """A message as the API shows it; ``exchanges`` adds each attempt's HTTP calls as sent
    and their replies (the single message detail only, so lists stay small)."""
    data: dict[str, Any] = message.model_dump(
        mode="json", exclude=None if exchanges else WITHOUT_EXCHANGES
    )
    data["state"] = aggregate(message).value
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


class Messages(Controller):
    path = "/api/v1"
    tags = ["operations"]

    @get("/messages", guards=[requires("viewer")])
    async def search(
        self, request: Request[Any, Any, Any], po_number: str | None = None, system: str | None = None,
        target: str | None = None, status: State | None = None, since: datetime | None = None,
        until: datetime | None = None, reason: str | None = None, offset: int = 0, limit: int = 50,
    ) -> dict[str, Any]:  # fmt: skip
        flt = MessageFilter(po_number=po_number, system=system, target=target, status=status,
                            since=since, until=until, reason=reason)  # fmt: skip
        offset = min(max(offset, 0), 10**9)
        page = await hub_of(request).store.search(flt, offset, min(max(limit, 1), 500))
        return {"items": [message_view(m) for m in page.items], "total": page.total,
                "offset": page.offset, "limit": page.limit}  # fmt: skip

    @get("/messages/{message_id:str}", guards=[requires("viewer")])
    async def detail(self, request: Request[Any, Any, Any], message_id: str) -> dict[str, Any]:
        message = await hub_of(request).store.get_message(message_id)
        if message is None:
            raise NotFoundException(f"no message {message_id}")
        return message_view(message, exchanges=True)

    @post("/messages/{message_id:str}/replay", guards=[requires("operator")], status_code=202)
    async def replay(
        self, request: Request[Any, Any, Any], message_id: str, target: str | None = None,
        mapping: Literal["live", "first"] = "live",
    ) -> dict[str, Any]:  # fmt: skip
        """Deliver again, rendered with the live mapping or the version first used."""
        hub = hub_of(request)
        message = await hub.store.get_message(message_id)
        if message is None:
            raise NotFoundException(f"no message {message_id}")
        replayed = []
        for delivery in message.deliveries:
            if target is not None and delivery.target != target:
                continue
            await pins.choose(hub.store, delivery, mapping)
            if await hub.store.replay(delivery.id):
                replayed.append(delivery.id)
        return {"replayed": replayed, "mapping": mapping}

    @post("/replays", guards=[requires("operator")], status_code=202)
    async def bulk_replay(
        self, request: Request[Any, Any, Any], data: ReplayRequest
    ) -> dict[str, Any]:
        """Replay the *whole* filtered set as a background job; ``dry_run`` counts first."""
        hub = hub_of(request)
        flt = MessageFilter(**data.model_dump(exclude={"dry_run", "mapping"}))
        if data.dry_run:
            count = sum([1 async for _ in hub.store.deliveries(flt)])
            return {"dry_run": True, "count": count}
        job_id = uuid.uuid4().hex[:12]
        job = hub.jobs[job_id] = {"id": job_id, "state": "running", "done": 0, "replayed": 0,
                                  "filter": data.model_dump(mode="json")}  # fmt: skip
        hub.spawn(_run_replay(hub, flt, job, data.mapping))
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
        po = await hub.store.get_po(po_number)
        timeline = await hub.store.timeline(po_number)
        if po is None and not timeline:
            raise NotFoundException(f"no purchase order {po_number}")
        return {"po": po.model_dump(mode="json") if po else None,
                "timeline": [message_view(m) for m in timeline]}  # fmt: skip

    @get("/targets", guards=[requires("viewer")])
    async def targets(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for worker in hub_of(request).workers:
            for name, t in worker.targets.items():
                out[name] = {"circuit": t.breaker.state, "failures_in_a_row": t.breaker.failures}
        return {"targets": out}


async def _run_replay(hub: Any, flt: MessageFilter, job: dict[str, Any], mapping: Any) -> None:
    try:
        chosen = [d async for d in hub.store.deliveries(flt)]
        job["total"] = len(chosen)
        for delivery in chosen:
            await pins.choose(hub.store, delivery, mapping)
            job["replayed"] += int(await hub.store.replay(delivery.id))
            job["done"] += 1
        job["state"] = "done"
    except Exception as exc:
        job["state"], job["error"] = "failed", str(exc)
