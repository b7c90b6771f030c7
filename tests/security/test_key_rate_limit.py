"""Per-key rate limits on the operations API: past the burst, 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.harness import KEYS, Gateway, gateway
from tests.servers import SimulatorServer


@pytest.fixture
def gw(sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path) as g:
        from gateway.auth import KeyRateLimits

        g.hub.key_limits = KeyRateLimits(rate_per_s=2.0, burst=5)
        yield g


def test_a_key_past_its_burst_gets_429_and_other_keys_do_not(gw: Gateway) -> None:
    viewer = {"Authorization": f"Bearer {KEYS['viewer']}"}
    codes = [httpx.get(f"{gw.url}/api/v1/messages", headers=viewer).status_code for _ in range(8)]
    assert codes[:5] == [200] * 5 and 429 in codes[5:]
    limited = httpx.get(f"{gw.url}/api/v1/messages", headers=viewer)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    admin = {"Authorization": f"Bearer {KEYS['admin']}"}
    assert httpx.get(f"{gw.url}/api/v1/messages", headers=admin).status_code == 200
