"""Delivery workers: claim from the store, render, send, and record what happened.

One ``Worker`` per process runs any number of concurrent deliveries, bounded per target.
Everything it decides lands in the store (delivered, retrying at a time, parked, dead), so
a killed worker loses nothing: its leases expire and ``sweep`` gives the work back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from adapters import registry
from adapters._http import Crosswalk, Delivered, Exchange, SystemClient, Unsure, make_transport
from core.adapter import Rendered
from core.errors import (
    AuthFailure,
    CannotExpress,
    DeliveryError,
    IdentityMissing,
    MappingMissing,
    PohubError,
    RetryableDelivery,
    StateRequired,
    TransitionNotAllowed,
)
from core.mapping.tables import Mapping
from core.model import PoEvent, PurchaseOrder, utc_now
from gateway import identity
from gateway.delivery import batching, pins
from gateway.delivery.pause import PausedTargets
from gateway.delivery.render import remote_of, render_for
from gateway.delivery.retry import next_attempt_at
from gateway.delivery.targets import Breaker, RateLimit
from gateway.identity import REMOTE
from gateway.mappings.live import LiveMappings
from gateway.observe import metrics
from gateway.settings import secrets
from gateway.settings.config import Config, RetryConfig
from gateway.store.base import LEASE_EXPIRED, PoUpdate, Store
from gateway.store.records import Attempt, Delivery, Message, State
from gateway.store.rules import RETURNED

log = structlog.get_logger("pohub.worker")
LOST_REPLY = frozenset({None, 408, 502, 504})
"""An attempt that ended with one of these statuses may have had its effect: no reply at
all (timeout, dropped connection, internal error), or a proxy that gave up waiting."""


@dataclass
class Target:
    name: str
    client: SystemClient
    slots: asyncio.Semaphore
    rate: RateLimit
    breaker: Breaker


@dataclass
class Ready:
    """A claimed delivery rendered and cleared to go: what sending it needs."""

    delivery: Delivery
    message: Message
    target: Target
    plan: Rendered
    remote_ids: dict[str, str]
    unsure: Unsure | None

    @property
    def key(self) -> str:
        """The Idempotency-Key prefix of this sending (a step's name follows it)."""
        return f"{self.delivery.id}:{_round(self.delivery)}"


class Worker:
    """Claims deliveries and runs them until stopped; ``stop`` returns in-flight work."""

    def __init__(
        self, config: Config, store: Store, mappings: LiveMappings, *,
        transport: httpx.AsyncBaseTransport | None = None, lease_s: float = 60.0,
        batch: int = 64, poll_s: float = 0.05, name: str | None = None,
    ) -> None:  # fmt: skip
        self.config, self.store, self.mappings = config, store, mappings
        self.lease_s, self.batch, self.poll_s = lease_s, batch, poll_s
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.targets = {t: self._target(t, transport) for t in self._routed_targets()}
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: dict[str, Delivery] = {}
        self._rendered_without_state: dict[str, bool] = {}
        self._events: dict[str, PoEvent] = {}
        """Delivery id -> its event as render read it, for ``_learn`` (parsed once)."""
        self._pinned_mappings: dict[str, Mapping] = {}
        self._stopping = asyncio.Event()
        self.last_beat = time.monotonic()
        self.paused = PausedTargets(store)
        self.batchers = batching.batchers(self)
        """Targets whose deliveries go out several POs a request (``gateway.delivery.batching``)."""

    def _routed_targets(self) -> list[str]:
        return sorted({t for route in self.config.routes for t in route.to})

    def _target(self, name: str, transport: httpx.AsyncBaseTransport | None) -> Target:
        cfg = self.config.systems[name]
        auth_values = secrets.resolve(cfg.auth) if cfg.auth else None
        client_class = registry.system(name).client
        if client_class is None:
            raise ValueError(f"{name} declares no client: the hub cannot deliver to it")
        client: SystemClient = client_class(
            cfg.base_url or "", secrets.credentials(cfg.auth, auth_values),
            transport=transport or make_transport(), timeout_s=cfg.timeout_s,
            secret_headers=_secret_headers(self.config),
        )  # fmt: skip
        return Target(name, client, asyncio.Semaphore(cfg.concurrency), RateLimit(cfg.rate_per_s),
                      Breaker(name))  # fmt: skip

    # loop ---------------------------------------------------------------------------------
    async def run(self) -> None:
        sweeper = asyncio.create_task(self._sweep_loop())
        heart = asyncio.create_task(self._heartbeat())
        try:
            while not self._stopping.is_set():
                self.last_beat = time.monotonic()
                room = self.batch - len(self._tasks) - batching.held(self.batchers)
                claimed = await self._claim(room) if room > 0 else []
                for delivery, message in claimed:
                    if delivery.target in self.batchers:
                        self.batchers[delivery.target].add(delivery, message)
                        continue
                    task = asyncio.create_task(self.deliver(delivery, message))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if not claimed:
                    await self._sleep(self.poll_s)
        finally:
            sweeper.cancel()
            heart.cancel()
            await self._drain()

    async def _claim(self, room: int) -> list[tuple[Delivery, Message]]:
        try:
            return await self.store.claim(self.name, room, self.lease_s)
        except Exception as exc:  # the store is down: wait, do not die
            log.warning("worker.claim_failed", error=str(exc))
            await self._sleep(1.0)
            return []

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.lease_s / 4))
            try:
                swept = await self.store.sweep()
                if swept:
                    log.info("worker.swept", count=swept)
            except Exception as exc:
                log.warning("worker.sweep_failed", error=str(exc))

    async def _heartbeat(self) -> None:
        """Renew the leases of what is in flight every third of a lease: a plan slower than
        one lease (several calls, each up to its timeout) is not swept while it is being
        sent, so no second worker sends it again, out of order with the PO's next event."""
        while True:
            await asyncio.sleep(max(0.2, self.lease_s / 3))
            try:
                await self.store.extend(self.name, list(self._in_flight), self.lease_s)
            except Exception as exc:  # the store is down: the next beat tries again
                log.warning("worker.heartbeat_failed", error=str(exc))

    def stop(self) -> None:
        self._stopping.set()

    async def _drain(self, grace_s: float = 20.0) -> None:
        """Finish what is in flight; anything still running after the grace goes back."""
        tasks = self._tasks | batching.flush(self.batchers)
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for delivery in list(self._in_flight.values()):
            with contextlib.suppress(Exception):
                await self.store.finish(delivery.id, None, State.RETRYING, next_at=utc_now(),
                                        reason=RETURNED, step=delivery.step)  # fmt: skip
                log.info("worker.returned", delivery_id=delivery.id)
        for target in self.targets.values():
            await target.client.aclose()

    # one delivery -------------------------------------------------------------------------
    async def deliver(self, delivery: Delivery, message: Message) -> None:
        structlog.contextvars.bind_contextvars(
            message_id=message.id, po_number=message.po_number, target=delivery.target
        )
        self._in_flight[delivery.id] = delivery
        try:
            await self._deliver(delivery, message)
            self._in_flight.pop(delivery.id, None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not lose the delivery: retry it later
            self._in_flight.pop(delivery.id, None)
            log.exception("worker.crashed")
            await self._retry(delivery, message, None, RetryableDelivery(f"internal error: {exc}"))
        finally:
            self._rendered_without_state.pop(delivery.id, None)
            self._events.pop(delivery.id, None)
            structlog.contextvars.unbind_contextvars("message_id", "po_number", "target")

    async def _deliver(self, delivery: Delivery, message: Message) -> None:
        ready = await self._prepare(delivery, message)
        if ready is not None:
            await self._send_one(ready)

    async def _prepare(self, delivery: Delivery, message: Message) -> Ready | None:
        """Everything before sending: the target's pause and circuit, then the render. None:
        the delivery is settled already (held, retrying, parked, dead), nothing to send."""
        target = self.targets.get(delivery.target)
        if target is None:
            await self._finish(delivery, State.DEAD, None, reason=f"no route to {delivery.target}")
            return None
        # Nothing is sent in these two cases, and their reason replaces the delivery's: when
        # that reason is the only record that an earlier sending may have landed (a worker
        # stopped mid-call), an attempt keeps the doubt for the next one (``was_unsure``).
        swept = delivery.reason in (LEASE_EXPIRED, RETURNED)
        if await self.paused.holds(
            delivery.target
        ):  # an operator paused it (gateway.delivery.pause)
            kept = _attempt(delivery, "parked", error="paused: not sent") if swept else None
            await self.paused.hold(delivery, kept)
            return None
        if not target.breaker.allow():
            due = utc_now().timestamp() + target.breaker.reopens_in()
            kept = _attempt(delivery, "retry", error="circuit open: not sent") if swept else None
            await self.store.finish(delivery.id, kept, State.RETRYING, step=delivery.step,
                                    next_at=_from_ts(due), reason="circuit open")  # fmt: skip
            return None
        mapping = self.mappings[delivery.target]
        unsure = lost_reply(delivery, message)
        try:
            plan, remote_ids = await self._render(delivery, message, unsure is not None)
            self._rendered_without_state.pop(delivery.id, None)
        except PohubError as exc:
            target.breaker.probing = False
            await self._render_failed(delivery, exc, mapping.version)
            return None
        except Unrenderable as exc:
            target.breaker.probing = False
            await self._unrenderable(delivery, exc, mapping.version)
            return None
        return Ready(delivery, message, target, plan, remote_ids, unsure)

    async def _send_one(self, ready: Ready) -> None:
        delivery, message, target, plan = ready.delivery, ready.message, ready.target, ready.plan
        unsure = ready.unsure
        async with target.slots:
            await target.rate.wait()
            started = time.perf_counter()
            sent: list[Exchange] = []
            try:
                if unsure is not None:
                    unsure = await self._unsure_of(delivery, unsure)
                done = await target.client.send(
                    plan, ready.key, delivery.step, ready.remote_ids, sent, unsure=unsure,
                    crosswalk=self._crosswalk(delivery, message),
                )  # fmt: skip
            except DeliveryError as exc:
                _count_reconciled(delivery.target, sent)
                target.breaker.failure() if isinstance(exc, RetryableDelivery) else None
                await self._send_failed(delivery, message, plan, exc, started, sent)
                return
        _count_reconciled(delivery.target, sent)
        target.breaker.success()
        await self._delivered(delivery, message, plan, done, started, sent)

    async def _unsure_of(self, delivery: Delivery, unsure: Unsure) -> Unsure:
        """``unsure`` with what a read-back compares with: the target's status and object
        version as last learnt."""
        state = await self.store.get_po(delivery.po_number)
        known = _remote(state, delivery.target)
        return dataclasses.replace(unsure, status=known.get("status"), version=known.get("version"))

    def _crosswalk(self, delivery: Delivery, message: Message) -> Crosswalk:
        """The store's crosswalk at ``delivery.target``, for this delivery's hub PO: a client
        claims an id its target assigned before acting on it (``adapters._http.Crosswalk``)."""
        store, target, po_number = self.store, delivery.target, delivery.po_number

        async def owner(remote_id: str) -> str | None:
            return await store.find_remote(target, remote_id)

        async def claim(remote_id: str) -> bool:
            held = await store.link_remote(target, remote_id, po_number, replace=False)
            return held == po_number

        return Crosswalk(po_number, owner, claim, since=message.received_at)

    async def _render(
        self, delivery: Delivery, message: Message, unsure: bool = False
    ) -> tuple[Rendered, dict[str, str]]:
        """Read the PO's state and mapping (I/O: a failure there is retried like any outage),
        then render: a pure function of event, state and mapping, so an exception it raises
        other than the hub's own errors (``ValueError``, ``OverflowError``, ``TypeError``...)
        would raise again on every retry, and is ``Unrenderable``: dead at once."""
        with _pure():
            event = PoEvent.model_validate(message.canonical[0])
        self._events[delivery.id] = event
        state = await self.store.get_po(delivery.po_number)
        self._rendered_without_state[delivery.id] = state is None
        remote = remote_of(state, delivery.target, unsure)
        mapping = await self._mapping_for(delivery)
        with _pure():
            plan = render_for(delivery.target, event, mapping, state, remote)
        return plan, ({delivery.target: remote.remote_id} if remote.remote_id else {})

    async def _mapping_for(self, delivery: Delivery) -> Mapping:
        """The live mapping, or the version a pinned replay asked for (see gateway.delivery.pins)."""
        live = self.mappings[delivery.target]
        wanted = delivery.pinned_mapping if delivery.attempts else None
        if wanted is None or wanted == live.version:
            return live
        if wanted not in self._pinned_mappings:
            found = await pins.mapping_of(self.store, delivery.target, wanted)
            if found is None:
                log.warning("delivery.pinned_mapping_missing", mapping_version=wanted)
                return live
            self._pinned_mappings[wanted] = found
        return self._pinned_mappings[wanted]

    async def _unrenderable(self, delivery: Delivery, exc: Unrenderable, version: str) -> None:
        """No retry can fix a render that raised: dead now, so the PO's line behind it at
        this target moves on (``README``: "What holds a PO's line")."""
        cause = exc.__cause__
        log.error("delivery.cannot_render", error=str(exc), exc_info=cause)
        attempt = _attempt(delivery, "dead", error=str(exc), version=version)
        metrics.DEAD.labels(delivery.target).inc()
        await self._finish(delivery, State.DEAD, attempt, reason=str(exc))

    async def _render_failed(self, delivery: Delivery, exc: PohubError, version: str) -> None:
        attempt = _attempt(delivery, "parked", error=str(exc), version=version)
        if isinstance(exc, MappingMissing) and not exc.fixable:
            # a missing value of the PO itself (a key of None): no row can be added for it,
            # and parked it would hold the PO's line at this target until someone noticed
            attempt.outcome = "dead"
            metrics.DEAD.labels(delivery.target).inc()
            reason = f"cannot render: {exc} (no mapping row can be added for it)"
            await self._finish(delivery, State.DEAD, attempt, reason=reason)
        elif isinstance(exc, MappingMissing):
            metrics.PARKED.labels(delivery.target, "mapping").inc()
            await self._finish(
                delivery, State.PARKED, attempt, reason=str(exc), park_kind="mapping"
            )
            # the mapping may have been saved while we rendered: its un-park ran before ours
            if self.mappings[delivery.target].version != version:
                await self.store.unpark(target=delivery.target, park_kind="mapping")
        elif isinstance(exc, StateRequired):
            metrics.PARKED.labels(delivery.target, "unknown_po").inc()
            reason = str(exc) if isinstance(exc, IdentityMissing) else "unknown PO"
            await self._finish(
                delivery, State.PARKED, attempt, reason=reason, park_kind="unknown_po"
            )
            # the PO may have arrived while we rendered: its un-park ran before our park
            had_none = self._rendered_without_state.pop(delivery.id, False)
            if had_none and await self.store.get_po(delivery.po_number) is not None:
                await self.store.unpark(park_kind="unknown_po", po_number=delivery.po_number)
        else:
            plain = isinstance(exc, TransitionNotAllowed | CannotExpress)
            reason = str(exc) if plain else f"cannot render: {exc}"
            attempt.outcome = "dead"
            metrics.DEAD.labels(delivery.target).inc()
            await self._finish(delivery, State.DEAD, attempt, reason=reason)

    async def _send_failed(
        self,
        delivery: Delivery,
        message: Message,
        plan: Rendered,
        exc: DeliveryError,
        started: float,
        sent: list[Exchange],
    ) -> None:
        latency = (time.perf_counter() - started) * 1000
        metrics.DELIVERY_SECONDS.labels(delivery.target).observe(latency / 1000)
        learned_status = False
        if exc.remote_ids or exc.last_reply is not None:
            await self._learn(delivery, message, exc.remote_ids, exc.last_reply)
            client = self.targets[delivery.target].client
            learned_status = (
                exc.last_reply is not None and client.remote_status(exc.last_reply) is not None
            )
        if learned_status:
            # the next render starts from the status the target reported: a fresh plan
            exc.step = 0
        if isinstance(exc, RetryableDelivery):
            await self._retry(delivery, message, plan, exc, latency, sent)
            return
        reason = (
            f"auth failure: {exc} (fix the credentials, then replay)"
            if isinstance(exc, AuthFailure)
            else str(exc)
        )
        attempt = _attempt(
            delivery, "dead", exc.status, latency, str(exc), plan.mapping_version, exc.step
        )
        attempt.exchanges = sent
        metrics.DEAD.labels(delivery.target).inc()
        await self._finish(delivery, State.DEAD, attempt, reason=reason, step=exc.step)

    async def _retry(
        self, delivery: Delivery, message: Message, plan: Rendered | None,
        exc: RetryableDelivery, latency: float | None = None, sent: list[Exchange] | None = None,
    ) -> None:  # fmt: skip
        retry = (
            self.config.systems[delivery.target].retry
            if delivery.target in self.config.systems
            else None
        )
        failures = 1 + sum(1 for a in delivery.attempts if a.outcome == "retry")
        due = next_attempt_at(
            retry or RetryConfig(), failures, utc_now(), message.received_at, exc.retry_after
        )
        version = plan.mapping_version if plan else None
        if due is None:
            attempt = _attempt(delivery, "dead", exc.status, latency, str(exc), version, exc.step)
            attempt.exchanges = sent or []
            metrics.DEAD.labels(delivery.target).inc()
            await self._finish(
                delivery, State.DEAD, attempt, reason=f"gave up after max age: {exc}", step=exc.step
            )
            return
        attempt = _attempt(delivery, "retry", exc.status, latency, str(exc), version, exc.step)
        attempt.exchanges = sent or []
        metrics.RETRIED.labels(delivery.target).inc()
        await self._finish(
            delivery, State.RETRYING, attempt, next_at=due, reason=str(exc), step=exc.step
        )

    async def _delivered(
        self, delivery: Delivery, message: Message, plan: Rendered, done: Delivered,
        started: float, sent: list[Exchange],
    ) -> None:  # fmt: skip
        latency = (time.perf_counter() - started) * 1000
        attempt = _attempt(
            delivery, "delivered", done.status, latency, None, plan.mapping_version, done.steps
        )
        attempt.exchanges = sent
        change = await self._learn(delivery, message, done.remote_ids, done.body, wrote=True,
                                   apply=False)  # fmt: skip
        await self._finish(delivery, State.DELIVERED, attempt, po_change=change)
        metrics.DELIVERED.labels(delivery.target).inc()
        metrics.DELIVERY_SECONDS.labels(delivery.target).observe(latency / 1000)
        age = (utc_now() - message.received_at).total_seconds()
        metrics.END_TO_END_SECONDS.labels(delivery.target).observe(max(0.0, age))
        log.info("delivery.delivered", status=done.status, latency_ms=round(latency, 1))

    async def _learn(
        self, delivery: Delivery, message: Message, remote_ids: dict[str, str], body: Any,
        wrote: bool = False, apply: bool = True,
    ) -> PoUpdate | None:  # fmt: skip
        """Keep the PO number <-> remote id crosswalk, the target's status and version, and
        the mark of what the hub's write left there (``identity.written_mark``): after the
        whole plan (``wrote``) or the steps a failed plan took (a reply ``body``).

        ``apply=False``: the change to the PO state is returned, not written, for the caller
        to write with the delivery's outcome in one store write (``finish_and_update``)."""
        new_id = remote_ids.get(delivery.target)
        client = self.targets[delivery.target].client
        status = client.remote_status(body) if body is not None else None
        version = client.remote_version(body) if body is not None else None
        wrote = wrote or body is not None
        if new_id is None and status is None and version is None and not wrote:
            return None
        if new_id is not None:
            await self.store.link_remote(delivery.target, new_id, delivery.po_number)
        event = None
        if wrote:
            event = self._events.get(delivery.id) or PoEvent.model_validate(message.canonical[0])

        def change(po: PurchaseOrder | None) -> PurchaseOrder | None:
            if po is None:
                return None
            ids = {**po.remote_ids, **({delivery.target: new_id} if new_id else {})}
            remote = dict(po.extensions.get(REMOTE, {}))
            known = dict(remote.get(delivery.target) or {})
            known.update(
                {k: v for k, v in (("status", status), ("version", version)) if v is not None}
            )
            if event is not None:  # what *this* write left: its reply's status, else none
                # (a target whose reply carries no status, Leo, would otherwise be marked
                # with its own last status and its next report of it taken for an echo)
                known[identity.WRITTEN] = identity.written_mark(
                    event, po, delivery.target, delivery.id, status, version
                )
            remote[delivery.target] = known
            extensions = {**po.extensions, REMOTE: remote}
            return po.model_copy(update={"remote_ids": ids, "extensions": extensions})

        if not apply:
            return change
        await self.store.update_po(delivery.po_number, change)
        return None

    async def _finish(
        self, delivery: Delivery, state: State, attempt: Attempt | None,
        po_change: PoUpdate | None = None, **kw: Any,
    ) -> None:  # fmt: skip
        kw.setdefault("step", delivery.step if state is not State.DELIVERED else 0)
        if po_change is None:
            await self.store.finish(delivery.id, attempt, state, **kw)
        else:
            await self.store.finish_and_update(
                delivery.id, attempt, state, delivery.po_number, po_change, **kw
            )
        if state is not State.DELIVERED:
            log.info(f"delivery.{state.value}", reason=kw.get("reason"))


class Unrenderable(Exception):
    """Rendering raised something other than a ``PohubError``: a value the target cannot
    take that no adapter rule caught, or a bug. Rendering does no I/O, so trying again
    would fail the same way; the original exception is ``__cause__``."""


@contextlib.contextmanager
def _pure() -> Iterator[None]:
    """Around code with no I/O: an exception that is not the hub's own becomes
    ``Unrenderable`` ("cannot render: <type>: <message>")."""
    try:
        yield
    except PohubError:
        raise
    except Exception as exc:
        text = str(exc)
        text = text if len(text) <= 500 else text[:500] + "..."
        raise Unrenderable(f"cannot render: {type(exc).__name__}: {text}") from exc


def lost_reply(delivery: Delivery, message: Message) -> Unsure | None:
    """Whether an earlier sending of this delivery (this round) got no reply, so its call
    may have taken effect (issue 12): an attempt ended without a reply (``LOST_REPLY``;
    any of the round, as a later attempt may have failed before settling it), or the
    worker holding it stopped mid-call (its lease was swept, or it was handed back at
    shutdown), or an attempt of the round began unsure and ended without settling it (a
    500 on the read-back: the sweep's reason is gone by then, the doubt is not). None when
    the hub knows every reply. Unsure costs a read-back, not more."""
    return Unsure(since=message.received_at) if was_unsure(delivery) else None


def was_unsure(delivery: Delivery) -> bool:
    """``lost_reply``'s test, on the delivery as claimed (before this attempt)."""
    if delivery.reason in (LEASE_EXPIRED, RETURNED):
        return True
    ended = [i for i, a in enumerate(delivery.attempts) if a.outcome in ("delivered", "dead")]
    current = delivery.attempts[ended[-1] + 1 :] if ended else delivery.attempts
    return any(
        (a.outcome == "retry" and a.status in LOST_REPLY)  # a parking sent nothing
        or (a.outcome in ("retry", "parked") and a.unsure)
        for a in current
    )


def _count_reconciled(target: str, sent: list[Exchange]) -> None:
    """``pohub_reconciled_total``: each read-back made instead of sending a call again."""
    for exchange in sent:
        if exchange.reconciled is not None:
            metrics.RECONCILED.labels(target, exchange.reconciled).inc()
            log.info("delivery.reconciled", step=exchange.name, outcome=exchange.reconciled)


def _round(delivery: Delivery) -> int:
    """Which sending of this delivery this is: retries share it (and their idempotency
    keys), a replay after it was delivered or dead starts the next one (new keys)."""
    return sum(1 for a in delivery.attempts if a.outcome in ("delivered", "dead"))


def _secret_headers(config: Config) -> set[str]:
    """Every header name config.yaml puts a secret in (outbound ``auth`` and ``inbound_auth``
    of every system): recorded exchanges show these as ``[redacted]``."""
    names = set()
    for cfg in config.systems.values():
        outbound = cfg.auth.bearer or cfg.auth.token if cfg.auth else None
        names |= {s.header for s in (outbound, cfg.inbound_auth) if s is not None}
    return names


def _remote(state: PurchaseOrder | None, target: str) -> dict[str, Any]:
    """What ``target`` last told the hub about this PO: its status and object version."""
    if state is None:
        return {}
    value = state.extensions.get(REMOTE, {}).get(target)
    return value if isinstance(value, dict) else {}


def _attempt(
    delivery: Delivery, outcome: str, status: int | None = None, latency: float | None = None,
    error: str | None = None, version: str | None = None, step: int = 0,
) -> Attempt:  # fmt: skip
    return Attempt(at=utc_now(), target=delivery.target, status=status, latency_ms=latency,
                   error=error, outcome=outcome, mapping_version=version, step=step,
                   manual_by=delivery.replayed_by, unsure=was_unsure(delivery))  # fmt: skip


def _from_ts(ts: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC)
