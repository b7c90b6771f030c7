"""The Redis store heals itself: a Redis restart loses nothing (AOF) and needs no new store."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.store.records import Attempt, Message, State
from gateway.store.redis import RedisStore
from tests.redis_server import redis_binary, redis_server, start

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def msg(po: str, key: str | None = None) -> Message:
    return Message(id=uuid.uuid4().hex, system="uniware", po_number=po, dedup_key=key,
                   received_at=T0, body='{"x": 1}')  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


async def test_restart_loses_no_accepted_message_and_the_store_keeps_working() -> None:
    with redis_server() as (url, proc, port, data):
        store = RedisStore(url)
        await store.open()
        again = None
        try:
            accepted = [
                (await store.accept(msg(f"PO{i}", key=f"k{i}"), ["leo"]))[0] for i in range(20)
            ]
            ((claimed, _),) = await store.claim("w", 1, 30, T0)
            await store.finish(claimed.id, Attempt(at=T0, target="leo", status=500, outcome="retry"),
                               State.RETRYING, next_at=T0 + timedelta(seconds=5))  # fmt: skip

            stop(proc)
            again = start(redis_binary(), port, data)

            # the same object, its pooled connections dead and the script cache empty
            for m in accepted:
                got = await store.get_message(m.id)
                assert got is not None and got.deliveries[0].id == m.deliveries[0].id
            retried = await store.get_message(claimed.message_id)
            assert retried is not None and retried.deliveries[0].state is State.RETRYING
            assert [a.outcome for a in retried.deliveries[0].attempts] == ["retry"]
            assert (await store.accept(msg("PO0", key="k0"), ["leo"]))[1] is False
            assert (await store.counts())["queued"] == 19
            ids = {d.id for d, _ in await store.claim("w", 50, 30, T0 + timedelta(seconds=6))}
            assert ids == {m.deliveries[0].id for m in accepted}
            assert await store.ping()
        finally:
            await store.close()
            if again is not None:
                stop(again)


async def test_ping_is_false_while_redis_is_down() -> None:
    with redis_server() as (url, proc, port, data):
        store = RedisStore(url)
        await store.open()
        again = None
        try:
            assert await store.ping()
            stop(proc)
            assert await store.ping() is False
            assert await store.ping() is False
            again = start(redis_binary(), port, data)
            assert await store.ping() is True
        finally:
            await store.close()
            if again is not None:
                stop(again)
