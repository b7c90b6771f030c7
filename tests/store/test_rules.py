"""The store's rules (``gateway.store.rules``) on every backend: every transition of every
move, allowed and refused; every filter field alone, together and in any case; unknown ids
for every operation that takes one; ingest as a whole. A backend that decided a state, a
filter or a reset its own way fails here."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from core.model import PurchaseOrder
from gateway.store import rules
from gateway.store.base import LEASE_EXPIRED, Store
from gateway.store.records import Delivery, Message, MessageFilter, State
from tests.store.test_contract import T0, attempt, msg, store  # noqa: F401 (the fixture)

pytestmark = pytest.mark.anyio
DELIVERY_STATES = sorted(rules.DELIVERY_STATES)
LATER = T0 + timedelta(days=1)


def test_the_transition_table_is_the_documented_one() -> None:
    """The table itself, spelt out: the suites below take it as their expectation."""
    q, dg, dd, r, p, x = (State.QUEUED, State.DELIVERING, State.DELIVERED, State.RETRYING,
                          State.PARKED, State.DEAD)  # fmt: skip
    table = {name: (set(m.sources), set(m.targets), m.clears) for name, m in rules.MOVES.items()}
    assert table == {
        "claim": ({q, r}, {dg}, ()),
        "finish": ({q, dg, r, p}, {dd, x, r, p, q}, ("lease_until",)),
        "sweep": ({dg}, {r}, ("lease_until", "park_kind")),
        "unpark": ({p}, {q}, ("lease_until", "reason", "park_kind")),
        "replay": ({q, r, p, dd, x}, {q}, ("lease_until", "reason", "park_kind")),
    }
    assert {dd, x} == rules.FINAL and not rules.FINAL & rules.FINISH.sources


async def deliveries_in(store: Store, states: list[State]) -> list[str]:  # noqa: F811
    """One delivery per entry of ``states``, each alone on its own PO, put in that state
    through the contract (claim, then finish; DELIVERING: left claimed, lease until T0+30s)."""
    pos = [f"S{uuid.uuid4().hex[:10]}" for _ in states]
    for po in pos:
        await store.accept(msg(po=po), ["leo"])
    claimed = {m.po_number: d for d, m in await store.claim("w", len(pos), 30, T0)}
    assert set(claimed) == set(pos)
    for po, state in zip(pos, states, strict=True):
        did = claimed[po].id
        if state is State.RETRYING:
            await store.finish(did, attempt("retry", 503), state, next_at=LATER, reason="503")
        elif state is State.PARKED:
            await store.finish(did, None, state, reason="mapping missing", park_kind="mapping")
        elif state in (State.DELIVERED, State.QUEUED):
            await store.finish(did, attempt("delivered") if state is State.DELIVERED else None,
                               state)  # fmt: skip
        elif state is State.DEAD:
            await store.finish(did, attempt("dead", 400), state, reason="400 refused")
    ids = [claimed[po].id for po in pos]
    assert [(await get(store, i)).state for i in ids] == states
    return ids


async def get(store: Store, delivery_id: str) -> Delivery:  # noqa: F811
    (delivery,) = [d async for d in store.deliveries(MessageFilter()) if d.id == delivery_id]
    return delivery


# every transition ---------------------------------------------------------------------------
@pytest.mark.parametrize("source", DELIVERY_STATES)
async def test_finish_from_each_state_into_each_state(store: Store, source: State) -> None:  # noqa: F811
    targets = list(State)
    ids = await deliveries_in(store, [source] * len(targets))
    for did, to in zip(ids, targets, strict=True):
        before = await get(store, did)
        if to not in rules.FINISH.targets:
            with pytest.raises(ValueError):
                await store.finish(did, attempt("x"), to, reason="new")
            assert (await get(store, did)).state is source
            continue
        kind = "k" if to is State.PARKED else None
        await store.finish(did, attempt("x", 201), to, reason="new", park_kind=kind,
                           next_at=LATER)  # fmt: skip
        after = await get(store, did)
        if rules.FINISH.allows(source, to):
            assert after.state is to, (source, to)
            assert (after.reason, after.park_kind, after.lease_until) == ("new", kind, None)
            assert [a.status for a in after.attempts][-1] == 201
            if to in (State.RETRYING, State.QUEUED):
                assert abs(after.next_at - LATER) < timedelta(seconds=1)
        else:  # final stays final: nothing of the late outcome is written
            assert after.state is source and after.reason == before.reason, (source, to)
            assert len(after.attempts) == len(before.attempts)


@pytest.mark.parametrize("source", DELIVERY_STATES)
async def test_replay_from_each_state(store: Store, source: State) -> None:  # noqa: F811
    (did,) = await deliveries_in(store, [source])
    before = await get(store, did)
    replayed = await store.replay(did, pin="content-7", by="ann (operator)")
    after = await get(store, did)
    assert replayed is (source in rules.REPLAY.sources)
    if not replayed:
        assert after.state is source and after.lease_until == before.lease_until
        assert after.pinned_mapping is None and after.replayed_by is None
        return
    assert after.state is State.QUEUED
    assert (after.reason, after.park_kind, after.lease_until) == (None, None, None)
    assert (after.pinned_mapping, after.replayed_by) == ("content-7", "ann (operator)")
    assert [a.outcome for a in after.attempts] == [a.outcome for a in before.attempts]
    claimed = [d.id for d, _ in await store.claim("w2", 10, 30, T0)]
    assert claimed == [did]  # due now, whatever it was before


async def test_each_move_acts_only_on_its_sources(store: Store) -> None:  # noqa: F811
    """claim, sweep and unpark over one delivery in each state: only the move's sources
    change, each into the move's target; the others stay as they were."""
    ids = dict(zip(DELIVERY_STATES, await deliveries_in(store, DELIVERY_STATES), strict=True))

    async def states() -> dict[State, State]:
        return {s: (await get(store, i)).state for s, i in ids.items()}

    assert await store.unpark() == len(rules.UNPARK.sources)
    assert await states() == {s: State.QUEUED if s in rules.UNPARK.sources else s for s in ids}
    parked = await get(store, ids[State.PARKED])
    assert (parked.reason, parked.park_kind) == (None, None)

    swept = await store.sweep(T0 + timedelta(minutes=5))  # the DELIVERING lease ended at T0+30s
    assert swept == len(rules.SWEEP.sources)
    moved = {s: State.QUEUED if s in rules.UNPARK.sources else s for s in ids}
    moved[State.DELIVERING] = State.RETRYING
    assert await states() == moved
    assert (await get(store, ids[State.DELIVERING])).reason == LEASE_EXPIRED

    claimed = {d.id for d, _ in await store.claim("w3", 10, 30, LATER + timedelta(seconds=1))}
    expect = {ids[s] for s, now in moved.items() if now in rules.CLAIM.sources}
    assert claimed == expect
    assert {s: st for s, st in (await states()).items() if ids[s] in claimed} == {
        s: State.DELIVERING for s in ids if ids[s] in claimed
    }


