"""A stale replay must not overwrite newer data (issue 11, item 8): push v1 (quantity 1) and
v2 (quantity 2) of one PO, then replay v1; and bulk replay of delivered work needs force."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.gateway.harness import Gateway, gateway
from tests.servers import SimulatorServer
from tests.support import ROOT

PATH = "/inbound/uniware/approvedPurchaseOrder"


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(simulators, tmp_path_factory.mktemp("stale")) as g:
        yield g


def _push(gw: Gateway, po: str, quantity: int) -> str:
    body = orjson.loads((ROOT / "adapters/uniware/samples/approved-po.json").read_bytes())
    body["code"] = po
    body["purchaseOrderItems"][0]["quantity"] = quantity
    headers = {**gw.inbound_headers("uniware"), "Content-Type": "application/json"}
    reply = httpx.post(gw.url + PATH, content=orjson.dumps(body), headers=headers, timeout=10)
    assert reply.status_code == 200, reply.text
    message_id = reply.headers["X-Pohub-Message-Id"]
    gw.wait(message_id, target="leo", timeout=30)
    return message_id


def _leo_quantity_sent_last(gw: Gateway, message_id: str) -> int:
    with gw.client("viewer") as c:
        got = c.get(f"/api/v1/messages/{message_id}").json()
    leo = next(d for d in got["deliveries"] if d["target"] == "leo")
    return len(leo["attempts"])


def test_replaying_a_superseded_event_is_refused_unless_forced(gw: Gateway) -> None:
    v1 = _push(gw, "PO-STALE-1", 1)
    _push(gw, "PO-STALE-1", 2)
    with gw.client("operator") as c:
        reply = c.post(f"/api/v1/messages/{v1}/replay", params={"target": "leo"})
        assert reply.status_code == 409, reply.text
        assert "newer event of PO PO-STALE-1" in reply.text and "force" in reply.text
        assert _leo_quantity_sent_last(gw, v1) == 1  # nothing was sent again
        forced = c.post(f"/api/v1/messages/{v1}/replay", params={"target": "leo", "force": True})
        assert forced.status_code == 202 and forced.json()["replayed"], forced.text


def test_bulk_replay_of_delivered_needs_force_and_skips_stale(gw: Gateway) -> None:
    _push(gw, "PO-STALE-2", 1)
    _push(gw, "PO-STALE-2", 2)
    with gw.client("operator") as c:
        for status in ("delivered", None):
            body = {"po_number": "PO-STALE-2", "status": status, "dry_run": True}
            assert c.post("/api/v1/replays", json=body).status_code == 400
        body = {"po_number": "PO-STALE-2", "target": "leo", "status": "delivered",
                "dry_run": True, "force": False}  # fmt: skip
        assert c.post("/api/v1/replays", json=body).status_code == 400
        dry = c.post("/api/v1/replays", json={**body, "force": True}).json()
        assert dry["count"] == 2 and dry["filter"]["po_number"] == "PO-STALE-2"
