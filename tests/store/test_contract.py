"""One behaviour suite for every store backend: the backends only say how to open one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters._http import Exchange, ReceivedReply, SentRequest
from core.model import PurchaseOrder
from gateway.store.base import LEASE_EXPIRED, Store, aggregate
from gateway.store.records import Attempt, Message, MessageFilter, State

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "redis", "redis-p4", "redis-cluster"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """SQLite; one Redis with one partition (the default); one Redis with 4 partitions (the
    merges of searches, counts and claims across partitions, cheaply); a Redis Cluster of 3
    primaries with the cluster default of 16 partitions."""
    if request.param == "sqlite":
        s = Store.from_url(f"sqlite:///{tmp_path}/pohub.db")
    elif request.param == "redis-cluster":
        url = request.getfixturevalue("redis_cluster_url")
        s = Store.from_url(f"{url}?prefix=c{uuid.uuid4().hex[:12]}")
    else:
        url = request.getfixturevalue("redis_url")
        tag = uuid.uuid4().hex[:12]
        options = "&partitions=4" if request.param == "redis-p4" else ""
        s = Store.from_url(url.rsplit("/", 1)[0] + f"/0?prefix=c{tag}{options}")
    await s.open()
    if request.param != "sqlite":
        await s._flush_for_tests()  # type: ignore[attr-defined]
    try:
        yield s
    finally:
        await s.close()


def msg(
    po: str = "PO1", key: str | None = None, system: str = "uniware", at: datetime = T0
) -> Message:
    return Message(id=uuid.uuid4().hex, system=system, po_number=po, dedup_key=key,
                   received_at=at, body='{"x": 1}')  # fmt: skip


def attempt(outcome: str, status: int | None = 200) -> Attempt:
    return Attempt(at=T0, target="t", status=status, outcome=outcome, mapping_version="v1")


async def test_accept_stores_message_and_one_delivery_per_target(store: Store) -> None:
    stored, created = await store.accept(msg(), ["leo", "enkash"])
    assert created
    got = await store.get_message(stored.id)
    assert got is not None and got.body == '{"x": 1}'
    assert sorted(d.target for d in got.deliveries) == ["enkash", "leo"]
    assert all(d.state is State.QUEUED for d in got.deliveries)


async def test_duplicate_key_is_accepted_once(store: Store) -> None:
    first, created = await store.accept(msg(key="k1"), ["leo"])
    again, created_again = await store.accept(msg(key="k1"), ["leo"])
    assert created and not created_again and again.id == first.id
    assert (await store.find_duplicate("k1")).id == first.id  # type: ignore[union-attr]
    assert (await store.counts()).get("queued") == 1


async def test_claim_leases_each_delivery_once(store: Store) -> None:
    for i in range(5):
        await store.accept(msg(po=f"PO{i}"), ["leo"])
    a, b = await asyncio.gather(store.claim("w1", 3, 30, T0), store.claim("w2", 3, 30, T0))
    ids = [d.id for d, _ in a + b]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert not await store.claim("w3", 10, 30, T0)
    assert all(d.state is State.DELIVERING for d, _ in a)


async def test_a_po_goes_out_in_order_per_target(store: Store) -> None:
    one, _ = await store.accept(msg(po="A"), ["leo"])
    two, _ = await store.accept(msg(po="A", at=T0 + timedelta(seconds=1)), ["leo"])
    other, _ = await store.accept(msg(po="B"), ["leo"])
    claimed = await store.claim("w", 10, 30, T0)
    assert {m.id for _, m in claimed} == {one.id, other.id}
    first = next(d for d, m in claimed if m.id == one.id)
    await store.finish(first.id, attempt("delivered"), State.DELIVERED)
    nxt = await store.claim("w", 10, 30, T0)
    assert [m.id for _, m in nxt] == [two.id]


async def test_retry_waits_for_its_time_and_holds_the_line(store: Store) -> None:
    one, _ = await store.accept(msg(po="A"), ["leo"])
    await store.accept(msg(po="A"), ["leo"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    await store.finish(
        d.id, attempt("retry", 500), State.RETRYING, next_at=T0 + timedelta(seconds=5)
    )
    assert not await store.claim("w", 10, 30, T0 + timedelta(seconds=4))
    again = await store.claim("w", 10, 30, T0 + timedelta(seconds=6))
    assert [m.id for _, m in again] == [one.id]
    got = await store.get_message(one.id)
    assert [a.outcome for a in got.deliveries[0].attempts] == ["retry"]  # type: ignore[union-attr]


async def test_parked_holds_the_line_until_unparked(store: Store) -> None:
    one, _ = await store.accept(msg(po="A"), ["appliqloud"])
    await store.accept(msg(po="A"), ["appliqloud"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    await store.finish(d.id, attempt("parked", None), State.PARKED,
                       reason="mapping missing: crosswalks.vendor 'X'", park_kind="mapping")  # fmt: skip
    assert not await store.claim("w", 10, 30, T0)
    assert await store.unpark(target="leo", park_kind="mapping") == 0
    assert await store.unpark(target="appliqloud", park_kind="mapping") == 1
    assert [m.id for _, m in await store.claim("w", 10, 30, T0 + timedelta(seconds=1))] == [one.id]


async def test_unpark_by_po(store: Store) -> None:
    a, _ = await store.accept(msg(po="A"), ["uniware"])
    await store.accept(msg(po="B"), ["uniware"])
    for d, _ in await store.claim("w", 10, 30, T0):
        await store.finish(d.id, None, State.PARKED, reason="unknown PO", park_kind="unknown_po")
    assert await store.unpark(park_kind="unknown_po", po_number="A") == 1
    assert [m.id for _, m in await store.claim("w", 10, 30, T0 + timedelta(seconds=1))] == [a.id]


async def test_dead_releases_the_line_and_replay_requeues(store: Store) -> None:
    _one, _ = await store.accept(msg(po="A"), ["leo"])
    two, _ = await store.accept(msg(po="A"), ["leo"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    await store.finish(d.id, attempt("dead", 400), State.DEAD, reason="400 refused")
    ((d2, m2),) = await store.claim("w", 10, 30, T0)
    assert m2.id == two.id
    await store.finish(d2.id, attempt("delivered"), State.DELIVERED)
    assert await store.replay(d.id)
    ((d3, _),) = await store.claim("w", 10, 30, T0 + timedelta(seconds=1))
    assert d3.id == d.id and len(d3.attempts) == 1


async def test_sweep_gives_back_expired_leases(store: Store) -> None:
    await store.accept(msg(), ["leo"])
    ((d, _),) = await store.claim("w", 10, 5, T0)
    assert await store.sweep(T0 + timedelta(seconds=1)) == 0
    assert await store.sweep(T0 + timedelta(seconds=6)) == 1
    ((again, _),) = await store.claim("w2", 10, 5, T0 + timedelta(seconds=7))
    assert again.id == d.id
    # its call may have landed: the next worker knows (issue 12, worker._unsure)
    assert again.reason == LEASE_EXPIRED


async def test_a_swept_delivery_is_retrying_on_every_backend(store: Store) -> None:
    """The lease ran out: an attempt may have reached the target, so it is a retry."""
    stored, _ = await store.accept(msg(), ["leo"])
    await store.claim("w", 10, 5, T0)
    assert await store.sweep(T0 + timedelta(seconds=6)) == 1
    got = await store.get_message(stored.id)
    assert got is not None and got.deliveries[0].state is State.RETRYING


async def test_reason_search_ignores_case_on_every_backend(store: Store) -> None:
    stored, _ = await store.accept(msg(), ["leo"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    await store.finish(d.id, attempt("dead", 400), State.DEAD, reason="400 Refused: Bad Vendor")
    for needle in ("bad vendor", "BAD VENDOR", "Bad Vendor"):
        page = await store.search(MessageFilter(reason=needle))
        assert [m.id for m in page.items] == [stored.id], needle
        assert [x.id async for x in store.deliveries(MessageFilter(reason=needle))] == [d.id]


async def test_finish_of_an_unknown_delivery_is_an_error(store: Store) -> None:
    with pytest.raises(KeyError):
        await store.finish("no-such-id:leo", None, State.DEAD, reason="x")


@pytest.mark.parametrize("state", [State.DELIVERING, State.RECEIVED, State.REJECTED])
async def test_finish_refuses_states_a_worker_cannot_set(store: Store, state: State) -> None:
    await store.accept(msg(), ["leo"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    with pytest.raises(ValueError):
        await store.finish(d.id, None, state)


async def test_final_states_stay_final(store: Store) -> None:
    stored, _ = await store.accept(msg(), ["leo"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    await store.finish(d.id, attempt("delivered"), State.DELIVERED)
    await store.finish(d.id, attempt("retry", 503), State.RETRYING, reason="late")
    got = await store.get_message(stored.id)
    assert got is not None
    assert got.deliveries[0].state is State.DELIVERED and got.deliveries[0].reason is None
    assert [a.outcome for a in got.deliveries[0].attempts] == ["delivered"]


async def test_reject_is_recorded_and_searchable(store: Store) -> None:
    bad = msg()
    bad.status, bad.error, bad.error_path = State.REJECTED, "Field required", "$.code"
    await store.reject(bad)
    page = await store.search(MessageFilter(status=State.REJECTED))
    assert [m.id for m in page.items] == [bad.id] and page.items[0].error_path == "$.code"
    assert (await store.counts()).get("rejected") == 1


async def test_search_filters_and_pages(store: Store) -> None:
    for i in range(7):
        await store.accept(msg(po=f"P{i % 2}", at=T0 + timedelta(minutes=i)), ["leo", "enkash"])
    page = await store.search(MessageFilter(po_number="P0"), offset=0, limit=3)
    assert page.total == 4 and len(page.items) == 3
    assert page.items[0].received_at > page.items[1].received_at
    assert (await store.search(MessageFilter(system="leo"))).total == 0
    assert (await store.search(MessageFilter(since=T0 + timedelta(minutes=5)))).total == 2
    for d, _ in await store.claim("w", 2, 30, T0):
        await store.finish(d.id, attempt("dead", 400), State.DEAD, reason="boom")
    dead = [d async for d in store.deliveries(MessageFilter(status=State.DEAD))]
    assert len(dead) == 2
    assert (await store.search(MessageFilter(status=State.DEAD))).total == len(
        {d.message_id for d in dead}
    )


async def test_message_state_is_the_least_finished_delivery(store: Store) -> None:
    m, _ = await store.accept(msg(), ["leo", "enkash"])
    claimed = await store.claim("w", 10, 30, T0)
    await store.finish(claimed[0][0].id, attempt("delivered"), State.DELIVERED)
    got = await store.get_message(m.id)
    assert aggregate(got) is State.DELIVERING  # type: ignore[arg-type]


async def test_po_state_updates_are_atomic(store: Store) -> None:
    def bump(po: PurchaseOrder | None) -> PurchaseOrder:
        if po is None:
            return PurchaseOrder(po_number="X", version=1)
        return po.model_copy(update={"version": po.version + 1})

    await asyncio.gather(*(store.update_po("X", bump) for _ in range(20)))
    got = await store.get_po("X")
    assert got is not None and got.version == 20


async def test_timeline_is_oldest_first(store: Store) -> None:
    late, _ = await store.accept(msg(po="T", at=T0 + timedelta(hours=1)), ["leo"])
    early, _ = await store.accept(msg(po="T", at=T0), ["leo"])
    assert [m.id for m in await store.timeline("T")] == [early.id, late.id]


async def test_checkpoints(store: Store) -> None:
    assert await store.get_checkpoint("alphaalpha.poll") is None
    await store.set_checkpoint("alphaalpha.poll", "2026-01-01T00:00:00Z")
    assert await store.get_checkpoint("alphaalpha.poll") == "2026-01-01T00:00:00Z"
    assert await store.ping()


def exchange(step: int, body: str, status: int | None = 200) -> Exchange:
    request = SentRequest("POST", "/orders", "http://target/orders",
                          {"authorization": "[redacted]", "idempotency-key": f"k:{step}"},
                          body, len(body.encode()))  # fmt: skip
    if status is None:
        return Exchange(step, "create", request, None, "timeout (ReadTimeout)", 3000.0)
    reply = ReceivedReply(status, {"content-type": "application/json"}, '{"id": "R1"}', 40_000,
                          truncated=True)  # fmt: skip
    return Exchange(step, "create", request, reply, None, 12.5)


async def test_attempts_keep_their_exchanges_for_the_detail_only(store: Store) -> None:
    m, _ = await store.accept(msg(po="X1"), ["alphaalpha"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    timed_out = attempt("retry", None)
    timed_out.exchanges = [exchange(0, '{"po": "X1", "näme": "ü"}', None)]
    await store.finish(d.id, timed_out, State.RETRYING, next_at=T0)
    ((d, _),) = await store.claim("w", 10, 30, T0 + timedelta(seconds=1))
    await store.finish(d.id, attempt("retry", 500), State.RETRYING, next_at=T0)  # none sent
    ((d, claimed),) = await store.claim("w", 10, 30, T0 + timedelta(seconds=2))
    assert all(not a.exchanges for a in claimed.deliveries[0].attempts)  # claims stay light
    done = attempt("delivered")
    done.exchanges = [exchange(0, '{"po": "X1"}'), exchange(1, "pdf=X1")]
    await store.finish(d.id, done, State.DELIVERED)

    got = await store.get_message(m.id)
    assert got is not None
    first, second, third = got.deliveries[0].attempts
    assert first.exchanges == timed_out.exchanges and first.exchanges[0].reply is None
    assert first.exchanges[0].request.body == '{"po": "X1", "näme": "ü"}'
    assert second.exchanges == []
    assert third.exchanges == done.exchanges
    reply = third.exchanges[0].reply
    assert reply is not None and reply.truncated and reply.size == 40_000
    assert [x.step for x in third.exchanges] == [0, 1]

    page = await store.search(MessageFilter(po_number="X1"))
    assert all(not a.exchanges for a in page.items[0].deliveries[0].attempts)
    (listed,) = await store.timeline("X1")
    assert len(listed.deliveries[0].attempts) == 3
    assert all(not a.exchanges for a in listed.deliveries[0].attempts)


# ingest: one inbound event as a whole ------------------------------------------------------
def _po(number: str, note: str) -> PurchaseOrder:
    return PurchaseOrder(po_number=number, extensions={"t": {"note": note}})


async def test_ingest_writes_the_po_state_and_the_message_together(store: Store) -> None:
    seen: list[PurchaseOrder | None] = []

    def change(state: PurchaseOrder | None) -> PurchaseOrder | None:
        seen.append(state)
        return _po("PO1", "first")

    stored, created = await store.ingest(msg(key="k1"), ["leo"], change, True)
    assert created and seen == [None]
    po = await store.get_po("PO1")
    assert po is not None and po.extensions["t"]["note"] == "first"
    got = await store.get_message(stored.id)
    assert got is not None and [d.target for d in got.deliveries] == ["leo"]


async def test_ingest_of_a_duplicate_changes_no_state(store: Store) -> None:
    await store.ingest(msg(key="k1"), ["leo"], lambda _: _po("PO1", "first"), True)
    _, created = await store.ingest(msg(key="k1"), ["leo"], lambda _: _po("PO1", "x"), True)
    assert not created
    po = await store.get_po("PO1")
    assert po is not None and po.extensions["t"]["note"] == "first"
    assert (await store.counts()).get("queued") == 1


async def test_ingest_releases_deliveries_parked_for_an_unknown_po(store: Store) -> None:
    await store.accept(msg(po="PO9"), ["leo"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    await store.finish(d.id, None, State.PARKED, reason="unknown PO", park_kind="unknown_po")
    await store.ingest(msg(po="PO9", key="k9"), ["enkash"], lambda _: _po("PO9", "n"), True)
    got = await store.get_message(d.message_id)
    assert got is not None and got.deliveries[0].state is State.QUEUED


async def test_concurrent_ingests_of_one_po_each_see_the_others_state(store: Store) -> None:
    """Read-modify-write of the PO state under concurrency loses no event's change."""

    def add(tag: str) -> Any:
        def change(state: PurchaseOrder | None) -> PurchaseOrder:
            notes = (state.extensions["t"]["notes"] if state else []) + [tag]
            return PurchaseOrder(po_number="PO1", extensions={"t": {"notes": notes}})

        return change

    await asyncio.gather(
        *(store.ingest(msg(key=f"k{i}"), ["leo"], add(str(i)), True) for i in range(20))
    )
    po = await store.get_po("PO1")
    assert po is not None and sorted(po.extensions["t"]["notes"], key=int) == [
        str(i) for i in range(20)
    ]