async def test_claim_takes_only_due_retries(store: Store) -> None:  # noqa: F811
    (did,) = await deliveries_in(store, [State.RETRYING])
    assert not await store.claim("w", 10, 30, LATER - timedelta(seconds=1))
    assert [d.id for d, _ in await store.claim("w", 10, 30, LATER + timedelta(seconds=1))] == [did]


async def test_a_requeue_keeps_the_doubt_of_an_unfinished_delivery(store: Store) -> None:  # noqa: F811
    """A swept delivery's reason is the only record that its call may have landed: a replay
    before its next attempt keeps it (the next sending reads back first); a replay of a
    final delivery starts a new round and clears its reason."""
    swept, dead = await deliveries_in(store, [State.DELIVERING, State.DEAD])
    assert await store.sweep(T0 + timedelta(minutes=5)) == 1
    assert await store.replay(swept) and await store.replay(dead)
    assert (await get(store, swept)).reason == LEASE_EXPIRED
    assert (await get(store, dead)).reason is None
    ((claimed, _),) = [c for c in await store.claim("w", 10, 30, T0) if c[0].id == swept]
    assert claimed.reason == LEASE_EXPIRED


async def test_pause_and_resume_are_a_park_and_an_unpark_of_its_kind(store: Store) -> None:  # noqa: F811
    paused, mapping = await deliveries_in(store, [State.DELIVERING, State.DELIVERING])
    await store.finish(paused, None, State.PARKED, reason="paused", park_kind="paused")
    await store.finish(mapping, None, State.PARKED, reason="no row", park_kind="mapping")
    assert await store.unpark(target="leo", park_kind="paused") == 1
    assert (await get(store, paused)).state is State.QUEUED
    assert (await get(store, mapping)).state is State.PARKED


