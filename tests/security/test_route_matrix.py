"""Every operations route x {no key, wrong key, viewer, operator, admin}, derived from the app.

The routes and the role each needs are read off the running app's handlers (their
``requires(role)`` guards), so a new route is covered without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.auth import ROLES
from tests.gateway.harness import KEYS, Gateway, gateway
from tests.servers import SimulatorServer


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(simulators, tmp_path_factory.mktemp("sec")) as g:
        yield g


def guarded_routes(app: Any) -> list[tuple[str, str, str]]:
    """(method, path with sample params, role) for every handler with a role guard."""
    out = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            guards = [g for layer in handler.ownership_layers for g in (layer.guards or [])]
            roles = [getattr(g, "required_role", None) for g in guards]
            roles = [r for r in roles if r]
            if not roles:
                continue
            path = re.sub(r"\{[^}:]+:int\}", "1", route.path)
            path = re.sub(r"\{[^}]+\}", "x", path)
            for method in handler.http_methods:
                out.append((method, path, roles[0]))
    return sorted(set(out))


def test_the_app_has_guarded_routes(gw: Gateway) -> None:
    assert len(guarded_routes(gw.hub_app)) >= 6  # type: ignore[attr-defined]


@pytest.mark.parametrize("who", ["none", "wrong", "viewer", "operator", "admin"])
def test_every_guarded_route_answers_as_the_contract_says(gw: Gateway, who: str) -> None:
    headers = {} if who == "none" else {"Authorization": f"Bearer {KEYS.get(who, 'not-a-key')}"}
    for method, path, role in guarded_routes(gw.hub_app):  # type: ignore[attr-defined]
        code = httpx.request(
            method, gw.url + path, headers=headers, json={}, timeout=10
        ).status_code
        if who in ("none", "wrong"):
            assert code == 401, (method, path, who, code)
        elif ROLES[who] < ROLES[role]:
            assert code == 403, (method, path, who, code)
        else:
            assert code not in (401, 403), (method, path, who, code)


def test_health_and_inbound_are_not_behind_api_keys(gw: Gateway, tmp_path: Path) -> None:
    assert httpx.get(gw.url + "/health").status_code == 200
    assert httpx.get(gw.url + "/metrics").status_code == 200
