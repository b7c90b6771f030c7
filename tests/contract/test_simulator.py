"""Every simulator's contract, generated over the registry: who may call it, its own error
envelope (the system's ``replies`` table) for refusals and injected faults, and the
``_received`` log of effects that keeps no secret, the fault settings ``honour_keys`` and
``drop_reply_rate`` (the effect happens, the reply is lost)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from adapters import registry
from adapters._sim import Faults
from core.adapter import Call
from core.errors import RetryableDelivery
from tests.contract.cases import credentials, delivering, shape, success_plan
from tests.servers import SimulatorServer, client_for

SYSTEMS = delivering()


@pytest.fixture
def http(sim: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=10) as client:
        yield client


def _send(
    http: httpx.Client, system: str, call: Call, headers: dict[str, str] | None = None
) -> httpx.Response:
    kw: dict[str, Any] = {"headers": {**call.headers, **(headers or {})}}
    if call.json is not None:
        kw["content"] = orjson.dumps(call.json)
        kw["headers"]["Content-Type"] = "application/json"
    elif call.text is not None:
        kw["content"] = call.text.encode()
    return http.request(call.method, f"/{system}{call.path}", **kw)


def _signed(sim: SimulatorServer, system: str) -> dict[str, str]:
    return credentials(system, sim.sims[system].secrets).headers


def _envelope(system: str, status: int) -> Any:
    return shape(registry.system(system).error_reply(status, "x").json)


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_success_plan_is_taken_and_logged_without_secrets(
    sim: SimulatorServer, http: httpx.Client, system: str
) -> None:
    call = success_plan(system).calls[0]
    got = _send(http, system, call, _signed(sim, system))
    assert got.status_code < 300, got.text
    log = http.get(f"/{system}/_received").json()["received"]
    assert [(r["method"], r["path"]) for r in log] == [(call.method, call.path.split("?")[0])]
    assert "authorization" not in log[0]["headers"]
    shown = orjson.dumps(log).decode()
    assert not [v for v in _signed(sim, system).values() if v in shown]
    assert http.delete(f"/{system}/_received").status_code == 200
    assert http.get(f"/{system}/_received").json()["received"] == []


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("signed", ["none", "wrong"])
def test_auth_is_refused_in_the_system_s_envelope(
    sim: SimulatorServer, http: httpx.Client, system: str, signed: str
) -> None:
    headers = {}
    if signed == "wrong":
        wrong = {k: f"wrong-{v}" for k, v in sim.sims[system].secrets.items()}
        headers = credentials(system, wrong).headers
    got = _send(http, system, success_plan(system).calls[0], headers)
    assert got.status_code == 401
    assert shape(got.json()) == _envelope(system, 401)
    assert not [v for v in headers.values() if v in got.text]
    assert http.get(f"/{system}/_received").json()["received"] == []


@pytest.mark.parametrize("system", SYSTEMS)
def test_an_unknown_route_is_a_404_in_the_envelope(
    sim: SimulatorServer, http: httpx.Client, system: str
) -> None:
    got = http.post(f"/{system}/no/such/route", headers=_signed(sim, system), content=b"{}")
    assert got.status_code == 404
    assert shape(got.json()) == _envelope(system, 404)


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("status", [429, 500, 503])
def test_injected_faults_answer_in_the_envelope_and_change_nothing(
    sim: SimulatorServer, http: httpx.Client, system: str, status: int
) -> None:
    faults = {"fail_rate": 1.0, "status": status, "retry_after": 3}
    assert http.put(f"/{system}/_faults", json=faults).status_code == 200
    got = _send(http, system, success_plan(system).calls[0], _signed(sim, system))
    assert got.status_code == status
    assert shape(got.json()) == _envelope(system, status)
    if status == 429:
        assert got.headers["Retry-After"] == "3"
    assert http.get(f"/{system}/_received").json()["received"] == []
    assert http.put(f"/{system}/_faults", json={}).status_code == 200
    again = _send(http, system, success_plan(system).calls[0], _signed(sim, system))
    assert again.status_code < 300


@pytest.mark.parametrize("system", SYSTEMS)
def test_unknown_fault_settings_are_refused(http: httpx.Client, system: str) -> None:
    assert http.put(f"/{system}/_faults", json={"fail_rat": 1}).status_code == 400


@pytest.mark.anyio
@pytest.mark.parametrize("system", SYSTEMS)
async def test_honour_keys_answers_a_repeated_key_with_no_second_effect(
    sim: SimulatorServer, system: str
) -> None:
    simulator = sim.sims[system]
    simulator.faults = Faults.parse({"honour_keys": True})
    plan = success_plan(system)
    async with client_for(sim, system) as client:
        first = await client.send(plan, "same-key")
        effects = len(simulator.received)
        again = await client.send(plan, "same-key")
    assert again.body == first.body
    assert simulator.duplicates == len(plan.calls)
    assert len(simulator.received) == effects


@pytest.mark.anyio
@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_dropped_reply_comes_after_the_effect(sim: SimulatorServer, system: str) -> None:
    simulator = sim.sims[system]
    simulator.faults = Faults.parse({"drop_reply_rate": 1, "drop_reply_limit": 1})
    async with client_for(sim, system) as client:
        with pytest.raises(RetryableDelivery, match="connection error"):
            await client.send(success_plan(system), uuid.uuid4().hex)
    assert len(simulator.received) == 1 and simulator.dropped == 1
