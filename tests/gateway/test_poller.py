"""The AlphaAlpha poller against the simulator's dynamic-search, through a running gateway.

The gateway runs on its own event loop in a server thread, and its store is opened there:
the poller is driven on that loop (``asyncio.run_coroutine_threadsafe``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from adapters._http import Delivered
from adapters.alphaalpha.simulator import AlphaalphaSimulator
from core.adapter import Call, Rendered
from gateway.intake.poller import DynamicSearchPoller, interval_env, start_pollers
from gateway.store.records import MessageFilter
from tests.gateway.harness import Gateway, gateway
from tests.servers import SimulatorServer, client_for

SYSTEM = "alphaalpha"
BASE = "/api/v1/purchase-orders"
T = TypeVar("T")


@pytest.fixture
def gw(sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path) as g:
        yield g


def on_hub(gw: Gateway, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the gateway's own loop (where its store connection lives)."""
    loop = next(iter(gw.hub.tasks)).get_loop()
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)


def send(sim: SimulatorServer, *calls: Call) -> Delivered:
    async def go() -> Delivered:
        async with client_for(sim, SYSTEM) as client:
            result: Delivered = await client.send(
                Rendered(SYSTEM, list(calls), "test"), f"test-{time.monotonic_ns()}"
            )
            return result

    return asyncio.run(go())


def create_po(sim: SimulatorServer, product: str) -> str:
    order = {"products": [{"productId": product, "price": 2.5, "quantity": 4, "unit": "PCS"}],
             "subsidiaryId": "SUB-1"}  # fmt: skip
    return send(sim, Call("POST", BASE, order)).remote_ids[SYSTEM]


def polled(gw: Gateway) -> list[str]:
    page = on_hub(gw, gw.hub.store.search(MessageFilter(system=SYSTEM), limit=500))
    return sorted(m.po_number or "" for m in page.items)


def poll(poller: DynamicSearchPoller, gw: Gateway) -> int:
    return on_hub(gw, poller.poll_once())


def test_poll_ingests_changes_since_the_checkpoint(gw: Gateway) -> None:
    ids = [create_po(gw.sims, f"P-{i}") for i in range(3)]
    poller = DynamicSearchPoller(gw.hub, SYSTEM, page_size=2)  # 3 POs: two pages
    try:
        assert poll(poller, gw) == 3
        assert polled(gw) == sorted(ids)
        aa = gw.sims.sims[SYSTEM]
        assert isinstance(aa, AlphaalphaSimulator)
        mark = on_hub(gw, gw.hub.store.get_checkpoint(f"{SYSTEM}.poll"))
        assert mark is not None
        assert datetime.fromisoformat(mark) == datetime.fromisoformat(aa.orders[ids[-1]]["updated"])

        assert poll(poller, gw) == 0, "nothing changed: nothing new stored"
        assert len(polled(gw)) == 3

        send(gw.sims, Call("PATCH", f"{BASE}/{ids[0]}/approve-internal"))
        assert poll(poller, gw) == 1
        assert polled(gw) == sorted([*ids, ids[0]])
        state = on_hub(gw, gw.hub.store.get_po(ids[0]))
        assert state is not None and state.source_status == "APPROVED_INTERNALLY"
        assert poll(poller, gw) == 0
    finally:
        on_hub(gw, poller.aclose())


def test_lost_checkpoint_rereads_without_duplicates(gw: Gateway) -> None:
    ids = [create_po(gw.sims, f"P-{i}") for i in range(2)]
    poller = DynamicSearchPoller(gw.hub, SYSTEM)
    try:
        assert poll(poller, gw) == 2
        on_hub(gw, gw.hub.store.set_checkpoint(f"{SYSTEM}.poll", "2000-01-01T00:00:00Z"))
        assert poll(poller, gw) == 0, "re-read from an old checkpoint: deduplicated"
        assert polled(gw) == sorted(ids)
    finally:
        on_hub(gw, poller.aclose())


def test_start_pollers_needs_the_interval_variable(gw: Gateway) -> None:
    create_po(gw.sims, "P-1")
    before = len(gw.hub.tasks)

    async def start() -> None:
        start_pollers(gw.hub)

    os.environ.pop(interval_env(SYSTEM), None)
    on_hub(gw, start())
    assert len(gw.hub.tasks) == before
    os.environ[interval_env(SYSTEM)] = "0.1"  # the harness restores the environment
    on_hub(gw, start())
    assert any(t.get_name() == f"poller-{SYSTEM}" for t in list(gw.hub.tasks))
    deadline = time.monotonic() + 10
    while not polled(gw):
        assert time.monotonic() < deadline, "the background poller stored nothing"
        time.sleep(0.05)
