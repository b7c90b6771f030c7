"""Circuits of every process on the health page: each process that runs workers publishes its
breakers in the store, and ``/api/v1/targets`` shows the worst live state per target."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from core.model import utc_now
from gateway.delivery import circuits
from gateway.delivery.targets import Breaker
from gateway.store.base import Store
from tests.gateway.harness import Gateway, gateway
from tests.servers import SimulatorServer


def opened(target: str) -> Breaker:
    breaker = Breaker(target)
    for _ in range(breaker.threshold):
        breaker.failure()
    return breaker


async def _with_store(path: str, work: object) -> None:
    store = Store.from_url(path)
    await store.open()
    try:
        await work(store)  # type: ignore[operator]
    finally:
        await store.close()


@pytest.mark.anyio
async def test_the_worst_live_state_per_target_wins(tmp_path: Path) -> None:
    async def work(store: Store) -> None:
        await circuits.publish(store, "a:1", {"leo": opened("leo"), "enkash": Breaker("enkash")})
        await circuits.publish(store, "b:2", {"leo": Breaker("leo"), "enkash": Breaker("enkash")})
        seen = await circuits.read(store)
        assert seen["leo"]["circuit"] == "open" and seen["enkash"]["circuit"] == "closed"
        assert (await circuits.read(store, but="a:1"))["leo"]["circuit"] == "closed"
        # a process that stopped publishing is forgotten
        raw = orjson.loads(await store.get_checkpoint(circuits.CHECKPOINT) or "{}")
        raw["a:1"]["at"] = (utc_now() - timedelta(seconds=circuits.STALE_S + 1)).isoformat()
        await store.set_checkpoint(circuits.CHECKPOINT, orjson.dumps(raw).decode())
        assert (await circuits.read(store))["leo"]["circuit"] == "closed"
        await circuits.publish(store, "b:2", {"leo": Breaker("leo")})
        stored = orjson.loads(await store.get_checkpoint(circuits.CHECKPOINT) or "{}")
        assert list(stored) == ["b:2"]

    await _with_store(f"sqlite:///{tmp_path}/c.db", work)


@pytest.fixture
def gw(sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path) as g:
        yield g


def test_targets_shows_an_open_circuit_of_another_process(gw: Gateway, tmp_path: Path) -> None:
    def view() -> str:
        with gw.client("viewer") as c:
            return str(c.get("/api/v1/targets").json()["targets"]["leo"]["circuit"])

    assert view() == "closed"
    url = f"sqlite:///{gw.hub.store.path}"  # type: ignore[attr-defined]

    async def other_process_opens(store: Store) -> None:
        await circuits.publish(store, "elsewhere:42", {"leo": opened("leo")})

    asyncio.run(_with_store(url, other_process_opens))
    assert view() == "open"

    async def other_process_closes(store: Store) -> None:
        await circuits.publish(store, "elsewhere:42", {"leo": Breaker("leo")})

    asyncio.run(_with_store(url, other_process_closes))
    assert view() == "closed"
