"""A state machine over ingest and the store (issue 11, "Tests"): random sequences of inbound
events (repeats, status flips, reused Idempotency-Keys, bad values) interleaved with a fake
delivery loop (claims, deliveries, retries, parks, a worker that dies), checked against a
model: every distinct event reaches each routed target once, in order, and nothing else
blocks (a rejected, duplicate or refused send creates nothing).

In-process, no HTTP and no simulators: ``Ingest`` and a ``Store`` driven directly, on SQLite
and on a real Redis. Two senders: Leo status updates (the dialect with no time or version in
its body) and the canonical dialect (a whole PO, which is what makes the hub hold the PO, and
goods receipts, which add to the PO's received total). A request may also be sent twice at
once (the sender's retry racing its first copy): still one event, applied to the PO once,
and each receipt counts once in the PO's state.

The model's dedup rule is the README's ("Duplicates, limits and replays"):

- with an ``Idempotency-Key``: the same key and body is a duplicate of the first message, the
  same key with another body is refused (``KeyReused``), a new key is a new event;
- without: a send equal to the sender's latest event for the PO is a duplicate (a lost reply
  resent); the same content after another event is a new event. The README's stated limit:
  while the hub has no latest message of the sender for the PO (the PO is unknown, or the
  sender has not spoken since it became known), any content the sender already sent in that
  condition is taken as a resend. A keyed event is never the latest *content* (its key named
  it), so an unkeyed send after it is a new event.

The fake worker does what ``gateway.delivery.worker`` decides without rendering: a target that needs
the whole PO (``needs_full_po``) parks a status-only event while the hub does not hold the PO
(``unknown_po``, re-checking after the park as the worker does); otherwise it delivers or
asks for a retry. "Nothing blocks": after a drain (and once every PO is known) no delivery is
left queued, retrying, in flight or parked, and each target received each line's events in
accepted order.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from adapters import registry
from core.errors import InvalidInput
from gateway.intake.ingest import Ingest, Ingested, KeyReused
from gateway.store.base import Store
from gateway.store.records import Delivery, Message, State
from tests import support

T = TypeVar("T")

LEO_HEADERS = support.headers_for(support.sample_paths("leo")[0])
ROUTES = {"leo": ["uniware", "enkash"], "canonical": ["uniware", "leo"]}
"""Leo's routes as config.yaml has them; the canonical dialect shares a target with Leo, so
one (target, PO) line carries events of both senders."""
POS = ["SM-1", "SM-2", "SM-3"]
STATUSES = ["APPROVED", "IN_PROGRESS", "SENT"]
QUANTITIES = [1, 5]
KEYS = st.none() | st.sampled_from(["key-1", "key-2", "key-3"])
BAD_NUMBERS = ["NaN", "1e400", "-1e400", "1e308", "123456789012345678901", '"1e400"',
               '"1e200000"', '"NaN"', '"0.00000000000000000001"']  # fmt: skip
"""Quantities the border refuses (README, "Bounds at the border")."""
LEASE_S = 30.0
RETRY_S = 5.0

SETTINGS = settings(
    max_examples=15,
    stateful_step_count=35,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

NEW, DUPLICATE, KEY_REUSED, REJECTED = "new", "duplicate", "key reused", "rejected"
F = TypeVar("F", bound=Callable[..., None])


def step(fn: F) -> F:
    """A rule or invariant that marks the machine failed when it raises: the teardown then
    only closes the store (its own checks would hide the first failure)."""

    @functools.wraps(fn)
    def checked(self: IngestMachine, *args: Any, **kwargs: Any) -> None:
        try:
            fn(self, *args, **kwargs)
        except BaseException:
            self.failed = True
            raise

    return checked  # type: ignore[return-value]


def headers(sender: str, key: str | None) -> dict[str, str]:
    found = {**(LEO_HEADERS if sender == "leo" else {}), "content-type": "application/json"}
    if key is not None:
        found["idempotency-key"] = key
    return found


def leo_body(po: str, status: str) -> bytes:
    return orjson.dumps({"documentNumber": po, "status": status, "lineInfo": []})


def canonical_body(po: str, status: str, quantity: int | str) -> bytes:
    line = {"line_number": "1", "sku": "SKU-1", "quantity": "__QTY__"}
    body = orjson.dumps({"po_number": po, "status": status, "lines": [line]}).decode()
    return body.replace('"__QTY__"', str(quantity)).encode()


def receipt_body(po: str) -> bytes:
    """Goods received against line 1: one accepted unit (the running total goes up by 1)."""
    receipts = [{"line_number": "1", "accepted": 1}]
    return orjson.dumps({"kind": "goods_received", "po_number": po,
                         "source_system": "canonical", "receipts": receipts})  # fmt: skip


def ordered(body: bytes) -> int | None:
    """The quantity a whole canonical PO orders (None for any other body)."""
    data = orjson.loads(body)
    lines = data.get("lines") if isinstance(data, dict) and "kind" not in data else None
    return int(lines[0]["quantity"]) if lines else None


def is_receipt(body: bytes) -> bool:
    return b'"goods_received"' in body


@dataclass(frozen=True)
class Sent:
    id: str
    body: bytes
    keyed: bool


@dataclass
class Model:
    """What the hub should have done with the sends so far."""

    known: set[str] = field(default_factory=set)
    """POs the hub holds (a whole PO was accepted for them)."""
    latest: dict[tuple[str, str], Sent] = field(default_factory=dict)
    """(sender, PO) -> the sender's latest event for the PO, recorded once the hub holds it."""
    unanchored: dict[tuple[str, str, bytes], str] = field(default_factory=dict)
    """(sender, PO, body) -> message id, for events accepted while the sender had no latest."""
    keys: dict[tuple[str, str], Sent] = field(default_factory=dict)
    """(sender, Idempotency-Key) -> the first event sent with it."""
    expected: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    """(target, PO) -> message ids in accepted order: what the target must receive."""
    rejected: int = 0
    quantity: dict[str, int] = field(default_factory=dict)
    """PO -> what its line 1 orders (the latest whole PO accepted for it)."""
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    """PO -> units received against line 1 (each new receipt event adds one, once)."""

    def verdict(
        self, sender: str, po: str, body: bytes, key: str | None
    ) -> tuple[str, str | None]:  # fmt: skip
        """``predict``, and a new receipt above what the PO orders is refused."""
        verdict, first = self.predict(sender, po, body, key)
        over = po in self.known and self.received[po] + 1 > self.quantity[po]
        if verdict == NEW and is_receipt(body) and over:
            return REJECTED, None
        return verdict, first

    def predict(self, sender: str, po: str, body: bytes, key: str | None) -> tuple[str, str | None]:
        """(verdict, id of the first message for a duplicate or a reused key)."""
        if key is not None:
            first = self.keys.get((sender, key))
            if first is None:
                return NEW, None
            return (DUPLICATE if first.body == body else KEY_REUSED), first.id
        latest = self.latest.get((sender, po))
        if latest is not None:
            same = not latest.keyed and latest.body == body
            return (DUPLICATE, latest.id) if same else (NEW, None)
        found = self.unanchored.get((sender, po, body))
        return (DUPLICATE, found) if found else (NEW, None)

    def accepted(self, sender: str, po: str, body: bytes, key: str | None, message_id: str) -> None:
        sent = Sent(message_id, body, key is not None)
        if key is not None:
            self.keys[(sender, key)] = sent
        elif (sender, po) not in self.latest:
            self.unanchored[(sender, po, body)] = message_id
        if ordered(body) is not None:
            self.known.add(po)
            self.quantity[po] = ordered(body) or 0
        elif is_receipt(body) and po in self.known:
            self.received[po] += 1
        if po in self.known:
            self.latest[(sender, po)] = sent
        for target in ROUTES[sender]:
            self.expected[(target, po)].append(message_id)

    def total(self) -> int:
        return sum(len(ids) for ids in self.expected.values())


