"""Issue 14, bulk coalescing: deliveries to AppliQloud go out several POs a request.

End to end over loopback: the gateway takes the pushes (no workers of its own, so they
queue), then a worker whose config says ``batch`` for AppliQloud delivers them, against the
real store and the AppliQloud simulator. A batch's reply is read back per PO.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters import registry
from adapters._sim import Faults
from gateway.delivery.worker import Worker
from gateway.settings.config import BatchConfig, Config, parse_config
from gateway.store.base import Store
from gateway.store.records import Delivery, State
from tests.gateway.harness import Gateway, gateway, store_url_for
from tests.gateway.test_e2e import push, sample
from tests.servers import SimulatorServer

AQ = "appliqloud"
FINAL = (State.DELIVERED, State.DEAD)


@pytest.fixture(params=["sqlite", "redis"])
def gw(request: pytest.FixtureRequest, sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path, store_url_for(request, "b"), workers=0) as g:
        yield g


def _po(gw: Gateway, code: str, quantity: int = 6) -> str:
    doc = orjson.loads(sample("uniware")[0])
    doc["code"] = code
    doc["purchaseOrderItems"][0]["quantity"] = quantity
    reply = push(gw, "uniware", orjson.dumps(doc))
    assert reply.status_code == 200, reply.text
    return str(reply.headers["X-Pohub-Message-Id"])


def _config(gw: Gateway, batch: BatchConfig | None) -> Config:
    systems = dict(gw.hub.config.systems)
    systems[AQ] = systems[AQ].model_copy(update={"batch": batch})
    return gw.hub.config.model_copy(update={"systems": systems})


def deliver(gw: Gateway, message_ids: list[str], batch: BatchConfig | None) -> list[Delivery]:
    """Run a worker until every AppliQloud delivery of these messages is settled; those
    deliveries, in ``message_ids`` order, with their attempts and exchanges."""

    async def run() -> list[Delivery]:
        store = Store.from_url(gw.hub.config.store)
        await store.open()
        worker = Worker(_config(gw, batch), store, gw.hub.mappings, poll_s=0.02)
        task = asyncio.create_task(worker.run())
        try:
            for _ in range(600):
                found = [await _delivery(store, m) for m in message_ids]
                if all(d.state in FINAL for d in found):
                    return found
                await asyncio.sleep(0.05)
            raise AssertionError(f"not settled: {[(d.state, d.reason) for d in found]}")
        finally:
            worker.stop()
            await task
            await store.close()

    return asyncio.run(run())


async def _delivery(store: Store, message_id: str) -> Delivery:
    message = await store.get_message(message_id)
    assert message is not None
    return next(d for d in message.deliveries if d.target == AQ)


def remote_ids(gw: Gateway, codes: list[str]) -> list[str | None]:
    """The id AppliQloud confirmed for each hub PO, as the hub stored it."""

    async def read() -> list[str | None]:
        store = Store.from_url(gw.hub.config.store)
        await store.open()
        try:
            states = [await store.get_po(code) for code in codes]
        finally:
            await store.close()
        return [s.remote_ids.get(AQ) if s is not None else None for s in states]

    return asyncio.run(read())


def requests(gw: Gateway) -> list[list[str]]:
    """Each update AppliQloud received: the purchaseOrderIds of its inputs, in order."""
    return [
        [po["header"]["purchaseOrderId"] for po in r["json"]["inputs"]]
        for r in gw.sims.sims[AQ].received
    ]


def _sent(delivery: Delivery, attempt: int = -1) -> dict[str, Any]:
    (exchange,) = delivery.attempts[attempt].exchanges
    return dict(orjson.loads(exchange.request.body))


BATCH = BatchConfig(max=10, wait_ms=300)


def test_several_pos_go_in_one_request_and_each_delivery_gets_its_own_result(
    gw: Gateway,
) -> None:
    codes = [f"PO-BULK-{i}" for i in range(5)]
    found = deliver(gw, [_po(gw, c) for c in codes], BATCH)
    assert [sorted(r) for r in requests(gw)] == [sorted(codes)], "not one request of all five"
    assert remote_ids(gw, codes) == codes  # each learnt its own id from the shared reply
    keys = set()
    for code, delivery in zip(codes, found, strict=True):
        assert delivery.state is State.DELIVERED, delivery.reason
        (attempt,) = delivery.attempts
        assert attempt.outcome == "delivered" and attempt.status == 200
        (exchange,) = attempt.exchanges  # the shared request, with this PO's share of it
        assert exchange.shared_by == 5 and exchange.reply is not None
        assert [po["header"]["purchaseOrderId"] for po in _sent(delivery)["inputs"]] == [code]
        share = orjson.loads(exchange.reply.body)["success"]
        assert [po["header"]["purchaseOrderId"] for po in share] == [code]
        keys.add(exchange.request.headers["idempotency-key"])
    (key,) = keys  # one request: each member's own key, in the order of its inputs
    assert sorted(key.split(",")) == sorted(f"{d.id}:0:send" for d in found)
    stored = gw.sims.sims[AQ].purchase_orders  # type: ignore[attr-defined]
    assert all(stored[c]["items"][0]["quantity"] == 6 for c in codes)


def test_a_po_refused_inside_the_201_is_dead_and_the_others_are_delivered(gw: Gateway) -> None:
    aq = gw.sims.sims[AQ]
    codes = [f"PO-BULK-R{i}" for i in range(4)]
    aq.create_unknown = False  # type: ignore[attr-defined]
    for code in codes[:3]:  # the backend holds these; the fourth is not found
        aq.purchase_orders[code] = {}  # type: ignore[attr-defined]
    found = deliver(gw, [_po(gw, c) for c in codes], BATCH)
    assert [sorted(r) for r in requests(gw)] == [sorted(codes)]
    assert [d.state for d in found] == [State.DELIVERED] * 3 + [State.DEAD]
    refused = found[3]
    assert "PurchaseOrderNotFoundException" in (refused.reason or "")
    assert codes[3] in (refused.reason or "") and refused.attempts[-1].status == 201
    (exchange,) = refused.attempts[-1].exchanges
    assert exchange.reply is not None and exchange.shared_by == 4
    assert "PurchaseOrderNotFoundException" in (exchange.error or "")
    assert [
        e["context"]["purchaseOrderId"] for e in orjson.loads(exchange.reply.body)["errors"]
    ] == [codes[3]]
    for delivery in found[:3]:
        assert delivery.attempts[-1].status == 201 and delivery.attempts[-1].error is None
        assert delivery.attempts[-1].exchanges[0].error is None


def test_a_po_with_two_queued_events_has_them_in_two_requests_in_order(gw: Gateway) -> None:
    first = _po(gw, "PO-BULK-X", quantity=6)
    others = [_po(gw, c) for c in ("PO-BULK-Y", "PO-BULK-Z")]
    second = _po(gw, "PO-BULK-X", quantity=7)
    found = deliver(gw, [first, *others, second], BATCH)
    assert all(d.state is State.DELIVERED for d in found), [d.reason for d in found]
    sent = requests(gw)
    assert sorted(sent[0]) == ["PO-BULK-X", "PO-BULK-Y", "PO-BULK-Z"], "no batch"
    assert all(r.count("PO-BULK-X") <= 1 for r in sent)
    with_x = [i for i, r in enumerate(sent) if "PO-BULK-X" in r]
    assert len(with_x) == 2
    quantities = [
        next(po for po in gw.sims.sims[AQ].received[i]["json"]["inputs"]
             if po["header"]["purchaseOrderId"] == "PO-BULK-X")["items"][0]["quantity"]
        for i in with_x
    ]  # fmt: skip
    assert quantities == [6, 7], "the PO's second event went first"
    assert gw.sims.sims[AQ].purchase_orders["PO-BULK-X"]["items"][0]["quantity"] == 7  # type: ignore[attr-defined]


def test_a_lost_reply_leaves_every_member_unsure_and_the_batch_is_sent_again(
    gw: Gateway,
) -> None:
    aq = gw.sims.sims[AQ]
    aq.faults = Faults.parse({"drop_reply_rate": 1, "drop_reply_limit": 1})
    codes = [f"PO-BULK-L{i}" for i in range(3)]
    found = deliver(gw, [_po(gw, c) for c in codes], BATCH)
    assert aq.faults.dropped == 1
    sent = requests(gw)
    assert sorted(sent[0]) == sorted(codes), "the lost request was not one batch"
    assert sorted(po for r in sent for po in r) == sorted(codes * 2)  # applied, then again
    for delivery in found:
        assert delivery.state is State.DELIVERED, delivery.reason
        lost, again = delivery.attempts
        assert lost.outcome == "retry" and lost.status is None and not lost.unsure
        assert lost.exchanges[0].shared_by == 3 and lost.exchanges[0].reply is None
        assert again.outcome == "delivered" and again.unsure


def test_batch_off_sends_one_po_a_request_as_before(gw: Gateway) -> None:
    codes = [f"PO-BULK-O{i}" for i in range(3)]
    found = deliver(gw, [_po(gw, c) for c in codes], BatchConfig(max=1, wait_ms=300))
    assert all(d.state is State.DELIVERED for d in found)
    assert sorted(requests(gw)) == [[c] for c in codes]
    for delivery in found:
        key = delivery.attempts[0].exchanges[0].request.headers["idempotency-key"]
        assert key == f"{delivery.id}:0:send"


def test_check_config_refuses_a_batch_for_a_system_that_takes_one_po() -> None:
    text = "systems:\n  leo:\n    base_url: http://x\n    batch: {max: 5}\n"
    _, problems = parse_config(text, "config.yaml", registry.system_ids())
    assert [(p.path, p.line) for p in problems] == [("$.systems.leo.batch", 4)]
    assert "one PO per request" in problems[0].message
    text = "systems:\n  appliqloud:\n    base_url: http://x\n    batch: {max: 50, wait_ms: 5}\n"
    config, problems = parse_config(text, "config.yaml", registry.system_ids())
    assert problems == [] and config is not None
    assert config.systems[AQ].batch == BatchConfig(max=50, wait_ms=5)
