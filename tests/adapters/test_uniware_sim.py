"""Uniware's client against its simulator over loopback, and its classification offline.

The document (``uniware-approved-purchase-order.txt``) shows only the success reply; the
simulator answers errors in the same ``{status: "Failed", message}`` envelope (400 bad
body, 401 bad token), and the client must turn each into the shared error tree.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from adapters import registry
from adapters._http import Credentials, Delivered
from adapters.uniware.client import UniwareClient
from adapters.uniware.replies import Reply
from adapters.uniware.simulator import UniwareSimulator
from core.adapter import Call, RenderContext, Rendered
from core.errors import AuthFailure, PermanentDelivery, RetryableDelivery
from tests import support
from tests.servers import SimulatorServer, client_for, serve

pytestmark = pytest.mark.anyio

SYSTEM = "uniware"
SAMPLES = registry.samples_dir(SYSTEM)
SAMPLE = SAMPLES / "approved-po.json"
SUCCESS = orjson.loads((SAMPLES / "replies" / "success.json").read_bytes())
TOKEN = "test-token-not-a-secret"
MOCK_URL = "http://uniware.test/uniware"


@pytest.fixture(scope="module")
def simulators() -> Iterator[SimulatorServer]:
    """conftest's fixture, surviving a kit bug: see ``_app``."""
    from gateway.cli.simulate import build_simulators
    from gateway.settings.config import load_config

    sims = build_simulators(load_config(str(support.ROOT / "config.yaml"), support.systems()))
    with serve(_app(sims)) as url:
        yield SimulatorServer(url, sims)


def _app(sims: dict[str, Any]) -> Any:
    """``create_app``; if Litestar refuses it, again with ``status_code=200`` on each route.

    Litestar 2 defaults a route that allows DELETE to 204, and refuses a 204 handler that
    returns a body, so ``gateway/cli/simulate.py`` (``_received`` and the vendor catch-all
    both allow DELETE) cannot start. Every handler there returns a ``Response`` with its
    own status, so the default is never used; drop this once the kit sets it.
    """
    import litestar
    from litestar.exceptions import ImproperlyConfiguredException

    from gateway.cli import simulate

    try:
        return simulate.create_app(sims)
    except ImproperlyConfiguredException:
        pass

    def route(path: str, **kw: Any) -> Any:
        return litestar.route(path, **{"status_code": 200, **kw})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(simulate, "route", route)
        return simulate.create_app(sims)


# helpers ------------------------------------------------------------------------------
def render(source: str, path: Path) -> Rendered:
    """A document sample of any system, rendered for Uniware as the hub would."""
    event = support.parse_sample(source, path)[0]
    mapping = support.mappings()[SYSTEM]
    return registry.get(SYSTEM).render(event, RenderContext(mapping, support.state_for(event)))


def sample_body() -> dict[str, Any]:
    return copy.deepcopy(render(SYSTEM, SAMPLE).calls[0].json)


def plan_of(body: dict[str, Any]) -> Rendered:
    base = render(SYSTEM, SAMPLE)
    return Rendered(SYSTEM, [replace(base.calls[0], json=body)], base.mapping_version)


def fresh_plan(**changes: Any) -> Rendered:
    """The sample under a PO code of its own, so tests do not share simulator state."""
    return plan_of({**sample_body(), "code": f"T-{uuid.uuid4().hex[:10]}", **changes})


def key() -> str:
    return uuid.uuid4().hex


def simulator(sim: SimulatorServer) -> UniwareSimulator:
    found = sim.sims[SYSTEM]
    assert isinstance(found, UniwareSimulator)
    return found


async def set_faults(sim: SimulatorServer, faults: dict[str, Any]) -> None:
    """Through the contract's ``PUT /{system}/_faults``, as an operator would."""
    async with httpx.AsyncClient() as http:
        reply = await http.put(f"{sim.base_url(SYSTEM)}/_faults", json=faults)
    assert reply.status_code == 200, reply.text