@pytest.mark.parametrize("field", ["target", "park_kind", "po_number"])
async def test_unpark_matches_each_of_its_fields(store: Store, field: str) -> None:  # noqa: F811
    a, b = await deliveries_in(store, [State.DELIVERING, State.DELIVERING])
    await store.finish(a, None, State.PARKED, reason="r", park_kind="mapping")
    await store.finish(b, None, State.PARKED, reason="r", park_kind="mapping")
    one = await get(store, a)
    value = {"target": "leo", "park_kind": "mapping", "po_number": one.po_number}[field]
    wrong = {field: value + "-other"}
    assert await store.unpark(**wrong) == 0
    assert await store.unpark(**{field: value}) == (1 if field == "po_number" else 2)
    assert (await get(store, a)).state is State.QUEUED


# unknown ids --------------------------------------------------------------------------------
UNKNOWN_IDS = ["no-such-delivery", "0123456789abcdef0123456789abcdef-p0", f"{uuid.uuid4().hex}:leo"]
"""Ids of no delivery: free text, and the shapes each backend gives its own ids."""


@pytest.mark.parametrize("did", UNKNOWN_IDS)
async def test_every_operation_on_an_unknown_id(store: Store, did: str) -> None:  # noqa: F811
    with pytest.raises(KeyError):
        await store.finish(did, attempt("delivered"), State.DELIVERED)
    with pytest.raises(KeyError):
        await store.replay(did)
    with pytest.raises(KeyError):
        await store.finish_and_update(did, None, State.DEAD, "PO-U", lambda _: PurchaseOrder(
            po_number="PO-U"))  # fmt: skip
    assert await store.extend("w", [did], 30, T0) == 0
    assert await store.get_message(did) is None
    assert await store.get_message(did.split(":")[0]) is None
    assert await store.counts() == {s.value: 0 for s in [*DELIVERY_STATES, State.REJECTED]}


# filters ------------------------------------------------------------------------------------
def named(name: str, **kw: Any) -> Message:
    """``msg`` with an id that starts with ``name`` (for the ``message_id`` filter)."""
    return msg(**kw).model_copy(update={"id": f"{name}{uuid.uuid4().hex[:8]}"})


async def _filter_world(store: Store) -> dict[str, Message]:  # noqa: F811
    """Four messages that differ in every filtered field (non-ASCII PO numbers and reasons:
    case folds the Unicode way on every backend)."""
    hour = timedelta(hours=1)
    one, _ = await store.accept(named("one", po="PO-Äb1", at=T0), ["leo", "enkash"])
    two, _ = await store.accept(named("two", po="po-x2", system="leo", at=T0 + hour),
                                ["uniware"])  # fmt: skip
    bad = named("bad", po="PO-äB3", at=T0 + 2 * hour)
    bad.status, bad.error = State.REJECTED, "Field REQUIRED: Straße"
    await store.reject(bad)
    none, _ = await store.accept(named("none", po="Q4", system="canonical", at=T0 + 3 * hour),
                                 [])  # fmt: skip
    claimed = {(m.id, d.target): d for d, m in await store.claim("w", 10, 30, T0)}
    await store.finish(claimed[one.id, "leo"].id, attempt("dead", 400), State.DEAD,
                       reason="400 Über refused")  # fmt: skip
    await store.finish(claimed[one.id, "enkash"].id, attempt("delivered"), State.DELIVERED)
    await store.finish(claimed[two.id, "uniware"].id, None, State.PARKED, reason="UNKNOWN PO",
                       park_kind="unknown_po")  # fmt: skip
    return {"one": one, "two": two, "bad": bad, "none": none}


