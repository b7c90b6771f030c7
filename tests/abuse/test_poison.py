"""Poison isolation (issue 11, "Lose nothing, block nothing"): an error no retry can fix
(a render that raises, a value the target cannot take, a mapping gap no row can fill, a 4xx
the target means) is dead at once with the reason, and never holds the PO's line at that
target: the PO's next event to the same target is delivered. A store outage while
delivering is still retried, since it can heal."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from adapters import registry
from adapters._sim import Faults
from core.adapter import RenderContext, Rendered
from core.errors import MappingMissing
from core.model import PoEvent
from tests.gateway.harness import Gateway, gateway, store_url_for
from tests.servers import SimulatorServer
from tests.support import ROOT

UNIWARE = orjson.loads((ROOT / "adapters/uniware/samples/approved-po.json").read_bytes())
POISON = "poison@example.com"
"""``createdBy`` of the event the patched render refuses to render."""


@pytest.fixture(params=["sqlite", "redis"])
def gw(request: pytest.FixtureRequest, sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path, store_url_for(request, "poison")) as g:
        yield g


def _push(gw: Gateway, po_number: str, created_by: str, quantity: int) -> str:
    body = {**UNIWARE, "code": po_number, "createdBy": created_by}
    body["purchaseOrderItems"] = [{**UNIWARE["purchaseOrderItems"][0], "quantity": quantity}]
    headers = {**gw.inbound_headers("uniware"), "Content-Type": "application/json"}
    reply = httpx.post(f"{gw.url}/inbound/uniware/approvedPurchaseOrder",
                       content=orjson.dumps(body), headers=headers, timeout=10)  # fmt: skip
    assert reply.status_code == 200, reply.text
    return reply.headers["X-Pohub-Message-Id"]


def _delivery(message: dict[str, Any], target: str) -> dict[str, Any]:
    return next(d for d in message["deliveries"] if d["target"] == target)


def _poison_render(monkeypatch: pytest.MonkeyPatch, target: str, exc: Exception) -> None:
    adapter = registry.get(target)
    real = adapter.render

    def render(event: PoEvent, ctx: RenderContext) -> Rendered:
        if event.po is not None and event.po.created_by == POISON:
            raise exc
        return real(event, ctx)

    monkeypatch.setattr(adapter, "render", render)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (OverflowError("cannot convert Infinity to integer"),
         "cannot render: OverflowError: cannot convert Infinity to integer"),
        (InvalidOperation("quantize result has too many digits"),
         "cannot render: InvalidOperation: quantize result has too many digits"),
        (TypeError("unsupported operand"), "cannot render: TypeError: unsupported operand"),
    ],
)  # fmt: skip
def test_a_render_that_raises_is_dead_at_once_and_the_next_event_goes_out(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, exc: Exception, reason: str
) -> None:
    _poison_render(monkeypatch, "appliqloud", exc)
    po = f"PO-POISON-{type(exc).__name__}"
    first = _push(gw, po, POISON, 6)
    second = _push(gw, po, "buyer@example.com", 7)
    # the second waits behind the first in the PO's line at AppliQloud: before the fix the
    # first retried as "internal error" for the whole max age and the second never went out
    done = gw.wait(second, states=("delivered",), target="appliqloud", timeout=15)
    assert _delivery(done, "appliqloud")["state"] == "delivered"
    dead = _delivery(gw.wait(first, states=("dead",), target="appliqloud"), "appliqloud")
    assert dead["reason"] == reason, dead
    assert [a["outcome"] for a in dead["attempts"]] == ["dead"], dead["attempts"]
    sent = [r for r in gw.sims.sims["appliqloud"].received if po.encode() in orjson.dumps(r)]
    assert len(sent) == 1, "only the second event reached AppliQloud"
    # the poison is the one target's problem: the PO's other targets got the first event
    assert _delivery(gw.wait(first, target="leo"), "leo")["state"] == "delivered"


def test_a_mapping_gap_no_row_can_fill_is_dead_not_parked(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``has no entry for None``: parked, it would wait for a row nobody can add, holding
    the PO's line at the target; dead, it names the gap and lets the line move."""
    gap = MappingMissing("appliqloud", "crosswalks.product", None, "$.purchaseOrders[0].sku")
    _poison_render(monkeypatch, "appliqloud", gap)
    first = _push(gw, "PO-POISON-NONE", POISON, 6)
    second = _push(gw, "PO-POISON-NONE", "buyer@example.com", 7)
    gw.wait(second, states=("delivered",), target="appliqloud", timeout=15)
    dead = _delivery(gw.wait(first, states=("dead",), target="appliqloud"), "appliqloud")
    assert dead["reason"].startswith("cannot render: mapping missing"), dead
    assert "None" in dead["reason"] and "no mapping row can be added" in dead["reason"]


def test_a_4xx_the_target_means_is_dead_at_once_and_does_not_hold_the_line(gw: Gateway) -> None:
    gw.sims.sims["appliqloud"].faults = Faults.parse({"fail_rate": 1.0, "status": 422})
    first = _push(gw, "PO-POISON-422", "buyer@example.com", 6)
    dead = _delivery(gw.wait(first, states=("dead",), target="appliqloud"), "appliqloud")
    assert "422" in dead["reason"] and [a["outcome"] for a in dead["attempts"]] == ["dead"]
    gw.sims.sims["appliqloud"].faults = Faults()
    second = _push(gw, "PO-POISON-422", "buyer@example.com", 7)
    gw.wait(second, states=("delivered",), target="appliqloud", timeout=15)


class _FlakyStore:
    """The worker's store, whose PO reads fail ``failures`` times for one PO (an outage)."""

    def __init__(self, store: Any, po_number: str, failures: int) -> None:
        self._store, self._po, self.failures = store, po_number, failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def get_po(self, po_number: str) -> Any:
        if po_number == self._po and self.failures > 0:
            self.failures -= 1
            raise ConnectionError("store unreachable")
        return await self._store.get_po(po_number)


def test_a_store_outage_while_delivering_is_retried(gw: Gateway) -> None:
    (worker,) = gw.hub.workers
    flaky = _FlakyStore(worker.store, "PO-POISON-STORE", 2)
    worker.store = flaky  # type: ignore[assignment]
    try:
        message_id = _push(gw, "PO-POISON-STORE", "buyer@example.com", 6)
        done = gw.wait(message_id, timeout=20)
    finally:
        worker.store = flaky._store
    assert flaky.failures == 0
    retried = [a for d in done["deliveries"] for a in d["attempts"] if a["outcome"] == "retry"]
    assert retried and all("store unreachable" in a["error"] for a in retried), retried
    assert not [d for d in done["deliveries"] if d["state"] == "dead"], done["deliveries"]