async def raw_post(sim: SimulatorServer, content: bytes, content_type: str) -> httpx.Response:
    headers = {"Authorization": simulator(sim).secrets["token"], "Content-Type": content_type}
    async with httpx.AsyncClient(base_url=sim.base_url(SYSTEM)) as http:
        return await http.post("/approvedPurchaseOrder", content=content, headers=headers)


def envelope(exc: PermanentDelivery | RetryableDelivery) -> dict[str, Any]:
    assert exc.body is not None
    body: dict[str, Any] = orjson.loads(exc.body)
    assert set(body) == {"status", "message"} and body["status"] == "Failed"
    return body


# the document's samples are accepted ----------------------------------------------------
@pytest.mark.parametrize(
    ("source", "path"), support.all_samples(), ids=lambda v: getattr(v, "name", v)
)
async def test_every_sample_rendered_for_uniware_is_accepted(
    sim: SimulatorServer, source: str, path: Path
) -> None:
    """Or, where the sample cannot be sent (parks or goes dead), nothing is sent and the
    reason is the one its golden records."""
    outcome = support.render_outcome(SYSTEM, support.parse_sample(source, path))
    if "unsendable" in outcome:
        golden = support.golden_path(source, path, SYSTEM)
        assert outcome == orjson.loads(golden.read_bytes())
        return
    plan = render(source, path)
    async with client_for(sim, SYSTEM) as client:
        result = await client.send(plan, key())
    assert (result.status, result.body, result.remote_ids) == (200, SUCCESS, {})
    [record] = simulator(sim).received
    assert record["method"] == "POST" and record["path"] == "/approvedPurchaseOrder"
    assert record["json"] == plan.calls[0].json


async def test_own_sample_is_stored_as_sent(sim: SimulatorServer) -> None:
    async with client_for(sim, SYSTEM) as client:
        await client.send(render(SYSTEM, SAMPLE), key())
    assert simulator(sim).orders["PO0194"] == orjson.loads(SAMPLE.read_bytes())


# state and idempotency ----------------------------------------------------------------
async def test_second_push_of_a_code_is_an_update(sim: SimulatorServer) -> None:
    first = fresh_plan()
    body = copy.deepcopy(first.calls[0].json)
    body["purchaseOrderItems"][0]["quantity"] = 7
    async with client_for(sim, SYSTEM) as client:
        await client.send(first, key())
        again = await client.send(plan_of(body), key())
    code = body["code"]
    assert again.body == SUCCESS
    assert simulator(sim).pushes[code] == 2
    assert simulator(sim).orders[code]["purchaseOrderItems"][0]["quantity"] == 7


async def test_repeated_idempotency_key_gets_first_answer_and_no_second_effect(
    sim: SimulatorServer,
) -> None:
    """With the fault setting ``honour_keys`` on (see tests/adapters/test_sim_keys.py)."""
    await set_faults(sim, {"honour_keys": True})
    plan, same = fresh_plan(), key()
    async with client_for(sim, SYSTEM) as client:
        first = await client.send(plan, same)
        second = await client.send(plan, same)
    assert (first.status, first.body) == (second.status, second.body) == (200, SUCCESS)
    state = simulator(sim)
    code = plan.calls[0].json["code"]
    assert (state.duplicates, len(state.received), state.pushes[code]) == (1, 1, 1)


# every error reply, provoked ----------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [None, "wrong-token", "Bearer {token}", "{token}x"],
    ids=["missing", "wrong", "bearer-scheme", "longer"],
)
async def test_bad_token_is_auth_failure(sim: SimulatorServer, header: str | None) -> None:
    token = simulator(sim).secrets["token"]
    headers = {} if header is None else {"Authorization": header.format(token=token)}
    client = UniwareClient(sim.base_url(SYSTEM), Credentials(headers))
    async with client:
        with pytest.raises(AuthFailure) as caught:
            await client.send(fresh_plan(), key())
    assert caught.value.status == 401
    assert envelope(caught.value)["message"].startswith("Authorization: ")
    assert token not in str(caught.value) and token not in (caught.value.body or "")
    assert simulator(sim).received == []


def _drop(name: str) -> Any:
    return lambda body: body.pop(name)