SEARCHES: list[tuple[dict[str, Any], set[str]]] = [
    ({}, {"one", "two", "bad", "none"}),
    ({"system": "uniware"}, {"one", "bad"}),
    ({"po_number": "PO-Äb1"}, {"one"}),
    ({"po_number": "po-äb1"}, set()),  # the exact number
    ({"po_prefix": "po-äb"}, {"one", "bad"}),  # any case
    ({"po_prefix": "PO-X"}, {"two"}),
    ({"message_id": "ONE"}, {"one"}),  # ids below start with their name
    ({"since": T0 + timedelta(hours=1)}, {"two", "bad", "none"}),
    ({"until": T0 + timedelta(hours=1)}, {"one"}),
    ({"since": T0 + timedelta(hours=1), "until": T0 + timedelta(hours=3)}, {"two", "bad"}),
    ({"status": State.DEAD}, {"one"}),
    ({"status": State.DELIVERED}, {"one"}),
    ({"status": State.PARKED}, {"two"}),
    ({"status": State.REJECTED}, {"bad"}),
    ({"status": State.RECEIVED}, {"none"}),
    ({"status": State.QUEUED}, set()),
    ({"target": "enkash"}, {"one"}),
    ({"target": "uniware"}, {"two"}),
    ({"reason": "über"}, {"one"}),
    ({"reason": "ÜBER REFUSED"}, {"one"}),
    ({"reason": "unknown po"}, {"two"}),
    ({"reason": "STRASSE"}, {"bad"}),  # casefold: ß is ss; a rejected message's error
    ({"message_state": State.DEAD}, {"one"}),
    ({"message_state": State.PARKED}, {"two"}),
    ({"message_state": State.REJECTED}, {"bad"}),
    ({"message_state": State.RECEIVED}, {"none"}),
    ({"message_state": State.DELIVERED}, set()),
    # combined: one delivery must pass every delivery term
    ({"target": "enkash", "status": State.DELIVERED}, {"one"}),
    ({"target": "enkash", "status": State.DEAD}, set()),
    ({"target": "leo", "reason": "über"}, {"one"}),
    ({"target": "enkash", "reason": "über"}, set()),
    ({"system": "uniware", "status": State.REJECTED}, {"bad"}),
    ({"system": "leo", "reason": "unknown", "po_prefix": "PO-"}, {"two"}),
    ({"status": State.REJECTED, "target": "leo"}, set()),
    ({"status": State.RECEIVED, "reason": "x"}, set()),
    ({"po_prefix": "po-", "message_state": State.DEAD, "since": T0}, {"one"}),
]


@pytest.mark.parametrize(("fields", "expect"), SEARCHES, ids=[str(f) for f, _ in SEARCHES])
async def test_search_filters(store: Store, fields: dict[str, Any], expect: set[str]) -> None:  # noqa: F811
    world = await _filter_world(store)
    flt = MessageFilter(**fields)
    page = await store.search(flt, limit=100)
    names = {name for name, m in world.items() if m.id in {x.id for x in page.items}}
    assert names == expect and page.total == len(expect)
    light = await store.search(flt, limit=100, light=True)
    assert {m.id for m in light.items} == {m.id for m in page.items}
    # the rules' own predicate agrees on the stored messages
    stored = [await store.get_message(m.id) for m in world.values()]
    assert {m.id for m in stored if m and rules.search_matches(flt, m)} == {
        m.id for m in page.items
    }


DELIVERY_FILTERS: list[tuple[dict[str, Any], set[tuple[str, str]]]] = [
    ({}, {("one", "leo"), ("one", "enkash"), ("two", "uniware")}),
    ({"status": State.DEAD}, {("one", "leo")}),
    ({"status": State.PARKED, "system": "leo"}, {("two", "uniware")}),
    ({"status": State.PARKED, "system": "uniware"}, set()),
    ({"status": State.DELIVERED, "po_prefix": "po-äb"}, {("one", "enkash")}),
    ({"status": State.DELIVERED, "since": T0 + timedelta(minutes=1)}, set()),
    ({"status": State.REJECTED}, set()),  # a message's state, no delivery has it
    ({"target": "leo"}, {("one", "leo")}),
    ({"reason": "ÜBER"}, {("one", "leo")}),
    ({"reason": "über", "target": "enkash"}, set()),
    ({"po_number": "po-x2"}, {("two", "uniware")}),
    ({"message_id": "TWO"}, {("two", "uniware")}),
    ({"until": T0 + timedelta(minutes=1)}, {("one", "leo"), ("one", "enkash")}),
    # message_state is search's only: deliveries() ignores it
    ({"message_state": State.DEAD}, {("one", "leo"), ("one", "enkash"), ("two", "uniware")}),
]