async def test_unpark_releases_every_match_past_one_batch(store: Store) -> None:
    """More parked deliveries than one batch (Redis walks the parked set 500 at a time)."""
    for i in range(1200):
        await store.accept(msg(po=f"PO{i}"), ["leo" if i % 3 else "enkash"])
    for d, _ in await store.claim("w", 2000, 30, T0):
        await store.finish(d.id, None, State.PARKED, reason="mapping missing", park_kind="mapping")
    released = await store.unpark(target="leo", park_kind="mapping")
    assert released == 800
    counts = await store.counts()
    assert counts.get("queued") == 800 and counts.get("parked") == 400


async def test_swap_checkpoint_is_compare_and_set(store: Store) -> None:
    assert await store.swap_checkpoint("c", None, "1")
    assert not await store.swap_checkpoint("c", None, "2")  # exists already
    assert not await store.swap_checkpoint("c", "0", "2")  # holds something else
    assert await store.swap_checkpoint("c", "1", "2")
    assert await store.get_checkpoint("c") == "2"


async def test_concurrent_mapping_saves_lose_no_version(store: Store) -> None:
    """Saves from several processes (no shared lock) each get their own version number."""
    from gateway.mappings import versions as mv

    def record(i: int) -> dict[str, Any]:
        return {"version": 1, "content_version": f"c{i}", "author": str(i), "mapping": {}}

    saved = await asyncio.gather(*(mv._commit(store, "leo", record(i)) for i in range(12)))
    numbers = sorted(r["version"] for r in saved)
    assert numbers == list(range(1, 13))
    head = await mv.head(store, "leo")
    assert head is not None and head["version"] == 12
    kept = {(await mv.get_version(store, "leo", n) or {}).get("author") for n in numbers}
    assert kept == {str(i) for i in range(12)}