def _set(path: tuple[str | int, ...], value: Any) -> Any:
    def change(body: Any) -> None:
        for part in path[:-1]:
            body = body[part]
        body[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "path", "rule"),
    [
        (_drop("code"), "$.code", "missing"),
        (_set(("code",), ""), "$.code", "string_too_short"),
        (_set(("vendorCode",), 12), "$.vendorCode", "string_type"),
        (_set(("created",), "2024-03-12T16:16:42"), "$.created", "date_format"),
        (_set(("purchaseOrderItems",), []), "$.purchaseOrderItems", "too_short"),
        (_set(("purchaseOrderItems", 0, "quantity"), "six"), "$.purchaseOrderItems[0].quantity",
         "value_error"),
        (_drop("amendedPurchaseOrderCode"), "$.amendedPurchaseOrderCode", "missing"),
    ],
    ids=["no-code", "blank-code", "number-vendor", "iso-date", "no-items", "bad-qty",
         "no-amended"],
)  # fmt: skip
async def test_invalid_body_is_permanent_and_names_the_field(
    sim: SimulatorServer, change: Any, path: str, rule: str
) -> None:
    body = sample_body()
    change(body)
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(PermanentDelivery) as caught:
            await client.send(plan_of(body), key())
    assert not isinstance(caught.value, AuthFailure) and caught.value.status == 400
    message = envelope(caught.value)["message"]
    assert message.startswith(f"{path}: ") and message.endswith(f"({rule})"), message
    assert simulator(sim).received == []


async def test_body_that_is_not_json_is_refused(sim: SimulatorServer) -> None:
    reply = await raw_post(sim, b"{not json", "application/json")
    assert reply.status_code == 400
    assert reply.json()["status"] == "Failed" and reply.json()["message"].startswith("$: ")
    assert "json_invalid" in reply.json()["message"]


async def test_body_not_declared_json_is_415(sim: SimulatorServer) -> None:
    reply = await raw_post(sim, SAMPLE.read_bytes(), "text/plain")
    assert reply.status_code == 415 and reply.json()["status"] == "Failed"


async def test_unknown_path_and_method_keep_the_envelope(sim: SimulatorServer) -> None:
    async with client_for(sim, SYSTEM) as client:
        plan = Rendered(SYSTEM, [Call("GET", "/approvedPurchaseOrder")], "test")
        with pytest.raises(PermanentDelivery) as caught:
            await client.send(plan, key())
    assert caught.value.status == 404 and envelope(caught.value)["message"].startswith("no route")


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_injected_server_error_is_retryable(sim: SimulatorServer, status: int) -> None:
    await set_faults(sim, {"fail_rate": 1, "status": status})
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(RetryableDelivery) as caught:
            await client.send(fresh_plan(), key())
    assert caught.value.status == status and envelope(caught.value)["message"] == "injected fault"
    assert simulator(sim).received == []


async def test_timeout_is_retryable_and_the_retry_is_not_a_second_push(
    sim: SimulatorServer,
) -> None:
    """The slow push still lands; the retry with the same key gets its answer, once."""
    await set_faults(sim, {"delay_ms": 300, "honour_keys": True})
    plan, same = fresh_plan(), key()
    async with client_for(sim, SYSTEM, timeout_s=0.05) as client:
        with pytest.raises(RetryableDelivery, match="timeout"):
            await client.send(plan, same)
    for _ in range(100):  # wait for the slow request to finish on the server
        if simulator(sim).received:
            break
        await asyncio.sleep(0.01)
    await set_faults(sim, {"honour_keys": True})
    async with client_for(sim, SYSTEM) as client:
        retried = await client.send(plan, same)
    assert retried.body == SUCCESS
    assert (simulator(sim).pushes[plan.calls[0].json["code"]], simulator(sim).duplicates) == (1, 1)


async def test_faults_follow_the_seed(sim: SimulatorServer) -> None:
    """Same seed, same sequence of failures: the one ``random.Random(seed)`` would give."""
    faults = {"fail_rate": 0.5, "status": 503, "seed": 7}
    rng = random.Random(7)
    expected = [rng.random() < 0.5 for _ in range(12)]
    runs = []
    for _ in range(2):
        await set_faults(sim, faults)
        runs.append(await _outcomes(sim, 12))
    assert runs[0] == runs[1] == expected