@pytest.mark.parametrize(("fields", "expect"), DELIVERY_FILTERS,
                         ids=[str(f) for f, _ in DELIVERY_FILTERS])  # fmt: skip
async def test_delivery_filters(store: Store, fields: dict[str, Any],  # noqa: F811
                                expect: set[tuple[str, str]]) -> None:  # fmt: skip
    world = await _filter_world(store)
    name_of = {m.id: name for name, m in world.items()}
    found = {(name_of[d.message_id], d.target)
             async for d in store.deliveries(MessageFilter(**fields))}  # fmt: skip
    assert found == expect


# ingest -------------------------------------------------------------------------------------
async def test_an_ingest_whose_change_fails_stores_nothing(store: Store) -> None:  # noqa: F811
    def boom(_: PurchaseOrder | None) -> PurchaseOrder:
        raise RuntimeError("bad event")

    with pytest.raises(RuntimeError):
        await store.ingest(msg(po="PO-A", key="ka"), ["leo"], boom, True)
    assert await store.get_po("PO-A") is None
    assert await store.find_duplicate("ka") is None
    assert (await store.search(MessageFilter())).total == 0
    assert (await store.counts())["queued"] == 0


async def test_concurrent_copies_of_one_event_are_stored_once(store: Store) -> None:  # noqa: F811
    """The sender's retry racing its first copy: one message, one change of the PO."""

    def change(state: PurchaseOrder | None) -> PurchaseOrder:
        n = int(state.extensions["t"]["n"]) + 1 if state else 1
        return PurchaseOrder(po_number="PO-C", extensions={"t": {"n": n}})

    outcomes = await asyncio.gather(
        *(store.ingest(msg(po="PO-C", key="same"), ["leo"], change, True) for _ in range(8))
    )
    assert sum(created for _, created in outcomes) == 1
    assert len({stored.id for stored, _ in outcomes}) == 1
    po = await store.get_po("PO-C")
    assert po is not None and po.extensions["t"]["n"] == 1
    assert (await store.counts())["queued"] == 1


async def test_ingest_of_a_known_po_releases_nothing(store: Store) -> None:  # noqa: F811
    """Only the event that makes a PO known hands back its ``unknown_po`` deliveries."""
    (did,) = await deliveries_in(store, [State.DELIVERING])
    await store.finish(did, None, State.PARKED, reason="unknown PO", park_kind="unknown_po")
    moved = (await get(store, did)).po_number
    await store.ingest(msg(po=moved, key="k2"), [], lambda _: PurchaseOrder(po_number=moved),
                       False)  # fmt: skip
    assert (await get(store, did)).state is State.PARKED
    await store.ingest(msg(po=moved, key="k3"), [], lambda p: p, True)
    assert (await get(store, did)).state is State.PARKED  # the PO was known already


async def test_the_event_that_makes_a_po_known_releases_only_its_unknown_po_parkings(
    store: Store,  # noqa: F811
) -> None:
    """In the same write as the event (one transaction, one script): the PO's deliveries
    parked ``unknown_po`` on every target, not its other parkings nor another PO's."""
    x, _ = await store.accept(msg(po="PX"), ["leo", "enkash", "uniware"])
    y, _ = await store.accept(msg(po="PY"), ["leo"])
    claimed = {(m.id, d.target): d.id for d, m in await store.claim("w", 10, 30, T0)}
    for key in [(x.id, "leo"), (x.id, "enkash"), (y.id, "leo")]:
        await store.finish(claimed[key], None, State.PARKED, reason="unknown PO",
                           park_kind="unknown_po")  # fmt: skip
    await store.finish(claimed[x.id, "uniware"], None, State.PARKED, reason="no row",
                       park_kind="mapping")  # fmt: skip
    await store.ingest(msg(po="PX", key="kx"), [], lambda _: PurchaseOrder(po_number="PX"), True)
    states = {k: (await get(store, did)).state for k, did in claimed.items()}
    assert states == {
        (x.id, "leo"): State.QUEUED,
        (x.id, "enkash"): State.QUEUED,
        (x.id, "uniware"): State.PARKED,
        (y.id, "leo"): State.PARKED,
    }
    released = await get(store, claimed[x.id, "leo"])
    assert (released.reason, released.park_kind) == (None, None)
