"""Per-API-key rate limits on the operations API.

Each API key may make ``api_key_burst`` requests at once and ``api_key_rate_per_s`` a
second after that (here both set to 20); the next gets ``429`` with a ``Retry-After`` header
(whole seconds) and a JSON body, counted in ``pohub_api_rate_limited_total``. The limit is
per key: another key, the inbound endpoints and ``/health`` are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.harness import Gateway, gateway
from tests.servers import SimulatorServer

RATE_PER_S = 20
BURST = RATE_PER_S * 3


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    from gateway.api.auth import KeyRateLimits

    with gateway(simulators, tmp_path_factory.mktemp("rate"), workers=0) as g:
        g.hub.key_limits = KeyRateLimits(rate_per_s=RATE_PER_S, burst=RATE_PER_S)
        yield g


def _burst(gw: Gateway, role: str, n: int = BURST) -> list[httpx.Response]:
    with gw.client(role) as c:
        return [c.get("/api/v1/messages", params={"limit": 1}) for _ in range(n)]


def test_a_key_over_its_rate_gets_429_with_retry_after(gw: Gateway) -> None:
    replies = _burst(gw, "viewer")
    codes = [r.status_code for r in replies]
    assert 429 in codes, codes
    assert codes[:RATE_PER_S] == [200] * RATE_PER_S, codes
    limited = next(r for r in replies if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()
    assert "pohub_api_rate_limited_total" in httpx.get(gw.url + "/metrics").text


def test_the_limit_is_per_key(gw: Gateway) -> None:
    assert 429 in [r.status_code for r in _burst(gw, "operator")]
    with gw.client("admin") as c:
        assert c.get("/api/v1/messages").status_code == 200
    assert httpx.get(gw.url + "/health").status_code == 200
