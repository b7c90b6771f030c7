"""Every system's client against its own simulator on loopback, generated over the registry.

What each client must do whatever its dialect: deliver the success envelope, classify each
error class of its system's own envelope (auth refused -> ``AuthFailure``, other 4xx ->
``PermanentDelivery``, 408/429/5xx -> ``RetryableDelivery``, 429 after ``Retry-After``), read
a 2xx that is not the documented reply as unconfirmed (retryable, no status: like a lost
reply), and never show a secret. A sixth system's client is covered by its folder alone;
per-system files keep only their document's quirks.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest

from adapters import registry
from adapters._http import REDACTED, Exchange
from adapters._sim import Faults
from core.errors import AuthFailure, DeliveryError, PermanentDelivery, RetryableDelivery
from tests.contract.cases import credentials, delivering, success_plan
from tests.servers import SimulatorServer, client_for, free_port

pytestmark = pytest.mark.anyio
SYSTEMS = delivering()
CLASSES = [
    (400, PermanentDelivery),
    (404, PermanentDelivery),
    (409, PermanentDelivery),
    (422, PermanentDelivery),
    (401, AuthFailure),
    (403, AuthFailure),
    (408, RetryableDelivery),
    (429, RetryableDelivery),
    (500, RetryableDelivery),
    (502, RetryableDelivery),
    (503, RetryableDelivery),
    (504, RetryableDelivery),
]


def _client(system: str, base_url: str = "http://target.test", **kw: Any) -> Any:
    client = registry.system(system).client
    assert client is not None
    return client(base_url, credentials(system, {"token": "t0k3n-xyz", "username": "u",
                                                 "password": "p4ss-xyz"}), **kw)  # fmt: skip


@pytest.mark.parametrize("system", SYSTEMS)
async def test_success_envelope_is_delivered_and_secrets_never_shown(
    sim: SimulatorServer, system: str
) -> None:
    plan = success_plan(system)
    simulator = sim.sims[system]
    exchanges: list[Exchange] = []
    async with client_for(sim, system) as client:
        delivered = await client.send(plan, uuid.uuid4().hex, exchanges=exchanges)
    assert delivered.steps == len(plan.calls)
    assert 200 <= delivered.status < 300
    assert len(simulator.received) >= 1
    secret_values = [
        *simulator.secrets.values(),
        *credentials(system, simulator.secrets).headers.values(),
    ]
    shown = repr(exchanges) + orjson.dumps(simulator.received).decode()
    assert secret_values and not [v for v in secret_values if v in shown]
    for exchange in exchanges:
        for name in credentials(system, simulator.secrets).headers:
            assert exchange.request.headers[name.lower()] == REDACTED
    assert all("authorization" not in r["headers"] for r in simulator.received)


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize(("status", "kind"), CLASSES, ids=lambda v: getattr(v, "__name__", v))
async def test_each_error_class_of_the_system_s_envelope(
    sim: SimulatorServer, system: str, status: int, kind: type[DeliveryError]
) -> None:
    """The simulator answers in its own error envelope (its ``replies`` table); the client
    classifies by status whatever the envelope says, and a refused call had no effect."""
    simulator = sim.sims[system]
    simulator.faults = Faults.parse({"fail_rate": 1.0, "status": status, "retry_after": 7})
    async with client_for(sim, system) as client:
        with pytest.raises(DeliveryError) as raised:
            await client.send(success_plan(system), uuid.uuid4().hex)
    error = raised.value
    assert isinstance(error, kind), (type(error).__name__, str(error))
    assert kind is AuthFailure or not isinstance(error, AuthFailure)
    assert error.status == status and error.step == 0
    if status == 429:
        assert isinstance(error, RetryableDelivery) and error.retry_after == 7
    assert simulator.received == []


@pytest.mark.parametrize("system", SYSTEMS)
async def test_wrong_credentials_are_an_auth_failure_that_shows_no_secret(
    sim: SimulatorServer, system: str
) -> None:
    wrong = {k: f"wrong-{v}" for k, v in sim.sims[system].secrets.items()}
    client_class = registry.system(system).client
    assert client_class is not None
    async with client_class(sim.base_url(system), credentials(system, wrong)) as client:
        with pytest.raises(AuthFailure) as raised:
            await client.send(success_plan(system), uuid.uuid4().hex)
    assert raised.value.status == 401
    assert not [v for v in wrong.values() if v in str(raised.value) + str(raised.value.body)]
    assert sim.sims[system].received == []


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("body", [b"<html>ok</html>", b'{"unexpected": true}', b"[]"])
async def test_a_2xx_that_is_not_the_documented_reply_is_unconfirmed(
    system: str, body: bytes
) -> None:
    """One rule for every system: the request may or may not have taken effect, so it is
    retryable with no reply status, like a lost reply (read back first where the target
    acts)."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    async with _client(system, transport=transport) as client:
        with pytest.raises(RetryableDelivery) as raised:
            await client.send(success_plan(system), uuid.uuid4().hex)
    assert raised.value.status is None
    assert "unconfirmed" in str(raised.value)


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "connection error"),
    ],
    ids=["read-timeout", "connect-timeout", "connect"],
)
async def test_transport_failures_are_retryable(system: str, error: Exception, shown: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    async with _client(system, transport=httpx.MockTransport(fail)) as client:
        with pytest.raises(RetryableDelivery, match=shown) as raised:
            await client.send(success_plan(system), uuid.uuid4().hex)
    assert raised.value.status is None and raised.value.step == 0


@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_closed_port_on_loopback_is_retryable(system: str) -> None:
    async with _client(system, f"http://127.0.0.1:{free_port()}", timeout_s=2) as client:
        with pytest.raises(RetryableDelivery, match="connection error"):
            await client.send(success_plan(system), uuid.uuid4().hex)
