"""A delivery parked because EnKash had not named the PO yet (identity missing) goes out
the moment EnKash names it: the hub never sends its own number as EnKash's objectId, and
never leaves the delivery parked once the id is known (issue 10, identity)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.gateway.harness import Gateway, gateway
from tests.servers import SimulatorServer
from tests.support import ROOT


@pytest.fixture
def gw(sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path) as g:
        yield g


def _push(gw: Gateway, system: str, path: str, body: bytes) -> str:
    headers = {**gw.inbound_headers(system), "Content-Type": "application/json"}
    reply = httpx.post(f"{gw.url}/inbound/{system}{path}", content=body, headers=headers,
                       timeout=10)  # fmt: skip
    assert reply.status_code == 200, reply.text
    return reply.headers["X-Pohub-Message-Id"]


def test_parked_for_enkash_identity_goes_out_once_enkash_names_the_po(gw: Gateway) -> None:
    po = orjson.loads((ROOT / "adapters/uniware/samples/approved-po.json").read_bytes())
    po["code"] = "PO-ID-77"
    first = _push(gw, "uniware", "/approvedPurchaseOrder", orjson.dumps(po))
    parked = gw.wait(first, ("parked",), target="enkash")
    enkash = next(d for d in parked["deliveries"] if d["target"] == "enkash")
    assert "identity missing" in enkash["reason"] and "objectId" in enkash["reason"]
    assert not gw.sims.sims["enkash"].received  # nothing was sent under an invented id

    change = orjson.loads(
        (ROOT / "adapters/enkash/samples/status-change-request.json").read_bytes()
    )
    status = change["poStatus"]
    status.update(objectId="ENK-OBJ-9", buyerPONumber="PO-ID-77")
    status["objectVersion"] = {"currentVersion": 1, "newVersion": 2}
    status["poStatusTransition"] = {"currentStatus": "CREATED", "newStatus": "APPROVED"}
    _push(gw, "enkash", "/api/v0/purchase-order/req-status-change", orjson.dumps(change))

    done = gw.wait(first, ("delivered",), target="enkash", timeout=30)
    sent = [r["json"] for r in gw.sims.sims["enkash"].received]
    assert [s["poStatus"]["objectId"] for s in sent] == ["ENK-OBJ-9"]
    assert sent[0]["poStatus"]["objectVersion"] == {"currentVersion": 2, "newVersion": 3}
    assert any(d["target"] == "enkash" and d["state"] == "delivered" for d in done["deliveries"])


def test_an_amendment_changes_the_order_alphaalpha_holds_instead_of_a_new_one(
    gw: Gateway,
) -> None:
    po = orjson.loads((ROOT / "adapters/uniware/samples/approved-po.json").read_bytes())
    po["code"] = "PO-AM-1"
    first = _push(gw, "uniware", "/approvedPurchaseOrder", orjson.dumps(po))
    gw.wait(first, ("delivered",), target="alphaalpha", timeout=30)
    creates = [r for r in gw.sims.sims["alphaalpha"].received if r["method"] == "POST"
               and r["path"].endswith("/purchase-orders")]  # fmt: skip
    assert len(creates) == 1
    amended = dict(po, code="PO-AM-2", amendedPurchaseOrderCode="PO-AM-1")
    amended["purchaseOrderItems"] = [dict(po["purchaseOrderItems"][0], quantity=9)]
    second = _push(gw, "uniware", "/approvedPurchaseOrder", orjson.dumps(amended))
    done = gw.wait(second, ("delivered",), target="alphaalpha", timeout=30)
    received = gw.sims.sims["alphaalpha"].received
    creates = [
        r for r in received if r["method"] == "POST" and r["path"].endswith("/purchase-orders")
    ]
    assert len(creates) == 1, "the amendment was created as a second order"
    patch = [
        r for r in received if r["method"] == "PATCH" and r["json"] and "products" in r["json"]
    ]
    assert patch and patch[-1]["json"]["products"][0]["quantity"] == 9
    assert any(d["target"] == "alphaalpha" for d in done["deliveries"])
