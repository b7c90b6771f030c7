"""Pausing a target (issue 15): its deliveries wait without an attempt, nothing is lost, and
resume sends them in each PO's order; the pause is in the store, so it outlives the process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from gateway.delivery import pause
from gateway.store.base import Store
from gateway.store.records import Message, State
from tests import support
from tests.gateway.harness import Gateway, gateway, store_url_for
from tests.servers import SimulatorServer


@pytest.fixture(params=["sqlite", "redis"])
def gw(request: pytest.FixtureRequest, sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path, store_url_for(request, "p")) as g:
        yield g


def push(gw: Gateway, po: str, delivery_date: str | None = None) -> str:
    doc = orjson.loads(support.sample_paths("uniware")[0].read_bytes())
    doc["code"] = po
    if delivery_date is not None:  # a later event of the same PO
        doc["deliveryDate"] = delivery_date
    headers = {"Content-Type": "application/json", **gw.inbound_headers("uniware")}
    reply = httpx.post(f"{gw.url}/inbound/uniware/approvedPurchaseOrder",
                       content=orjson.dumps(doc), headers=headers, timeout=10)  # fmt: skip
    assert reply.status_code == 200, reply.text
    return reply.headers["X-Pohub-Message-Id"]


def leo_pos(gw: Gateway) -> list[str]:
    return [str(r["json"]) for r in gw.sims.sims["leo"].received]


def test_a_paused_target_waits_without_attempts_and_resume_sends_in_order(gw: Gateway) -> None:
    with gw.client("operator") as c:
        assert c.post("/api/v1/targets/leo/pause").json() == {
            "target": "leo", "paused": True, "changed": True,
        }  # fmt: skip
        first, second = push(gw, "PAUSE-1"), push(gw, "PAUSE-1", "Mar 20, 2024 4:16:42 PM")
        got = gw.wait(first, states=("parked",), target="leo")
        leo = next(d for d in got["deliveries"] if d["target"] == "leo")
        assert leo["park_kind"] == "paused" and leo["attempts"] == []
        gw.wait(first, target="appliqloud")  # other targets are not held up
        assert not any("PAUSE-1" in body for body in leo_pos(gw))
        later = c.get(f"/api/v1/messages/{second}").json()
        assert next(d for d in later["deliveries"] if d["target"] == "leo")["state"] == "queued"
        view = c.get("/api/v1/targets").json()["targets"]["leo"]
        assert view["paused"] and view["paused_by"] == "operator"
        assert view["backlog"]["paused"] == 1 and view["backlog"]["queued"] == 1
        assert c.post("/api/v1/targets/leo/resume").json()["requeued"] == 1
        one = gw.wait(first, target="leo")
        two = gw.wait(second, target="leo")
        assert not c.get("/api/v1/targets").json()["targets"]["leo"]["paused"]
    (sent_first,) = next(d for d in one["deliveries"] if d["target"] == "leo")["attempts"]
    (sent_second,) = next(d for d in two["deliveries"] if d["target"] == "leo")["attempts"]
    assert sent_first["outcome"] == sent_second["outcome"] == "delivered"
    assert sent_first["at"] <= sent_second["at"]  # the PO's order held through the pause
    assert len([b for b in leo_pos(gw) if "PAUSE-1" in b]) == 2


def test_pausing_an_unknown_target_is_404_and_a_viewer_may_not(gw: Gateway) -> None:
    with gw.client("operator") as c:
        assert c.post("/api/v1/targets/nope/pause").status_code == 404
    with gw.client("viewer") as c:
        assert c.post("/api/v1/targets/leo/pause").status_code == 403
        assert c.get("/api/v1/targets").status_code == 200


async def _store(tmp_path: Path) -> Store:
    store = Store.from_url(f"sqlite:///{tmp_path}/p.db")
    await store.open()
    return store


@pytest.mark.anyio
async def test_the_pause_is_in_the_store_for_every_process(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        assert await pause.pause(store, "leo", "ops") and await pause.pause(store, "enkash", "ops")
        assert not await pause.pause(store, "leo", "ops")
        other_process = pause.PausedTargets(store)  # a worker started later, elsewhere
        assert await other_process.holds("leo") and await other_process.holds("enkash")
        assert set(await pause.paused(store)) == {"leo", "enkash"}
        assert await pause.resume(store, "leo", "ops") == 0
        assert set(await pause.paused(store)) == {"enkash"}
    finally:
        await store.close()


@pytest.mark.anyio
async def test_a_worker_that_parks_just_after_a_resume_requeues_it(tmp_path: Path) -> None:
    """Its view said paused, the checkpoint no longer does: the delivery is not stranded."""
    store = await _store(tmp_path)
    try:
        message = Message(id=uuid.uuid4().hex, system="uniware", po_number="R1", body="{}")
        await store.accept(message, ["leo"])
        ((delivery, _),) = await store.claim("w", 1, 30)
        stale = pause.PausedTargets(store)
        stale.note("leo", True)
        stale._read_at = float("inf")  # its last read was before the resume
        assert await stale.holds("leo")
        await stale.hold(delivery)
        got = await store.get_message(message.id)
        assert got is not None and got.deliveries[0].state is State.QUEUED
        assert got.deliveries[0].attempts == []
    finally:
        await store.close()
