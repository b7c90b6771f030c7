"""The Redis store on a real Redis Cluster: partitions over every primary, one partition count
for the life of the data, and a primary SIGKILLed mid-run with its replica taking over."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.store.records import Message
from gateway.store.redis import RedisStore
from gateway.store.redis_conn import NotDurable, StoreMisconfigured
from tests.redis_server import (
    ClusterNode,
    redis_binary,
    redis_cluster,
    start_cluster_node,
    wait_cluster_ok,
)

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def msg(po: str) -> Message:
    return Message(id=uuid.uuid4().hex, system="uniware", po_number=po, received_at=T0,
                   dedup_key=f"k-{po}")  # fmt: skip


async def test_partitions_spread_over_every_primary(redis_cluster_url: str) -> None:
    store = RedisStore(f"{redis_cluster_url}?prefix=s{uuid.uuid4().hex[:8]}")
    await store.open()
    try:
        owners = {store.r.get_node_from_key(p.due).name for p in store.parts}
        assert owners == {n.name for n in store.r.get_primaries()}
        for i in range(64):
            await store.accept(msg(f"PO-{i}"), ["leo"])
        per_node = [await store.r.dbsize(target_nodes=n) for n in store.r.get_primaries()]
        assert all(n > 0 for n in per_node), per_node
        claimed = await store.claim("w", 100, 30)
        assert len(claimed) == 64
    finally:
        await store.close()


async def test_the_partition_count_is_fixed_at_creation(redis_cluster_url: str) -> None:
    url = f"{redis_cluster_url}?prefix=n{uuid.uuid4().hex[:8]}"
    first = RedisStore(url)
    await first.open()
    await first.accept(msg("PO-1"), ["leo"])
    await first.close()
    other = RedisStore(f"{url}&partitions=8")
    with pytest.raises(StoreMisconfigured, match="partitions=16"):
        await other.open()


def owner(store: RedisStore, po: str) -> int:
    return int(store.r.get_node_from_key(store.part_of_po(po).due).port)


async def test_a_killed_primary_loses_no_acknowledged_message() -> None:
    """durability=replica: every message acknowledged before the SIGKILL is there after the
    replica took over; while the promoted primary has no replica of its own, its writes are
    refused as not durable (never answered 2xx); once the old primary is back as its
    replica, they are acknowledged again."""
    with redis_cluster(1, node_timeout_ms=1000) as cluster:
        store = RedisStore(f"{cluster.url}?durability=replica&wait_ms=3000")
        await _open_when_replicas_attached(store)
        try:
            pos = [f"PO-{i}" for i in range(60)]
            accepted = [(await store.accept(msg(po), ["leo"]))[0] for po in pos]
            victim = next(n for n in cluster.nodes if n.port == owner(store, pos[0]))
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(10)
            alive = [n.port for n in cluster.nodes if n is not victim]
            wait_cluster_ok(alive)

            for m in accepted:  # nothing acknowledged was lost
                assert await _after_failover(lambda m=m: store.get_message(m.id)), m.po_number
            # the victim's slots are served again, by its promoted replica
            assert victim.port not in {owner(store, po) for po in pos}
            assert len({owner(store, po) for po in pos}) == 3
            promoted = owner(store, pos[0])
            with pytest.raises(NotDurable):
                await _after_failover(lambda: store.accept(msg("PO-0-after"), ["leo"]))
            other = next(po for po in pos if owner(store, po) != promoted)
            assert (await store.accept(msg(other + "-after"), ["leo"]))[1]

            _restart(victim)  # back as the promoted node's replica
            wait_cluster_ok([n.port for n in cluster.nodes])
            stored = await _until_durable(store, msg("PO-0-later"))
            assert stored.po_number == "PO-0-later"
            claimed = await store.claim("w", 200, 30)
            # every message: the 60, PO-0-after (written, just not acknowledged), the other
            # one and the last
            assert len(claimed) == 63
        finally:
            await store.close()


async def _after_failover(call: Callable[[], Awaitable[Any]]) -> Any:
    """Right after a failover the client's first calls can fail (a pooled connection to the
    dead node, slots not yet re-learnt): the hub answers those 5xx and the sender resends,
    workers log and poll again. Here: try again, a bounded number of times."""
    for _ in range(50):
        try:
            return await call()
        except NotDurable:
            raise
        except Exception:
            await asyncio.sleep(0.1)
    return await call()


def _restart(node: ClusterNode) -> None:
    node.proc = start_cluster_node(redis_binary(), node.port, node.bus, node.data,
                                   node_timeout_ms=1000)  # fmt: skip


async def _open_when_replicas_attached(store: RedisStore) -> None:
    for _ in range(200):
        try:
            await store.open()
            return
        except StoreMisconfigured:
            await asyncio.sleep(0.05)
    await store.open()


async def _until_durable(store: RedisStore, message: Message) -> Message:
    """The rejoined replica syncs first: accept until a replica acknowledges (a resend of
    the same message is a duplicate, so this writes it once)."""
    for _ in range(100):
        try:
            stored, _ = await store.accept(message, ["leo"])
            return stored
        except NotDurable:
            await asyncio.sleep(0.1)
    return (await store.accept(message, ["leo"]))[0]


async def test_a_burst_past_the_connection_limit_waits_instead_of_failing(
    redis_cluster_url: str,
) -> None:
    """redis-py's Cluster client fails past max_connections per node; the store queues."""
    store = RedisStore(f"{redis_cluster_url}?prefix=b{uuid.uuid4().hex[:8]}")
    await store.open()
    try:
        done = await asyncio.gather(*(store.accept(msg(f"PO-{i}"), ["leo"]) for i in range(400)))
        assert all(created for _, created in done)
        assert (await store.counts())["queued"] == 400
    finally:
        await store.close()