@dataclass
class Claimed:
    delivery: Delivery
    message: Message
    without_po: bool
    """The hub held no state for the PO when the delivery was claimed (the worker's render)."""

    @property
    def line(self) -> tuple[str, str]:
        return self.delivery.target, self.delivery.po_number


class IngestMachine(RuleBasedStateMachine):
    def __init__(self, store_url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store = Store.from_url(store_url)
        self.run(self.store.open())
        self.ingest = Ingest(self.store, support.mappings(), ROUTES)
        self.model = Model()
        self.clock = datetime.now(UTC) + timedelta(days=1)
        """The time claims, retries and sweeps are told. A day ahead, so a retry is always
        due after every queued delivery (stamped with the real time): the claim order, and
        with it the run, does not depend on how fast the machine runs."""
        self.in_flight: dict[tuple[str, str], Claimed] = {}
        """(target, PO) -> the delivery the fake worker holds (at most one per line)."""
        self.received: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.history: dict[tuple[str, str], list[tuple[bytes, str | None]]] = defaultdict(list)
        self.failed = False

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    # sends ----------------------------------------------------------------------------------
    def send(self, sender: str, po: str, body: bytes, key: str | None, bad: bool = False) -> None:
        verdict, first = (REJECTED, None) if bad else self.model.verdict(sender, po, body, key)
        try:
            got: Ingested | BaseException = self.run(
                self.ingest.ingest(sender, body, headers(sender, key))
            )
        except (InvalidInput, KeyReused) as exc:
            got = exc
        self.check(sender, po, body, key, verdict, first, [got])
        if not bad:  # what the resend rules may send again
            self.history[(sender, po)].append((body, key))

    def check(
        self, sender: str, po: str, body: bytes, key: str | None, verdict: str,
        first: str | None, outcomes: list[Ingested | BaseException],
    ) -> None:  # fmt: skip
        """The outcomes of one request sent ``len(outcomes)`` times are ``verdict``: a new
        event is stored once, and every other copy is answered as its duplicate."""
        what = f"{sender} {body.decode()} (key {key!r})"
        created: list[str] = []
        for got in outcomes:
            if verdict == REJECTED:
                assert isinstance(got, InvalidInput), f"{what} not refused: {got!r}"
                self.model.rejected += 1
            elif verdict == KEY_REUSED:
                assert isinstance(got, KeyReused), f"{what} reuses a key: {got!r}"
                assert got.first == first
            else:
                assert isinstance(got, Ingested), f"{what} is {verdict}: {got!r}"
                assert len(got.messages) == 1
                message = got.messages[0]
                if got.created[0]:
                    assert sorted(d.target for d in message.deliveries) == sorted(ROUTES[sender])
                    created.append(message.id)
                first = first or message.id
                assert message.id == first, f"{what}: answered {message.id}, not {first}"
        if verdict == NEW:
            assert len(created) == 1, f"{what} is a new event, stored {len(created)} times"
            self.model.accepted(sender, po, body, key, created[0])
        else:
            assert not created, f"{what} is {verdict}, stored as new {created}"

    @rule(po=st.sampled_from(POS), status=st.sampled_from(STATUSES), key=KEYS)
    @step
    def leo_status(self, po: str, status: str, key: str | None) -> None:
        self.send("leo", po, leo_body(po, status), key)

    @rule(
        po=st.sampled_from(POS), status=st.sampled_from(STATUSES),
        quantity=st.sampled_from(QUANTITIES), key=KEYS,
    )  # fmt: skip
    @step
    def canonical_po(self, po: str, status: str, quantity: int, key: str | None) -> None:
        self.send("canonical", po, canonical_body(po, status, quantity), key)

    @rule(po=st.sampled_from(POS), key=KEYS)
    @step
    def canonical_receipt(self, po: str, key: str | None) -> None:
        self.send("canonical", po, receipt_body(po), key)

    @rule(
        po=st.sampled_from(POS), kind=st.sampled_from(["leo", "receipt", "po"]),
        status=st.sampled_from(STATUSES), key=KEYS,
    )  # fmt: skip
    @step
    def racing_resend(self, po: str, kind: str, status: str, key: str | None) -> None:
        """The same request twice at once: the sender timed out and sent it again while the
        first was still being stored (a slow store: both pass the dedup check before either
        is stored). One event, applied to the PO's state once."""
        sender = "leo" if kind == "leo" else "canonical"
        body = {"leo": leo_body(po, status), "receipt": receipt_body(po),
                "po": canonical_body(po, status, 5)}[kind]  # fmt: skip
        verdict, first = self.model.verdict(sender, po, body, key)
        accept = self.store.accept

        async def slow_accept(message: Message, targets: list[str]) -> tuple[Message, bool]:
            await asyncio.sleep(0.005)
            return await accept(message, targets)

        async def twice() -> list[Ingested | BaseException]:
            copies = [self.ingest.ingest(sender, body, headers(sender, key)) for _ in range(2)]
            return await asyncio.gather(*copies, return_exceptions=True)

        self.store.accept = slow_accept  # type: ignore[method-assign]
        try:
            outcomes = self.run(twice())
        finally:
            del self.store.accept
        self.check(sender, po, body, key, verdict, first, outcomes)
        self.history[(sender, po)].append((body, key))

    @precondition(lambda self: bool(self.history))
    @rule(data=st.data())
    @step
    def resend_latest(self, data: st.DataObject) -> None:
        """The sender's last request again, unchanged: the reply was lost."""
        sender, po = data.draw(st.sampled_from(sorted(self.history)))
        body, key = self.history[(sender, po)][-1]
        self.send(sender, po, body, key)

    @precondition(lambda self: any(len(h) > 1 for h in self.history.values()))
    @rule(data=st.data())
    @step
    def flip_back(self, data: st.DataObject) -> None:
        """An earlier request of the sender for the PO again (IN_PROGRESS, APPROVED, then
        IN_PROGRESS): a new event when something else came in between."""
        lines = sorted(k for k, h in self.history.items() if len(h) > 1)
        sender, po = data.draw(st.sampled_from(lines))
        body, key = data.draw(st.sampled_from(self.history[(sender, po)][:-1]))
        self.send(sender, po, body, key)

    @precondition(lambda self: bool(self.model.keys))
    @rule(data=st.data(), po=st.sampled_from(POS), status=st.sampled_from(STATUSES))
    @step
    def reuse_key(self, data: st.DataObject, po: str, status: str) -> None:
        """A key the sender already used, with another body (maybe for another PO)."""
        sender, key = data.draw(st.sampled_from(sorted(self.model.keys)))
        body = leo_body(po, status) if sender == "leo" else canonical_body(po, status, 7)
        self.send(sender, po, body, key)

    @rule(po=st.sampled_from(POS), bad=st.sampled_from(["NO_SUCH_STATUS", *BAD_NUMBERS]), key=KEYS)
    @step
    def bad_value(self, po: str, bad: str, key: str | None) -> None:
        """Refused at the border and recorded as rejected, whatever the key: an unknown Leo
        status code, or a canonical quantity out of bounds."""
        if bad == "NO_SUCH_STATUS":
            self.send("leo", po, leo_body(po, bad), key, bad=True)
        else:
            self.send("canonical", po, canonical_body(po, "APPROVED", bad), key, bad=True)

    # the fake worker ------------------------------------------------------------------------
    @rule(data=st.data(), n=st.integers(1, 4))
    @step
    def work(self, data: st.DataObject, n: int) -> None:
        """A moment later (a retry asked for before is due now), claim up to ``n``
        deliveries; each goes out, asks for a retry, or stays in flight."""
        self.clock += timedelta(seconds=RETRY_S)
        for line in self.claim_some(n):
            outcome = data.draw(st.sampled_from(["delivered", "retry", "hold"]), label=str(line))
            if outcome != "hold":
                self.complete(line, outcome)

    def claim_some(self, n: int) -> list[tuple[str, str]]:
        """Claim up to ``n`` deliveries, checking each is the next event of its line."""
        claimed = self.run(self.store.claim("sm", n, LEASE_S, self.clock))
        for delivery, message in claimed:
            c = Claimed(delivery, message, self.run(self.store.get_po(delivery.po_number)) is None)
            busy = self.in_flight.get(c.line)
            assert busy is None, (
                f"{c.line}: {delivery.id} claimed while {busy.delivery.id} is in flight"
            )
            done, expected = self.received[c.line], self.model.expected[c.line]
            assert len(done) < len(expected), f"{c.line}: {message.id} is not an event for it"
            assert message.id == expected[len(done)], (
                f"{c.line}: claimed {message.id} out of order; delivered {done}, "
                f"accepted {expected}"
            )
            self.in_flight[c.line] = c
        return sorted(self.in_flight[(d.target, d.po_number)].line for d, _ in claimed)

    @precondition(lambda self: bool(self.in_flight))
    @rule(data=st.data(), outcome=st.sampled_from(["delivered", "retry"]))
    @step
    def finish(self, data: st.DataObject, outcome: str) -> None:
        """One delivery held in flight goes out or asks for a retry."""
        line = data.draw(st.sampled_from(sorted(self.in_flight)))
        self.complete(line, outcome)

    def complete(self, line: tuple[str, str], outcome: str) -> None:
        c = self.in_flight.pop(line)
        delivery_id, po = c.delivery.id, c.delivery.po_number
        status_only = not c.message.canonical[0].get("po")
        if c.without_po and status_only and registry.get(c.delivery.target).needs_full_po:
            self.run(self.store.finish(delivery_id, None, State.PARKED, reason="unknown PO",
                                       park_kind="unknown_po"))  # fmt: skip
            # as the worker does: the PO may have arrived since the claim (its un-park ran
            # before this park)
            if self.run(self.store.get_po(po)) is not None:
                self.run(self.store.unpark(park_kind="unknown_po", po_number=po))
        elif outcome == "retry":
            due = self.clock + timedelta(seconds=RETRY_S)
            self.run(self.store.finish(delivery_id, None, State.RETRYING, next_at=due,
                                       reason="HTTP 503"))  # fmt: skip
        else:
            self.run(self.store.finish(delivery_id, None, State.DELIVERED))
            self.received[c.line].append(c.message.id)

    @precondition(lambda self: bool(self.in_flight))
    @rule()
    @step
    def worker_dies(self) -> None:
        """The worker's leases run out without a word from it; a sweep gives the work back."""
        self.clock += timedelta(seconds=LEASE_S + 1)
        swept = self.run(self.store.sweep(self.clock))
        assert swept == len(self.in_flight), f"swept {swept}, in flight {sorted(self.in_flight)}"
        self.in_flight.clear()

    @precondition(lambda self: self.undelivered() > 0)
    @rule()
    @step
    def drain(self) -> None:
        """Deliver everything that can go out: nothing is stuck but a status-only event
        waiting for a PO the hub does not hold, at a target that needs the whole PO."""
        self.deliver_all()
        for (target, po), ids in self.model.expected.items():
            done = self.received[(target, po)]
            if po not in self.model.known and registry.get(target).needs_full_po:
                assert ids[: len(done)] == done, (target, po, done, ids)
            else:
                assert done == ids, f"{target} {po}: delivered {done}, accepted {ids}"

    def undelivered(self) -> int:
        return self.model.total() - sum(len(ids) for ids in self.received.values())

    def deliver_all(self) -> None:
        for line in sorted(self.in_flight):
            self.complete(line, "delivered")
        for _ in range(500):
            self.clock += timedelta(seconds=RETRY_S)
            if not self.claim_some(50):
                return
            for line in sorted(self.in_flight):
                self.complete(line, "delivered")
        raise AssertionError("the queue never drained")

    # what must hold ---------------------------------------------------------------------------
    @invariant()
    @step
    def the_store_holds_what_the_model_says(self) -> None:
        counts = self.run(self.store.counts())
        stored = sum(n for state, n in counts.items() if state != "rejected")
        assert stored == self.model.total(), (counts, self.model.total())
        assert counts["rejected"] == self.model.rejected, counts
        assert counts["delivering"] == len(self.in_flight), counts
        assert counts["delivered"] == sum(len(ids) for ids in self.received.values()), counts

    @invariant()
    @step
    def each_receipt_counts_once(self) -> None:
        for po in sorted(self.model.known):
            state = self.run(self.store.get_po(po))
            assert state is not None, po
            got = state.lines[0].accepted_quantity or 0
            assert got == self.model.received[po], (
                f"{po}: {got} received, {self.model.received[po]} sent"
            )

    def teardown(self) -> None:
        try:
            if self.failed:
                return
            # every PO becomes known: what waited for one goes out, and then nothing is left
            for po in POS:
                if po not in self.model.known:
                    self.send("canonical", po, canonical_body(po, "APPROVED", 1), None)
            self.deliver_all()
            for line, ids in self.model.expected.items():
                assert self.received[line] == ids, f"{line}: delivered {self.received[line]}"
            counts = self.run(self.store.counts())
            assert counts["delivered"] == self.model.total(), counts
        finally:
            closing = getattr(self.store, "_flush_for_tests", None)
            if closing is not None:
                self.run(closing())
            self.run(self.store.close())
            self.loop.close()


def _on(url: Callable[[], str]) -> type[IngestMachine]:
    """The machine on a store of its own for each run (``url`` is called per run)."""

    class Machine(IngestMachine):
        def __init__(self) -> None:
            super().__init__(url())

    return Machine


def test_ingest_and_store_on_sqlite() -> None:
    run_state_machine_as_test(_on(lambda: "sqlite:///:memory:"), settings=SETTINGS)


def test_ingest_and_store_on_redis(redis_url: str) -> None:
    base = redis_url.rsplit("/", 1)[0]
    machine = _on(lambda: f"{base}/0?prefix=sm{uuid.uuid4().hex[:12]}")
    run_state_machine_as_test(machine, settings=SETTINGS)
