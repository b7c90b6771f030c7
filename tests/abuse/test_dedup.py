"""Dedup never loses an event (issue 11, item 1): Leo's body has no time or version, so a
status that comes back after another one is a new event; only a resend of the latest is a
duplicate; an Idempotency-Key reused for a different body is a 409, never a silent 200."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests import support
from tests.gateway.harness import Gateway, gateway, store_url_for
from tests.servers import SimulatorServer
from tests.support import ROOT

LEO = "/inbound/leo/leo-order-domaingateway-api/api/v2/Order/processAsync"
LEO_SAMPLE = support.sample_paths("leo")[0]


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def gw(
    request: pytest.FixtureRequest, simulators: SimulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:  # fmt: skip
    store = store_url_for(request, "dedup")
    with gateway(simulators, tmp_path_factory.mktemp("dedup"), store_url=store) as g:
        yield g


def _known(gw: Gateway, po: str) -> None:
    body = orjson.loads((ROOT / "adapters/uniware/samples/approved-po.json").read_bytes())
    body["code"] = po
    headers = {**gw.inbound_headers("uniware"), "Content-Type": "application/json"}
    reply = httpx.post(f"{gw.url}/inbound/uniware/approvedPurchaseOrder",
                       content=orjson.dumps(body), headers=headers, timeout=10)  # fmt: skip
    gw.wait(reply.headers["X-Pohub-Message-Id"], timeout=30)


def _leo(gw: Gateway, po: str, status: str, key: str | None = None) -> httpx.Response:
    body = {"documentNumber": po, "status": status, "lineInfo": []}
    headers = {**gw.inbound_headers("leo"), **support.headers_for(LEO_SAMPLE),
               "Content-Type": "application/json"}  # fmt: skip
    if key:
        headers["Idempotency-Key"] = key
    return httpx.post(gw.url + LEO, content=orjson.dumps(body), headers=headers, timeout=10)


def test_a_status_repeated_after_another_is_a_new_event(gw: Gateway) -> None:
    po = f"PO-DEDUP-{gw.hub.store.__class__.__name__}"
    _known(gw, po)
    ids = [_leo(gw, po, s).headers["X-Pohub-Message-Id"]
           for s in ("IN_PROGRESS", "APPROVED", "IN_PROGRESS")]  # fmt: skip
    assert len(set(ids)) == 3, ids
    for message_id in ids:
        gw.wait(message_id, target="uniware", timeout=30)
    uniware = [r for r in gw.sims.sims["uniware"].received if (r["json"] or {}).get("code") == po]
    assert len(uniware) == 3  # each of the three reached the target


def test_a_resend_of_the_latest_event_is_a_duplicate(gw: Gateway) -> None:
    po = f"PO-RESEND-{gw.hub.store.__class__.__name__}"
    _known(gw, po)
    first = _leo(gw, po, "SENT").headers["X-Pohub-Message-Id"]
    again = _leo(gw, po, "SENT")
    assert again.status_code == 200 and again.headers["X-Pohub-Message-Id"] == first


def test_an_idempotency_key_reused_for_another_po_is_a_409(gw: Gateway) -> None:
    key = f"key-{gw.hub.store.__class__.__name__}"
    first = _leo(gw, "PO-KEY-A", "SENT", key)
    assert first.status_code == 200
    same = _leo(gw, "PO-KEY-A", "SENT", key)
    assert same.status_code == 200
    assert same.headers["X-Pohub-Message-Id"] == first.headers["X-Pohub-Message-Id"]
    other = _leo(gw, "PO-KEY-B", "SENT", key)
    assert other.status_code == 409, other.text
    assert orjson.loads(other.content)["hasException"] is True
    assert "Idempotency-Key" in other.text
