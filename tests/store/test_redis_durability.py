"""The ``durability`` setting: a Redis whose persistence contradicts it is refused (by the
store and by ``pohub serve``), and ``replica`` answers only after a replica has the write."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
import redis.asyncio as redis

from gateway.store.records import Message
from gateway.store.redis import RedisStore
from gateway.store.redis_conn import NotDurable, StoreMisconfigured
from tests.redis_server import redis_server
from tests.support import ROOT

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def msg(po: str) -> Message:
    return Message(id=uuid.uuid4().hex, system="uniware", po_number=po, received_at=T0)


async def refused(url: str) -> str:
    store = RedisStore(url)
    with pytest.raises(StoreMisconfigured) as caught:
        await store.open()
    assert store._r is None  # closed again: nothing half-open is left behind
    return str(caught.value)


async def test_fsync_is_refused_on_everysec_and_accepted_on_appendfsync_always() -> None:
    with redis_server() as (url, *_):  # AOF on, appendfsync everysec (Redis's default)
        reason = await refused(f"{url}?durability=fsync")
        assert "appendfsync always" in reason and "everysec" in reason
        store = RedisStore(f"{url}?durability=everysec")
        await store.open()
        assert (await store.accept(msg("A"), ["leo"]))[1]
        await store.close()
    with redis_server("--appendfsync", "always") as (url, *_):
        store = RedisStore(f"{url}?durability=fsync")
        await store.open()
        assert (await store.accept(msg("A"), ["leo"]))[1]
        await store.close()


async def test_everysec_needs_aof_and_none_does_not() -> None:
    with redis_server("--appendonly", "no") as (url, *_):
        reason = await refused(url)  # everysec is the default
        assert "appendonly yes" in reason
        store = RedisStore(f"{url}?durability=none")
        await store.open()
        assert (await store.accept(msg("A"), ["leo"]))[1]
        await store.close()


async def test_replica_waits_for_a_replica_and_is_refused_without_one() -> None:
    with redis_server() as (url, _, port, _data):
        assert "no connected replica" in await refused(f"{url}?durability=replica")
        with redis_server("--replicaof", "127.0.0.1", str(port)) as (replica_url, proc, *_):
            store = RedisStore(f"{url}?durability=replica&wait_ms=5000")
            replica = redis.Redis.from_url(replica_url, decode_responses=True)
            await _until_replica_attached(store)
            try:
                stored, created = await store.accept(msg("PO-R"), ["leo"])
                assert created
                # WAIT 1 returned: the replica has it already, nothing to wait for here
                assert await replica.exists(store.parts[0].msg(stored.id)) == 1
                await store.r.script_flush()  # as after a restart: NOSCRIPT, loaded again
                again, created = await store.accept(msg("PO-R2"), ["leo"])
                assert created and await replica.exists(store.parts[0].msg(again.id)) == 1
            finally:
                await replica.aclose()
                await store.close()
                proc.kill()  # a replica SIGTERMed while it rewrites its AOF can take >10 s


async def test_a_write_no_replica_acknowledges_is_not_answered_as_durable() -> None:
    with redis_server() as (url, _, port, _data):
        replica_of = ("--replicaof", "127.0.0.1", str(port))
        with redis_server(*replica_of) as (_url, replica, *_):
            store = RedisStore(f"{url}?durability=replica&wait_ms=200")
            await _until_replica_attached(store)
            replica.kill()  # the only replica is gone: WAIT 1 times out with 0
            replica.wait(10)
            try:
                with pytest.raises(NotDurable):
                    await store.accept(msg("PO-X"), ["leo"])
            finally:
                await store.close()


async def _until_replica_attached(store: RedisStore) -> None:
    """Open ``store`` once its primary reports the replica (the sync takes a moment)."""
    import asyncio

    for _ in range(200):
        try:
            await store.open()
            return
        except StoreMisconfigured:
            await asyncio.sleep(0.05)
    await store.open()


def test_serve_refuses_a_redis_whose_persistence_contradicts_the_setting() -> None:
    with redis_server() as (url, *_):
        env = {**os.environ, "POHUB_STORE": f"{url}?durability=fsync"}
        out = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--port", "0"],
                             capture_output=True, cwd=ROOT, env=env, timeout=60, check=False)  # fmt: skip
    assert out.returncode == 4, out.stderr
    err = out.stderr.decode()
    assert "error: store redis://127.0.0.1" in err and "appendfsync always" in err
