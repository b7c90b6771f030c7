"""Every route of the app x {no key, wrong key, viewer, operator, admin}.

The routes come from the running app (all of them), and the role each needs comes from
the contract below, written by hand: a new route that is neither public nor in the
contract fails here, and so does a route whose guard is missing or weaker than the
contract says. Public routes are listed explicitly with why.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.observe.audit import ROLES
from tests.gateway.harness import KEYS, Gateway, gateway
from tests.servers import SimulatorServer

PUBLIC = {
    r"GET /health": "liveness probe",
    r"GET /ready": "readiness probe",
    r"GET /metrics": "Prometheus scrape (counts only, no business data)",
    r"GET /schema.*": "the OpenAPI document",
    r"GET /admin(/static/.*)?": "the admin page's HTML and assets; its data needs a key",
    r"(POST|PUT|PATCH) /inbound/.*": "a system's drop-in endpoint: that system's own auth",
    r"POST /api/v1/purchase-orders": "canonical inbound: its own inbound auth",
}

CONTRACT = {
    "GET /api/v1/whoami": "viewer",
    "GET /api/v1/stats/causes": "viewer",
    "GET /api/v1/stats/counts": "viewer",
    "GET /api/v1/stats/throughput": "viewer",
    "GET /api/v1/mappings": "viewer",
    "GET /api/v1/mappings/{system:str}": "viewer",
    "PUT /api/v1/mappings/{system:str}": "admin",
    "GET /api/v1/mappings/{system:str}/diff": "viewer",
    "POST /api/v1/mappings/{system:str}/preview": "viewer",
    "POST /api/v1/mappings/{system:str}/rollback": "admin",
    "GET /api/v1/mappings/{system:str}/versions": "viewer",
    "GET /api/v1/mappings/{system:str}/versions/{n:int}": "viewer",
    "GET /api/v1/mappings/{system:str}/versions/content/{content_version:str}": "viewer",
    "GET /api/v1/mappings/{system:str}/rules": "viewer",
    "POST /api/v1/mappings/{system:str}/validate": "viewer",
    "GET /api/v1/mappings/{system:str}/draft": "viewer",
    "PUT /api/v1/mappings/{system:str}/draft": "admin",
    "DELETE /api/v1/mappings/{system:str}/draft": "admin",
    "POST /api/v1/mappings/{system:str}/draft/review": "viewer",
    "POST /api/v1/mappings/{system:str}/draft/publish": "admin",
    "GET /api/v1/messages": "viewer",
    "GET /api/v1/messages/{message_id:str}": "viewer",
    "POST /api/v1/messages/{message_id:str}/replay": "operator",
    "POST /api/v1/replays": "operator",
    "GET /api/v1/replays/{job_id:str}": "operator",
    "GET /api/v1/purchase-orders": "viewer",
    "GET /api/v1/purchase-orders/{po_number:str}": "viewer",
    "GET /api/v1/audit": "operator",
    "GET /api/v1/targets": "viewer",
    "GET /api/v1/alerts": "viewer",
    "POST /api/v1/targets/{name:str}/pause": "operator",
    "POST /api/v1/targets/{name:str}/resume": "operator",
    "GET /api/v1/systems": "viewer",
}


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(simulators, tmp_path_factory.mktemp("sec")) as g:
        yield g


def all_routes(app: Any) -> list[str]:
    """'METHOD /path' for every handler of the app (OPTIONS and HEAD left out)."""
    out = {
        f"{method} {route.path}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        for method in handler.http_methods
        if method not in ("OPTIONS", "HEAD")
    }
    return sorted(out)


def _public(route: str) -> bool:
    return any(re.fullmatch(pattern, route) for pattern in PUBLIC)


def _concrete(path: str) -> str:
    path = re.sub(r"\{[^}:]+:int\}", "1", path)
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_is_public_or_in_the_contract(gw: Gateway) -> None:
    routes = all_routes(gw.hub_app)  # type: ignore[attr-defined]
    assert len(routes) > 20
    unknown = [r for r in routes if not _public(r) and r not in CONTRACT]
    assert not unknown, f"routes neither public nor in the role contract: {unknown}"
    gone = [r for r in CONTRACT if r not in routes]
    assert not gone, f"the contract names routes the app does not have: {gone}"


@pytest.mark.parametrize("who", ["none", "wrong", "viewer", "operator", "admin"])
def test_every_route_answers_as_the_contract_says(gw: Gateway, who: str) -> None:
    headers = {} if who == "none" else {"Authorization": f"Bearer {KEYS.get(who, 'not-a-key')}"}
    for route, role in CONTRACT.items():
        method, path = route.split(" ", 1)
        code = httpx.request(
            method, gw.url + _concrete(path), headers=headers, json={}, timeout=10
        ).status_code
        if who in ("none", "wrong"):
            assert code == 401, (route, who, code)
        elif ROLES[who] < ROLES[role]:
            assert code == 403, (route, who, code)
        else:
            assert code not in (401, 403), (route, who, code)


def test_the_matrix_sees_a_route_without_a_guard(gw: Gateway) -> None:
    """A route nobody listed is caught (the check above cannot pass by knowing too little)."""
    routes = [*all_routes(gw.hub_app), "GET /api/v1/forgotten"]  # type: ignore[attr-defined]
    assert [r for r in routes if not _public(r) and r not in CONTRACT] == ["GET /api/v1/forgotten"]


def test_health_and_metrics_are_not_behind_api_keys(gw: Gateway) -> None:
    assert httpx.get(gw.url + "/health").status_code == 200
    assert httpx.get(gw.url + "/metrics").status_code == 200