async def test_a_replay_pin_is_a_field_of_the_delivery(store: Store) -> None:
    stored, _ = await store.accept(msg(), ["leo"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    await store.finish(d.id, attempt("dead", 400), State.DEAD, reason="x")
    assert await store.replay(d.id, pin="content-v1")
    ((claimed, _),) = await store.claim("w", 10, 30, T0 + timedelta(seconds=1))
    assert claimed.pinned_mapping == "content-v1"
    await store.finish(d.id, attempt("dead", 400), State.DEAD, reason="x")
    assert await store.replay(d.id)  # a replay with the live mapping clears the pin
    got = await store.get_message(stored.id)
    assert got is not None and got.deliveries[0].pinned_mapping is None


async def test_a_light_search_leaves_bodies_out_and_sizes_them(store: Store) -> None:
    """Lists and timelines read light pages: no body, headers or events beyond their kind,
    the body's size in bytes beside; the deliveries and attempts are as in a full page."""
    big = msg(po="L1")
    big.body = "é" * 100_000
    big.headers = {"content-type": "application/json"}
    big.canonical = [{"kind": "po.created", "po": {"lines": [{"sku": "x"}] * 100}},
                     {"kind": "po.updated"}]  # fmt: skip
    stored, _ = await store.accept(big, ["leo"])
    await store.accept(msg(po="L1", at=T0 + timedelta(minutes=1)), ["leo"])
    light = await store.search(MessageFilter(po_number="L1"), light=True)
    full = await store.search(MessageFilter(po_number="L1"))
    assert light.total == full.total == 2
    assert [m.id for m in light.items] == [m.id for m in full.items]
    item = next(m for m in light.items if m.id == stored.id)
    assert item.body == "" and item.headers == {}
    assert item.canonical == [{"kind": "po.created"}, {"kind": "po.updated"}]
    assert light.body_sizes[stored.id] == 200_000
    assert [d.target for d in item.deliveries] == ["leo"]
    assert full.body_sizes == {}
    filtered = await store.search(MessageFilter(po_number="L1", target="leo"), light=True)
    assert filtered.total == 2 and filtered.body_sizes[stored.id] == 200_000


async def test_extend_renews_only_the_holders_lease(store: Store) -> None:
    """A worker's heartbeat keeps a slow delivery from being swept while it is being sent."""
    await store.accept(msg(), ["leo"])
    ((d, _),) = await store.claim("w1", 10, 5, T0)
    assert await store.extend("w2", [d.id], 5, T0 + timedelta(seconds=4)) == 0  # not its lease
    assert await store.extend("w1", [d.id], 5, T0 + timedelta(seconds=4)) == 1
    assert await store.sweep(T0 + timedelta(seconds=6)) == 0  # renewed until T0 + 9 s
    assert await store.sweep(T0 + timedelta(seconds=10)) == 1
    assert await store.extend("w1", [d.id], 5, T0 + timedelta(seconds=11)) == 0  # swept


async def test_backlog_per_target_counts_what_waits_and_dates_the_oldest(store: Store) -> None:
    """The health page's backlog (issue 15): what is on its way per target, apart from what
    is parked for a cause and what waits for a paused target; the oldest dated by arrival."""
    assert await store.backlog() == {}
    await store.accept(msg(po="A", at=T0), ["leo", "enkash"])
    await store.accept(msg(po="B", at=T0 + timedelta(hours=1)), ["leo"])
    await store.accept(msg(po="C", at=T0 + timedelta(hours=2)), ["leo"])
    await store.accept(msg(po="D", at=T0 + timedelta(hours=3)), ["enkash"])
    await store.accept(msg(po="E", at=T0 + timedelta(hours=4)), ["uniware"])
    claimed = {(m.po_number, d.target): d for d, m in await store.claim("w", 10, 30, T0)}
    assert len(claimed) == 6
    # E back in the queue (claiming 5 of 6 would leave a different one queued on a store
    # with partitions: first-in first-out holds within a partition, not across them)
    await store.finish(claimed["E", "uniware"].id, None, State.QUEUED)
    due = T0 + timedelta(hours=5)
    await store.finish(claimed["A", "leo"].id, attempt("retry", 500), State.RETRYING, next_at=due)
    await store.finish(claimed["B", "leo"].id, attempt("parked", None), State.PARKED,
                       reason="mapping missing", park_kind="mapping")  # fmt: skip
    await store.finish(claimed["C", "leo"].id, None, State.PARKED, reason="paused",
                       park_kind="paused")  # fmt: skip
    await store.finish(claimed["A", "enkash"].id, attempt("delivered"), State.DELIVERED)
    loads = await store.backlog()
    assert set(loads) == {"leo", "enkash", "uniware"}
    leo, enkash, uniware = loads["leo"], loads["enkash"], loads["uniware"]
    assert (leo.queued, leo.retrying, leo.delivering, leo.parked, leo.paused) == (0, 1, 0, 1, 1)
    assert leo.backlog == 1
    second = timedelta(seconds=1)
    assert leo.oldest_at is not None and abs(leo.oldest_at - T0) < second
    assert leo.next_retry_at is not None and abs(leo.next_retry_at - due) < second
    assert (enkash.delivering, enkash.backlog, enkash.next_retry_at) == (1, 1, None)
    assert enkash.oldest_at is not None
    assert abs(enkash.oldest_at - (T0 + timedelta(hours=3))) < second
    assert (uniware.queued, uniware.backlog) == (1, 1)
    assert await store.unpark(target="leo", park_kind="paused") == 1
    assert await store.replay(claimed["A", "enkash"].id)
    loads = await store.backlog()
    assert (loads["leo"].queued, loads["leo"].paused, loads["enkash"].queued) == (1, 0, 1)
    assert await store.sweep(T0 + timedelta(minutes=1)) == 1  # D's lease ran out
    assert (await store.backlog())["enkash"].retrying == 1


async def test_finish_and_update_writes_the_po_and_the_outcome(store: Store) -> None:
    from core.model import PurchaseOrder

    await store.accept(msg(po="PO-F"), ["leo"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    learnt = PurchaseOrder(po_number="PO-F", remote_ids={"leo": "ERP-1"})
    await store.finish_and_update(d.id, attempt("delivered"), State.DELIVERED, "PO-F",
                                  lambda po: learnt)  # fmt: skip
    got = await store.get_message(d.message_id)
    assert got is not None and got.deliveries[0].state is State.DELIVERED
    state = await store.get_po("PO-F")
    assert state is not None and state.remote_ids == {"leo": "ERP-1"}


async def test_finish_and_update_writes_both_or_neither(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full Redis chaos run (issue 12): the PO state learnt EnKash's new version, the
    delivery's outcome was never written (a worker killed between two writes), and the next
    sending rendered the version after: one event applied as two version steps. What a
    delivery taught and its outcome are written together or not at all."""
    await store.accept(msg(po="PO-B"), ["enkash"])
    ((d, _),) = await store.claim("w", 10, 30, T0)

    async def dies(*args: Any, **kwargs: Any) -> int:
        raise ConnectionError("the process died between two writes")

    monkeypatch.setattr(store, "_finish", dies)  # a second write that never happens
    learnt = PurchaseOrder(po_number="PO-B", remote_ids={"enkash": "ENK-1"})
    try:
        await store.finish_and_update(d.id, attempt("delivered"), State.DELIVERED, "PO-B",
                                      lambda po: learnt)  # fmt: skip
        died = False
    except ConnectionError:
        died = True
    got = await store.get_message(d.message_id)
    state = await store.get_po("PO-B")
    delivered = got is not None and got.deliveries[0].state is State.DELIVERED
    learned = state is not None and state.remote_ids == {"enkash": "ENK-1"}
    assert delivered == learned == (not died)
