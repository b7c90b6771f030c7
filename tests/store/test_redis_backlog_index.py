"""A Redis store written before the per-target backlog indexes existed gets them on open."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.store.records import Message, State
from gateway.store.redis import RedisStore

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def msg(po: str, hours: int) -> Message:
    return Message(id=uuid.uuid4().hex, system="uniware", po_number=po,
                   received_at=T0 + timedelta(hours=hours), body="{}")  # fmt: skip


async def test_open_indexes_deliveries_stored_before_the_backlog_indexes(redis_url: str) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/0?prefix=backfill" + uuid.uuid4().hex[:8]
    store = RedisStore(url)
    await store.open()
    try:
        for i in range(3):
            await store.accept(msg(f"PO{i}", i), ["leo"])
        ((d, _),) = await store.claim("w", 1, 30, T0)
        await store.finish(d.id, None, State.RETRYING, next_at=T0 + timedelta(hours=9))
        before = await store.backlog()
        # what an older version of the store left: no per-target keys, no tracked fields
        p = store.prefix
        old = [k async for k in store.r.scan_iter(match=f"{p}:t*")]
        await store.r.delete(*old)
        async for key in store.r.scan_iter(match=f"{p}:d:*"):
            await store.r.hdel(key, "tstate", "cts")
        assert await store.backlog() == {}
    finally:
        await store.close()
    reopened = RedisStore(url)
    await reopened.open()
    try:
        assert await reopened.backlog() == before
        assert before["leo"].queued == 2 and before["leo"].retrying == 1
        await reopened._flush_for_tests()
    finally:
        await reopened.close()
