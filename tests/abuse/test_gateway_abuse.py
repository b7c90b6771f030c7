"""Gateway abuse cases of issue 11, item 10: the admin page's file route and headers, the
canonical endpoint's per-key rate limit, and duplicate Authorization headers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.api.auth import KeyRateLimits
from tests.gateway.harness import KEYS, Gateway, gateway
from tests.servers import SimulatorServer
from tests.support import ROOT

SAMPLE = (ROOT / "adapters/canonical/samples/status-event.json").read_bytes()


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(simulators, tmp_path_factory.mktemp("abuse"), workers=0) as g:
        yield g


def test_admin_file_name_with_nul_byte_is_not_found(gw: Gateway) -> None:
    with httpx.Client(base_url=gw.url) as c:
        for name in ("app.js%00.js", "..%2Findex.html", "%2e%2e", "app.js%0a"):
            reply = c.get(f"/admin/static/{name}")
            assert reply.status_code == 404, (name, reply.status_code)
        assert c.get("/admin/static/app.js").status_code == 200


def test_admin_page_forbids_framing_and_inline_script(gw: Gateway) -> None:
    with httpx.Client(base_url=gw.url) as c:
        reply = c.get("/admin/")
    csp = reply.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert reply.headers["x-frame-options"] == "DENY"


def test_canonical_endpoint_applies_the_key_rate_limit(gw: Gateway) -> None:
    saved = gw.hub.key_limits
    gw.hub.key_limits = KeyRateLimits(0.01, 2)
    try:
        codes = []
        with httpx.Client(base_url=gw.url) as c:
            for _ in range(4):
                reply = c.post("/inbound/canonical/api/v1/purchase-orders", content=SAMPLE,
                               headers={**gw.inbound_headers("canonical"),
                                        "Content-Type": "application/json"})  # fmt: skip
                codes.append(reply.status_code)
        assert codes[-1] == 429 and "retry-after" in reply.headers
        assert codes.count(429) == 2
    finally:
        gw.hub.key_limits = saved


def test_two_authorization_headers_are_refused(gw: Gateway) -> None:
    both = [("Authorization", f"Bearer {KEYS['viewer']}"), ("Authorization", "Bearer wrong")]
    with httpx.Client(base_url=gw.url) as c:
        assert c.get("/api/v1/messages", headers=both).status_code == 401
        reply = c.post(
            "/inbound/canonical/api/v1/purchase-orders", content=SAMPLE,
            headers=[*both[::-1], ("Content-Type", "application/json")],
        )  # fmt: skip
        assert reply.status_code == 401
        assert c.get("/api/v1/messages", headers=both[:1]).status_code == 200