async def _outcomes(sim: SimulatorServer, count: int) -> list[bool]:
    """True where the push failed with the injected 503."""
    out = []
    async with client_for(sim, SYSTEM) as client:
        for _ in range(count):
            try:
                await client.send(fresh_plan(), key())
                out.append(False)
            except RetryableDelivery as exc:
                assert exc.status == 503
                out.append(True)
    return out


async def test_secrets_stay_out_of_logs_and_received(
    sim: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = simulator(sim).secrets["token"]
    caplog.set_level(logging.DEBUG)
    async with client_for(sim, SYSTEM) as client:
        await client.send(fresh_plan(), key())
        assert token not in repr(client._credentials)
    async with httpx.AsyncClient() as http:
        shown = (await http.get(f"{sim.base_url(SYSTEM)}/_received")).text
    assert "idempotency-key" in shown and "authorization" not in shown.lower()
    assert token not in shown and token not in caplog.text


# classification offline (httpx.MockTransport) -----------------------------------------
def mock_client(handler: Any) -> UniwareClient:
    transport = httpx.MockTransport(handler)
    return UniwareClient(MOCK_URL, Credentials.token(TOKEN), transport=transport)


def replying(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    content = b"" if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers)

    return handler


async def send_mock(handler: Any) -> Delivered:
    async with mock_client(handler) as client:
        return await client.send(fresh_plan(), "k")


async def test_request_carries_bare_token_key_and_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SUCCESS)

    await send_mock(handler)
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/uniware/approvedPurchaseOrder")
    assert request.headers["authorization"] == TOKEN
    assert request.headers["idempotency-key"] == "k:send"
    assert request.headers["content-type"] == "application/json"
    assert orjson.loads(request.content)["purchaseOrderItems"][0]["itemSKU"] == "Shirt27"


@pytest.mark.parametrize("reply", sorted((SAMPLES / "replies").glob("*.json")), ids=str)
async def test_documented_replies_are_delivered(reply: Path) -> None:
    body = orjson.loads(reply.read_bytes())
    result = await send_mock(replying(200, body))
    assert (result.status, result.body, result.steps) == (200, body, 1)


@pytest.mark.parametrize("status", [200, 201])
async def test_2xx_failed_envelope_is_permanent_naming_the_message(status: int) -> None:
    failed = Reply.failed("$.vendorCode: unknown vendor").model_dump()
    with pytest.raises(PermanentDelivery, match=r"refused: \$\.vendorCode: unknown vendor") as c:
        await send_mock(replying(status, failed))
    assert not isinstance(c.value, AuthFailure) and c.value.status == status


async def test_400_failed_envelope_is_permanent() -> None:
    failed = Reply.failed("$.code: Field required (missing)").model_dump()
    with pytest.raises(PermanentDelivery, match=r"400.*\$\.code") as caught:
        await send_mock(replying(400, failed))
    assert not isinstance(caught.value, AuthFailure)


@pytest.mark.parametrize("status", [401, 403])
async def test_401_403_are_auth_failures(status: int) -> None:
    failed = Reply.failed("Authorization: invalid or missing access token").model_dump()
    with pytest.raises(AuthFailure) as caught:
        await send_mock(replying(status, failed))
    assert caught.value.status == status


@pytest.mark.parametrize(
    "body", [None, b"<html>ok</html>", {"message": "no status"}, {"status": "Pending"}, [1]],
    ids=["empty", "html", "no-status", "unknown-status", "array"],
)  # fmt: skip
async def test_2xx_without_a_readable_envelope_is_retryable(body: Any) -> None:
    """Nothing says the push was taken; it is an upsert by code, so sending again is safe."""
    with pytest.raises(RetryableDelivery):
        await send_mock(replying(200, body))


async def test_timeout_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(RetryableDelivery, match="timeout"):
        await send_mock(handler)


async def test_connection_error_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(RetryableDelivery, match="connection error"):
        await send_mock(handler)
