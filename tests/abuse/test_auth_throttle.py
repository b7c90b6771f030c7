"""Failed sign-ins are throttled per client address (issue 11, "Lose nothing, block nothing"):
after a few wrong keys or credentials, the operations API and the inbound endpoints answer
429 with Retry-After (inbound in the sender's own envelope) to that address, even for a right
key, until the window refills; other addresses are untouched, the refusals are counted in
the metrics, and the table of addresses stays bounded."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from gateway.api.auth import FailedAuth
from tests.gateway.harness import KEYS, Gateway, gateway
from tests.servers import SimulatorServer
from tests.support import ROOT

UNIWARE = (ROOT / "adapters/uniware/samples/approved-po.json").read_bytes()
WRONG = {"Authorization": "Bearer not-a-key"}


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(simulators, tmp_path_factory.mktemp("throttle"), workers=0) as g:
        yield g


@pytest.fixture
def strict(gw: Gateway) -> Iterator[FailedAuth]:
    """Three failures per 30 s per address (the harness loosens the limit for other tests)."""
    saved = gw.hub.failed_auth
    gw.hub.failed_auth = FailedAuth(limit=3, window_s=30)
    yield gw.hub.failed_auth
    gw.hub.failed_auth = saved


def _metric(gw: Gateway, name: str, labels: str = "") -> float:
    text = httpx.get(f"{gw.url}/metrics", timeout=10).text
    found = re.search(rf"^{name}{re.escape(labels)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_wrong_api_keys_are_throttled_per_address(gw: Gateway, strict: FailedAuth) -> None:
    throttled = _metric(gw, "pohub_auth_throttled_total", '{surface="api"}')
    failed = _metric(gw, "pohub_api_auth_failed_total")
    right = {"Authorization": f"Bearer {KEYS['viewer']}"}
    with httpx.Client(base_url=gw.url, timeout=10) as c:
        codes = [c.get("/api/v1/messages", headers=WRONG).status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        reply = c.get("/api/v1/messages", headers=WRONG)
        assert reply.status_code == 429, reply.text
        assert 1 <= int(reply.headers["retry-after"]) <= 10
        # a right key from the same address waits too: else guessing would go on
        assert c.get("/api/v1/messages", headers=right).status_code == 429
        # no key at all is not a guess: 401 as before, and not counted
        assert c.get("/api/v1/messages").status_code == 401
    # another address (127.0.0.2 reaches the loopback listener too) is not throttled
    other = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=gw.url, timeout=10, transport=other) as c:
        assert c.get("/api/v1/messages", headers=right).status_code == 200
        assert c.get("/api/v1/messages", headers=WRONG).status_code == 401
    assert _metric(gw, "pohub_auth_throttled_total", '{surface="api"}') == throttled + 2
    assert _metric(gw, "pohub_api_auth_failed_total") == failed + 4


def test_wrong_inbound_credentials_are_throttled_in_the_senders_envelope(
    gw: Gateway, strict: FailedAuth
) -> None:
    url = f"{gw.url}/inbound/uniware/approvedPurchaseOrder"
    good = {**gw.inbound_headers("uniware"), "Content-Type": "application/json"}
    bad = {"Authorization": "Basic bm90OnJpZ2h0", "Content-Type": "application/json"}
    with httpx.Client(timeout=10) as c:
        codes = [c.post(url, content=UNIWARE, headers=bad).status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        for headers in (bad, good):
            reply = c.post(url, content=UNIWARE, headers=headers)
            assert reply.status_code == 429, reply.text
            envelope = reply.json()
            assert envelope["status"] == "Failed" and "failed sign-ins" in envelope["message"]
            assert int(reply.headers["retry-after"]) >= 1
    assert _metric(gw, "pohub_auth_throttled_total", '{surface="uniware"}') >= 2


def test_the_throttle_lifts_once_the_window_refills(gw: Gateway) -> None:
    saved = gw.hub.failed_auth
    gw.hub.failed_auth = FailedAuth(limit=2, window_s=1.0)  # one failure back every 0.5 s
    try:
        with httpx.Client(base_url=gw.url, timeout=10) as c:
            assert [c.get("/api/v1/targets", headers=WRONG).status_code for _ in range(3)] == [
                401, 401, 429,
            ]  # fmt: skip
            time.sleep(0.6)
            right = {"Authorization": f"Bearer {KEYS['viewer']}"}
            assert c.get("/api/v1/targets", headers=right).status_code == 200
    finally:
        gw.hub.failed_auth = saved


def test_the_table_of_addresses_stays_bounded() -> None:
    failures = FailedAuth(limit=3, window_s=60, max_clients=100)
    for i in range(20_000):
        failures.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(failures) <= 100
    for _ in range(3):
        failures.failed("192.0.2.1")
    assert failures.blocked("192.0.2.1") is not None  # the newest is tracked, and blocked
    assert len(failures) <= 100
    assert failures.blocked("203.0.113.9") is None  # never seen: free


def test_an_address_whose_failures_refilled_is_dropped_first() -> None:
    failures = FailedAuth(limit=2, window_s=0.2, max_clients=3)
    failures.failed("a")
    time.sleep(0.3)  # "a" has refilled: its entry means nothing any more
    failures.failed("b")
    failures.failed("b")
    failures.failed("c")
    failures.failed("d")  # the table is full: "a" goes, not the older but blocked "b"
    assert failures.blocked("b") is not None
    assert len(failures) == 3 and failures.blocked("a") is None


def test_a_sample_push_still_passes_with_the_defaults(gw: Gateway) -> None:
    body = orjson.loads(UNIWARE)
    body["code"] = "PO-THROTTLE-OK"
    headers = {**gw.inbound_headers("uniware"), "Content-Type": "application/json"}
    reply = httpx.post(f"{gw.url}/inbound/uniware/approvedPurchaseOrder",
                       content=orjson.dumps(body), headers=headers, timeout=10)  # fmt: skip
    assert reply.status_code == 200, reply.text
