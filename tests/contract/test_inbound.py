"""Every system's drop-in endpoint through the real gateway, generated over the registry:
who may send, a body that is not JSON, a media type the endpoint does not read, each
answered in the sender's own envelope (its ``replies`` table), the shape its simulator
answers the same error with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters import registry
from tests.contract.cases import receiving, shape
from tests.gateway.harness import Gateway, gateway
from tests.servers import SimulatorServer

SYSTEMS = receiving()


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(simulators, tmp_path_factory.mktemp("inbound"), workers=0) as g:
        yield g


def _url(system: str) -> tuple[str, str]:
    """The method and URL of the system's first route that takes no path parameter."""
    spec = registry.system(system).inbound
    assert spec is not None
    route = next(r for r in spec.routes if "{" not in r.path)
    return route.method, f"/inbound/{system}{route.path}"


def _send(gw: Gateway, system: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    method, url = _url(system)
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        return client.request(method, url, content=body, headers=headers)


def _envelope(system: str, status: int, field: str | None = None) -> Any:
    reply = registry.system(system).error_reply(status, "x", field, "rule" if field else None)
    return shape(reply.json)


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("signed", ["none", "wrong"])
def test_a_sender_that_does_not_sign_in_is_refused_in_its_envelope(
    gw: Gateway, system: str, signed: str
) -> None:
    headers = {"Content-Type": "application/json"}
    if signed == "wrong":
        headers["Authorization"] = "Bearer wrong-token-for-the-test"
    got = _send(gw, system, b"{}", headers)
    assert got.status_code == 401
    assert shape(got.json()) == _envelope(system, 401)
    assert "wrong-token-for-the-test" not in got.text


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2"])
def test_a_body_that_is_not_json_is_a_400_naming_the_root(
    gw: Gateway, system: str, body: bytes
) -> None:
    headers = {**gw.inbound_headers(system), "Content-Type": "application/json"}
    got = _send(gw, system, body, headers)
    assert got.status_code == 400, got.text
    assert shape(got.json()) == _envelope(system, 400, "$")
    assert "$" in got.text


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_media_type_the_endpoint_does_not_read_is_a_415(gw: Gateway, system: str) -> None:
    headers = {**gw.inbound_headers(system), "Content-Type": "text/plain"}
    got = _send(gw, system, b"{}", headers)
    assert got.status_code == 415, got.text
    assert shape(got.json()) == _envelope(system, 415)


def test_every_system_with_an_endpoint_is_served(gw: Gateway) -> None:
    served = {Path(p).parts[2] for p in gw.hub_app.openapi_schema.paths or {}  # type: ignore[attr-defined]
              if p.startswith("/inbound/")}  # fmt: skip
    assert served == set(SYSTEMS)
