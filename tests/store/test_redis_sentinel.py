"""``redis+sentinel://``: the store finds the primary through Sentinel (a real one)."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.store.records import Message
from gateway.store.redis import RedisStore
from tests.redis_server import redis_binary, redis_server
from tests.servers import free_port

pytestmark = pytest.mark.anyio


@contextmanager
def sentinel(primary_port: int) -> Iterator[int]:
    """``redis-server --sentinel`` watching the primary as ``pohub``; yields its port."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pohub-sentinel-") as tmp:
        conf = Path(tmp) / "sentinel.conf"
        conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {tmp}\n"
                        f"sentinel monitor pohub 127.0.0.1 {primary_port} 1\n")  # fmt: skip
        proc = subprocess.Popen([redis_binary(), str(conf), "--sentinel"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield port
        finally:
            proc.kill()
            proc.wait(10)


async def test_the_store_runs_on_the_primary_sentinel_names() -> None:
    with redis_server() as (_url, _proc, port, _data), sentinel(port) as sport:
        store = RedisStore(
            f"redis+sentinel://127.0.0.1:{sport}/pohub?prefix=s{uuid.uuid4().hex[:6]}"
        )
        await store.open()
        try:
            m = Message(id=uuid.uuid4().hex, system="uniware", po_number="PO-S",
                        received_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
            assert (await store.accept(m, ["leo"]))[1]
            got = await store.get_message(m.id)
            assert got is not None and [d.target for d in got.deliveries] == ["leo"]
            assert store.settings.kind == "sentinel" and store.n == 1
        finally:
            await store.close()
