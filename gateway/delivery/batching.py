"""Bulk coalescing (issue 14): deliveries claimed for a target whose system takes several POs
in one request (``System.bulk``: AppliQloud's ``inputs[]``) go out together.

config.yaml ``systems.<id>.batch: {max, wait_ms}`` turns it on (absent or ``max: 1``: off,
each delivery is its own request as before). A claimed delivery waits at most ``wait_ms``
for others to fill a request of at most ``max`` POs. Each is still readied on its own (pause,
circuit, render: a park or a dead render settles only that one), the one-PO requests are
merged into one, sent once, and the reply is read back per PO (``SystemClient.send_bulk``):
each delivery gets its own attempt, with the shared exchange, and its own outcome.

- **Order per PO holds**: the store hands out only the head of each (target, PO) line and
  keeps it DELIVERING until its outcome is written, so a batch carries at most one delivery
  per PO and a PO's next delivery is claimed only once this one is settled. Two deliveries
  that address the same PO at the target (an amendment written as an update of its
  original) never share a request: the second goes in the next one, after the first's reply.
- **A failure of the whole request** (no reply, 5xx, 429, 401) is every member's, as if each
  had been sent alone: a lost reply leaves all of them unsure (``worker.lost_reply``), and
  since a bulk target is an upsert (``System.bulk``), the next sending repeats it.
- **Idempotency-Key** of a merged request: the keys its members would have sent alone
  (``<delivery id>:<round>:<step>``), comma-separated in ``inputs`` order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING

import orjson
import structlog

from adapters import registry
from adapters._http import Delivered, Exchange
from core.errors import DeliveryError, RetryableDelivery

if TYPE_CHECKING:
    from adapters._system import Bulk
    from gateway.delivery.worker import Ready, Target, Worker
    from gateway.store.records import Delivery, Message

log = structlog.get_logger("pohub.worker")


class Batcher:
    """One target's deliveries waiting to fill a request, and the requests being sent."""

    def __init__(self, worker: Worker, target: Target, bulk: Bulk, size: int, wait_s: float):
        self.worker, self.target, self.bulk = worker, target, bulk
        self.size, self.wait_s = size, wait_s
        self.pending: list[tuple[Delivery, Message]] = []
        self.held = 0
        """Deliveries waiting or being sent: they count against the worker's room."""
        self.tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, delivery: Delivery, message: Message) -> None:
        self.worker._in_flight[delivery.id] = delivery  # its lease is renewed from now on
        self.pending.append((delivery, message))
        self.held += 1
        if len(self.pending) >= self.size:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.wait_s, self.flush)

    def flush(self) -> None:
        """Send what waits now, ``size`` deliveries a request."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self.pending:
            batch, self.pending = self.pending[: self.size], self.pending[self.size :]
            task = asyncio.create_task(self._run(batch))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(self, batch: list[tuple[Delivery, Message]]) -> None:
        structlog.contextvars.bind_contextvars(target=self.target.name)
        try:
            readied = await asyncio.gather(*(self._ready(d, m) for d, m in batch))
            alone, rounds = self._plan([r for r in readied if r is not None])
            await asyncio.gather(*(self._alone(r) for r in alone), self._rounds(rounds))
        except Exception as exc:  # a bug: what is not settled yet is retried, never held
            log.exception("worker.batch_crashed")
            for delivery, message in batch:
                if delivery.id in self.worker._in_flight:
                    await self._guard(delivery, message, _raise(exc))
        finally:
            self.held -= len(batch)
            for delivery, _ in batch:
                self.worker._rendered_without_state.pop(delivery.id, None)
                self.worker._events.pop(delivery.id, None)

    async def _ready(self, delivery: Delivery, message: Message) -> Ready | None:
        ready: Ready | None = None

        async def prepare() -> None:
            nonlocal ready
            ready = await self.worker._prepare(delivery, message)

        await self._guard(delivery, message, prepare(), settled=False)
        if ready is None:
            self.worker._in_flight.pop(delivery.id, None)
        return ready

    def _plan(self, readied: list[Ready]) -> tuple[list[Ready], list[dict[str, Ready]]]:
        """Who goes alone (a plan that is not one mergeable call), and the merged requests
        in sending order: each holds a PO key once (the k-th delivery of a key goes in the
        k-th request)."""
        alone: list[Ready] = []
        rounds: list[dict[str, Ready]] = []
        for ready in readied:
            calls = ready.plan.calls
            key = self.bulk.key(calls[0]) if len(calls) == 1 and ready.delivery.step == 0 else None
            if key is None:
                alone.append(ready)
                continue
            free = next((r for r in rounds if key not in r), None)
            if free is None:
                rounds.append(free := {})
            free[key] = ready
        return alone, rounds

    async def _alone(self, ready: Ready) -> None:
        await self._guard(ready.delivery, ready.message, self.worker._send_one(ready))

    async def _rounds(self, rounds: list[dict[str, Ready]]) -> None:
        for members in rounds:
            if len(members) == 1:
                await self._alone(*members.values())
            else:
                await self._together(members)

    async def _together(self, members: dict[str, Ready]) -> None:
        """One request for ``members`` (PO key -> delivery); each settles by its own share."""
        target = self.target
        calls = {key: ready.plan.calls[0] for key, ready in members.items()}
        sent: list[Exchange] = []
        started = time.perf_counter()
        whole = True  # the outcome is the whole request's, not each PO's share of a reply
        try:
            merged = self.bulk.merge(list(calls.values()))
            key = ",".join(f"{r.key}:{r.plan.calls[0].step}" for r in members.values())
            async with target.slots:
                await target.rate.wait()
                started = time.perf_counter()
                try:
                    outcomes = await target.client.send_bulk(
                        calls, merged, key, self.bulk.split, sent
                    )
                except DeliveryError as exc:
                    if isinstance(exc, RetryableDelivery):
                        target.breaker.failure()
                    outcomes = {k: dataclasses.replace(exc) for k in members}
                else:
                    target.breaker.success()
                    whole = False
        except Exception as exc:  # a bug: every member is retried, none is lost
            log.exception("worker.batch_crashed")
            failed = RetryableDelivery(f"internal error: {exc}")
            outcomes = {k: dataclasses.replace(failed) for k in members}
        log.info("delivery.batch", size=len(members), latency_ms=_ms(started))
        await asyncio.gather(
            *(
                self._settle(
                    ready, outcomes[k], started, _own(sent, ready, outcomes[k], whole, len(members))
                )
                for k, ready in members.items()
            )
        )

    async def _settle(
        self, ready: Ready, outcome: Delivered | DeliveryError, started: float,
        sent: list[Exchange],
    ) -> None:  # fmt: skip
        worker, delivery, message, plan = self.worker, ready.delivery, ready.message, ready.plan
        if isinstance(outcome, Delivered):
            work = worker._delivered(delivery, message, plan, outcome, started, sent)
        else:
            work = worker._send_failed(delivery, message, plan, outcome, started, sent)
        await self._guard(delivery, message, work)

    async def _guard(
        self, delivery: Delivery, message: Message, work: Awaitable[None], settled: bool = True
    ) -> None:
        """``Worker.deliver``'s rule for one member: a bug retries it later, never loses it;
        ``settled``: the delivery is no longer in flight afterwards."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.worker._in_flight.pop(delivery.id, None)
            log.exception("worker.crashed", delivery_id=delivery.id)
            failed = RetryableDelivery(f"internal error: {exc}")
            await self.worker._retry(delivery, message, None, failed)
            return
        if settled:
            self.worker._in_flight.pop(delivery.id, None)


