"""Operations API: messages, replay (one and bulk), PO timelines (targets: ``gateway.api.targets``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from litestar import Controller, Request, get, post
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
)

from gateway.api.guards import API_BODY_MAX, hub_of, principal, requires
from gateway.api.replays import DEFAULT_STATES, ReplayRefused, ReplayRequest, describe
from gateway.delivery import pins
from gateway.mappings import version_numbers
from gateway.observe import audit
from gateway.observe.audit import Principal
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


class Messages(Controller):
    path = "/api/v1"
    tags = ["operations"]
    request_max_body_size = API_BODY_MAX

    @get("/messages", guards=[requires("viewer")])
    async def search(
        self, request: Request[Any, Any, Any], po_number: str | None = None, system: str | None = None,
        target: str | None = None, status: State | None = None, since: datetime | None = None,
        until: datetime | None = None, reason: str | None = None, offset: int = 0, limit: int = 50,
        po_prefix: str | None = None, message_id: str | None = None,
        message_state: State | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A page of message summaries, newest first (``LIST_LIMIT_MAX`` at most); ``next``
        is the offset of the following page, or null on the last one.

        ``status`` is a delivery's state (with ``target``: that target's delivery);
        ``message_state`` the message's own, as the lists show it. ``po_prefix`` and
        ``message_id`` match the start, in any case; ``po_number`` is exact."""
        flt = MessageFilter(po_number=po_number, system=system, target=target, status=status,
                            since=since, until=until, reason=reason, po_prefix=po_prefix or None,
                            message_id=message_id or None, message_state=message_state)  # fmt: skip
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
        view = message_view(message)
        await version_numbers.annotate(hub_of(request), view)
        return view

    @post("/messages/{message_id:str}/replay", guards=[requires("operator")], status_code=202,
          opt={"audit": "self"})  # fmt: skip
    async def replay(
        self, request: Request[Any, Any, Any], message_id: str, target: str | None = None,
        mapping: Literal["live", "first"] = "live", force: bool = False,
        include_delivered: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """Deliver again, rendered with the live mapping or the version first used; the
        next attempt of each replayed delivery is marked manual, by the caller, and the
        replay is in the audit log.

        Only dead, parked and retrying deliveries are replayed: a delivered one needs
        ``include_delivered`` (the target has it already), and one that a newer event of
        the same PO has already superseded at its target needs ``force`` (it would put the
        target back to an older state). Each is listed in ``refused`` with why; all
        refused is 409.
        """
        hub = hub_of(request)
        who = principal(request)
        message = await hub.store.get_message(message_id)
        if message is None:
            raise NotFoundException(f"no message {message_id}")
        replayed: list[str] = []
        refused: list[dict[str, str]] = []
        for delivery in message.deliveries:
            if target is not None and delivery.target != target:
                continue
            why = await _single_refusal(hub.store, delivery, force, include_delivered)
            if why is not None:
                refused.append({"delivery": delivery.id, "target": delivery.target, "reason": why})
                continue
            pin = pins.pin_for(delivery, mapping)
            if await hub.store.replay(delivery.id, pin, by=audit.actor(who)):
                replayed.append(delivery.id)
        asked = {"message_id": message_id, "target": target, "mapping": mapping, "force": force,
                 "include_delivered": include_delivered}  # fmt: skip
        subject = f"message {message_id} " + (f"to {target}" if target else "(every target)")
        outcome = f"replayed {len(replayed)}, refused {len(refused)}"
        await audit.record(hub.store, who, "replay", subject, outcome,
                           {**asked, "replayed": replayed, "refused": refused})  # fmt: skip
        if refused and not replayed:
            raise HTTPException(status_code=409, detail="replay refused: " + "; ".join(
                f"{r['delivery']}: {r['reason']}" for r in refused
            ), extra={"refused": refused})  # fmt: skip
        return {"replayed": replayed, "refused": refused, **asked}

    @post("/replays", guards=[requires("operator")], status_code=202, opt={"audit": "self"})
    async def bulk_replay(
        self, request: Request[Any, Any, Any], data: ReplayRequest
    ) -> dict[str, Any]:
        """Replay exactly the filter given, as a background job; ``dry_run`` counts first.

        The filter comes whole in the request (nothing is remembered from a search). States
        default to dead, parked and retrying; ``delivered`` needs ``include_delivered`` (or
        ``force``); deliveries a newer delivered event of their PO superseded are skipped
        and counted as ``stale`` unless ``force``. Both replies state the filter, the
        states and the filter in words (``described``); a real run is in the audit log.
        """
        hub = hub_of(request)
        try:
            states = data.chosen_states()
        except ReplayRefused as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        stated = {**data.model_dump(mode="json"), "states": [s.value for s in states]}
        words = describe(data, states)
        if data.dry_run:
            chosen = await _chosen(hub.store, data, states)
            stale = (
                0
                if data.force
                else sum([await superseded_by(hub.store, d) is not None for d in chosen])
            )
            return {"dry_run": True, "count": len(chosen) - stale, "stale": stale,
                    "filter": stated, "states": stated["states"], "described": words}  # fmt: skip
        who = principal(request)
        job_id = uuid.uuid4().hex[:12]
        job = hub.jobs[job_id] = {"id": job_id, "state": "running", "done": 0, "replayed": 0,
                                  "stale": 0, "filter": stated, "states": stated["states"],
                                  "described": words, "by": audit.actor(who)}  # fmt: skip
        await audit.record(hub.store, who, "bulk_replay", words, f"started job {job_id}",
                           {"job": job_id, "filter": stated})  # fmt: skip
        hub.spawn(_run_replay(hub, data, states, job, who))
        return job

    @get("/replays/{job_id:str}", guards=[requires("operator")])
    async def replay_job(self, request: Request[Any, Any, Any], job_id: str) -> dict[str, Any]:
        job = hub_of(request).jobs.get(job_id)
        if job is None:
            raise NotFoundException(f"no replay job {job_id}")
        return dict(job)

    @get("/purchase-orders", guards=[requires("viewer")])
    async def purchase_orders(
        self, request: Request[Any, Any, Any], prefix: str | None = None, offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:  # fmt: skip
        """POs with messages, latest activity first; ``prefix`` matches the start of the PO
        number in any case."""
        offset = min(max(offset, 0), 10**9)
        limit = min(max(limit, 1), LIST_LIMIT_MAX)
        found = await hub_of(request).store.purchase_orders(prefix or None, offset, limit)
        out: dict[str, Any] = found.model_dump(mode="json")
        return out

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

    @get("/systems", guards=[requires("viewer")])
    async def systems(self, request: Request[Any, Any, Any]) -> dict[str, list[str]]:
        """The systems config.yaml names, for the page's filters to offer as choices:
        ``sources`` send messages (a message's ``system``), ``targets`` receive deliveries."""
        config = hub_of(request).config
        # canonical: ``POST /api/v1/purchase-orders`` is always there
        sources = set(config.systems) | {r.from_ for r in config.routes} | {"canonical"}
        targets = {t for r in config.routes for t in r.to}
        return {"sources": sorted(sources), "targets": sorted(targets)}


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


async def _single_refusal(
    store: Any, delivery: Delivery, force: bool, include_delivered: bool
) -> str | None:
    """Why a one-message replay leaves ``delivery`` alone, or None to replay it."""
    if delivery.state not in (*DEFAULT_STATES, State.DELIVERED):
        return f"{delivery.state.value}: it goes out without a replay"
    newer = None if force else await superseded_by(store, delivery)
    if newer is not None:
        return newer
    if delivery.state is State.DELIVERED and not (include_delivered or force):
        return "delivered already: replaying it needs include_delivered (it would be sent again)"
    return None


async def _chosen(store: Any, data: ReplayRequest, states: list[State]) -> list[Delivery]:
    """Every delivery the request names: its filter, in each of its states."""
    out: list[Delivery] = []
    for state in states:
        out += [d async for d in store.deliveries(data.message_filter(state))]
    return out


async def _run_replay(
    hub: Any, data: ReplayRequest, states: list[State], job: dict[str, Any], who: Principal
) -> None:
    try:
        chosen = await _chosen(hub.store, data, states)
        job["total"] = len(chosen)
        for delivery in chosen:
            if not data.force and await superseded_by(hub.store, delivery) is not None:
                job["stale"] += 1
                job["done"] += 1
                continue
            pin = pins.pin_for(delivery, data.mapping)
            job["replayed"] += int(await hub.store.replay(delivery.id, pin, by=audit.actor(who)))
            job["done"] += 1
        job["state"] = "done"
        outcome = f"replayed {job['replayed']} of {job['total']} (stale, skipped: {job['stale']})"
    except Exception as exc:
        job["state"], job["error"] = "failed", str(exc)
        outcome = f"failed after {job['done']}: {exc}"
    await audit.record(hub.store, who, "bulk_replay.finished", job["described"], outcome,
                       {"job": job["id"]})  # fmt: skip