def _own(
    sent: list[Exchange], ready: Ready, outcome: Delivered | DeliveryError, whole: bool,
    size: int,
) -> list[Exchange]:  # fmt: skip
    """The bulk request's record as one member keeps it: the same call, status, headers and
    latency, with this member's PO as the request body and its share of the reply (the
    whole reply when the request failed as a whole). A record of the whole body in every
    member's attempt would store the request once per PO (64 KiB each at 50 POs)."""
    if not sent:
        return []
    shared = sent[-1]
    request = dataclasses.replace(shared.request, truncated=False,
                                  body=orjson.dumps(ready.plan.calls[0].json).decode())  # fmt: skip
    reply = shared.reply
    if reply is not None and not whole and outcome.body is not None:
        share = outcome.body
        text = share if isinstance(share, str) else orjson.dumps(share).decode()
        reply = dataclasses.replace(reply, body=text, truncated=False)
    error = shared.error
    if isinstance(outcome, DeliveryError) and not whole:  # this PO refused, the others not
        error = str(outcome)
    return [dataclasses.replace(shared, request=request, reply=reply, error=error, shared_by=size)]


def batchers(worker: Worker) -> dict[str, Batcher]:
    """A ``Batcher`` per target of ``worker`` whose config asks for batches (``max`` above 1)
    and whose system takes them, bounded by its document's limit."""
    out: dict[str, Batcher] = {}
    for name, target in worker.targets.items():
        batch = worker.config.systems[name].batch
        if batch is None or batch.max <= 1:
            continue
        bulk = registry.system(name).bulk
        if bulk is None:
            log.warning("worker.batch_ignored", target=name, reason="one PO per request")
            continue
        size = min(batch.max, bulk.limit or batch.max)
        out[name] = Batcher(worker, target, bulk, size, batch.wait_ms / 1000)
    return out


def held(found: dict[str, Batcher]) -> int:
    return sum(b.held for b in found.values())


def flush(found: dict[str, Batcher]) -> set[asyncio.Task[None]]:
    """Send whatever waits (the worker is stopping); the tasks sending."""
    for batcher in found.values():
        batcher.flush()
    return {task for b in found.values() for task in b.tasks}


async def _raise(exc: Exception) -> None:
    raise exc


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
