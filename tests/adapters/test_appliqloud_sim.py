"""AppliQloud's simulator and client: the document's replies, provoked over real HTTP on
loopback and classified into the error tree; plus the client's classification of every
documented reply (and the kit's transport failures) without a network."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from adapters import registry
from adapters._http import Credentials, Delivered
from adapters._sim import Faults
from adapters.appliqloud.client import AppliqloudClient
from adapters.appliqloud.schema import PATH, SYSTEM
from adapters.appliqloud.simulator import AppliqloudSimulator
from core.adapter import Call, RenderContext, Rendered
from core.errors import (
    AuthFailure,
    CannotExpress,
    DeliveryError,
    MappingMissing,
    PermanentDelivery,
    RetryableDelivery,
)
from core.mapping.tables import Mapping
from tests.servers import SimulatorServer, client_for
from tests.support import all_samples, mappings, parse_sample, sample_paths, state_for

pytestmark = pytest.mark.anyio

SAMPLES = registry.samples_dir(SYSTEM)
REPLIES = SAMPLES / "replies"
SAMPLE_PO = "450000001"
"""The document's cURL example PO, which the simulated backend knows from the start."""


@pytest.fixture(scope="module")
def simulators() -> Iterator[SimulatorServer]:
    """conftest's ``simulators``, built through ``create_app_200`` (see there)."""
    from gateway.cli.simulate import build_simulators
    from gateway.settings.config import load_config
    from tests.servers import serve
    from tests.support import ROOT

    config = load_config(str(ROOT / "config.yaml"), registry.system_ids())
    sims = build_simulators(config)
    with serve(create_app_200(sims)) as url:
        yield SimulatorServer(url, sims)


def create_app_200(sims: dict[str, Any]) -> Any:
    """``gateway.cli.simulate.create_app``; if Litestar refuses it (its ``GET/DELETE _received``
    route defaults to status 204, which forbids a body), the same app with each route's
    status pinned to 200. Workaround until the kit sets ``status_code=200`` itself."""
    from unittest import mock

    from litestar import route
    from litestar.exceptions import ImproperlyConfiguredException

    from gateway.cli import simulate

    try:
        return simulate.create_app(sims)
    except ImproperlyConfiguredException:
        pass

    def route_200(*args: Any, **kwargs: Any) -> Any:
        return route(*args, **{"status_code": 200, **kwargs})

    with mock.patch.object(simulate, "route", route_200):
        return simulate.create_app(sims)


@pytest.fixture
def appliq(sim: SimulatorServer) -> Iterator[AppliqloudSimulator]:
    """The session's AppliQloud simulator, its backend restored after each test."""
    simulator = sim.sims[SYSTEM]
    assert isinstance(simulator, AppliqloudSimulator)
    simulator.reset()
    yield simulator
    simulator.reset()
    simulator.faults = Faults()


def key() -> str:
    """A fresh idempotency key: the session's simulator remembers keys across tests."""
    return uuid.uuid4().hex


def plan_of(body: Any) -> Rendered:
    return Rendered(SYSTEM, [Call("PUT", PATH, body)], "test")


def sample_plan(path: Path = SAMPLES / "update.json") -> Rendered:
    """A document sample as the hub would send it: parsed, then rendered for AppliQloud."""
    (event,) = parse_sample(SYSTEM, path)
    return registry.get(SYSTEM).render(event, RenderContext(mappings()[SYSTEM]))


def sample_body(po_id: str = SAMPLE_PO) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads((SAMPLES / "update.json").read_bytes())
    body["inputs"][0]["header"]["purchaseOrderId"] = po_id
    return body


def password(server: SimulatorServer) -> str:
    return server.sims[SYSTEM].secrets["password"]


# the document's samples, accepted ------------------------------------------------------------
@pytest.mark.parametrize("path", sample_paths(SYSTEM), ids=lambda p: p.name)
async def test_document_sample_is_accepted(
    sim: SimulatorServer, appliq: AppliqloudSimulator, path: Path
) -> None:
    async with client_for(sim, SYSTEM) as client:
        done = await client.send(sample_plan(path), key())
    assert done.status == 200
    assert done.body["errors"] == []
    (po,) = done.body["success"]
    assert po["header"]["purchaseOrderStatus"] == "OPEN"
    assert po["header"]["netTotalPrice"] == 6000.0  # the 200 example's totals
    assert po["items"][0]["netTotalPrice"] == 6000.0
    assert done.remote_ids == {SYSTEM: SAMPLE_PO}
    assert len(appliq.received) == 1


def routed_samples() -> list[tuple[str, Path]]:
    """Samples of the systems config.yaml routes to AppliQloud (and its own)."""
    from gateway.settings.config import load_config
    from tests.support import ROOT

    config = load_config(str(ROOT / "config.yaml"), registry.system_ids())
    sources = {r.from_ for r in config.routes if SYSTEM in r.to} | {SYSTEM}
    return [(s, p) for s, p in all_samples() if s in sources]


def rendered(source: str, path: Path) -> Rendered:
    (event,) = parse_sample(source, path)
    ctx = RenderContext(mappings()[SYSTEM], state_for(event))
    return registry.get(SYSTEM).render(event, ctx)


@pytest.mark.parametrize(
    ("source", "path"), routed_samples(), ids=lambda v: v if isinstance(v, str) else v.name
)
async def test_routed_samples_rendered_for_appliqloud_are_accepted(
    sim: SimulatorServer, appliq: AppliqloudSimulator, source: str, path: Path
) -> None:
    """What the hub renders from a routed dialect passes the simulator's schema, rules and
    external mappings; an unknown PO is created (``create_unknown``, the default) so routing
    works end to end. A PO that carries no currency (Uniware's, unless Uniware's mapping
    declares the currency it trades in) parks on ``defaults.currencyId`` instead: no
    currency is invented."""
    (event,) = parse_sample(source, path)
    po = event.po or state_for(event)
    if po is not None and po.currency is None:
        with pytest.raises(MappingMissing) as missing:
            rendered(source, path)
        assert (missing.value.table, missing.value.key) == ("defaults", "currencyId")
        return
    plan = rendered(source, path)
    async with client_for(sim, SYSTEM) as client:
        done = await client.send(plan, key())
    assert done.status == 200
    assert plan.calls[0].json["inputs"][0]["header"]["purchaseOrderId"] in appliq.purchase_orders


def test_fractional_quantity_is_not_rendered() -> None:
    """AlphaAlpha's sample orders 0.1 of a product; AppliQloud's quantity is an int. Its PO
    names no type, so it parks on that first; once an admin writes the type, the 0.1 is
    refused (dead), never written."""
    path = registry.samples_dir("alphaalpha") / "purchase-order.json"
    (event,) = parse_sample("alphaalpha", path)
    shipped = mappings()[SYSTEM]
    with pytest.raises(MappingMissing) as missing:
        registry.get(SYSTEM).render(event, RenderContext(shipped))
    assert (missing.value.table, missing.value.key) == ("defaults", "purchaseOrderType")
    data = shipped.file.model_dump()
    data["defaults"]["purchaseOrderType"] = "LOCAL"
    typed = Mapping.from_dict(data, spec=registry.get(SYSTEM).spec)
    with pytest.raises(CannotExpress) as refused:
        registry.get(SYSTEM).render(event, RenderContext(typed))
    assert refused.value.path == "$.inputs[0].items[0].quantity"


async def test_fractional_quantity_sent_anyway_is_refused(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    body = sample_body()
    body["inputs"][0]["items"][0]["quantity"] = 25.5
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(PermanentDelivery) as caught:
            await client.send(plan_of(body), key())
    assert caught.value.status == 400
    assert "$.inputs[0].items[0].quantity" in caught.value.message
    assert "(int_type)" in caught.value.message
    assert appliq.purchase_orders[SAMPLE_PO]["items"][0]["quantity"] == 1


# the backend's external mappings -------------------------------------------------------------
def item_change(**changes: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda body: body["inputs"][0]["items"][0].update(changes)


def header_change(**changes: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda body: body["inputs"][0]["header"].update(changes)


UNMAPPED: dict[str, tuple[Callable[[dict[str, Any]], Any], str, str]] = {
    "entity": (
        header_change(accountingEntityId="AE-INVENTED"),
        "ExternalMappingNotFoundException",
        "accounting entity AE-INVENTED",
    ),
    "partner": (
        header_change(vendorBusinessPartnerId="0000"),
        "ExternalMappingNotFoundException",
        "business partner 0000",
    ),
    "product": (
        item_change(productId="999"),
        "ExternalMappingNotFoundException",
        "product 999 (item 10)",
    ),
    "location": (
        item_change(locationId="EXAMPLE-LOC"),
        "ExternalMappingNotFoundException",
        "location EXAMPLE-LOC (item 10)",
    ),
    "group": (
        item_change(productGroupId="2"),
        "ProductNotInGroupException",
        "product 101 is not part of product group 2 (item 10)",
    ),
}
"""Ids the backend has no external mapping for, and what its per-PO error says."""


@pytest.mark.parametrize("case", UNMAPPED, ids=str)
async def test_id_without_external_mapping_fails_that_po(
    sim: SimulatorServer, appliq: AppliqloudSimulator, case: str
) -> None:
    """The document: ids "must correspond to the external mapping" of AppliQloud's master
    data, and the product must be part of the group. An invented id is refused end to end."""
    change, cause, words = UNMAPPED[case]
    body = sample_body()
    change(body)
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(PermanentDelivery) as caught:
            await client.send(plan_of(body), key())
    assert caught.value.status == 201
    assert f"PO {SAMPLE_PO} {cause}" in caught.value.message and words in caught.value.message
    assert appliq.purchase_orders[SAMPLE_PO]["header"]["accountingEntityId"] == "AE1"


async def test_ids_the_backend_learns_are_accepted(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    appliq.master.entities.add("AE7")
    appliq.master.products["102"] = "1"
    body = sample_body()
    header_change(accountingEntityId="AE7")(body)
    item_change(productId="102")(body)
    async with client_for(sim, SYSTEM) as client:
        done = await client.send(plan_of(body), key())
    assert done.status == 200


async def test_update_keeps_state(sim: SimulatorServer, appliq: AppliqloudSimulator) -> None:
    body = sample_body()
    body["inputs"][0]["items"][0]["quantity"] = 3
    async with client_for(sim, SYSTEM) as client:
        await client.send(plan_of(body), key())
    stored = appliq.purchase_orders[SAMPLE_PO]
    assert stored["items"][0]["quantity"] == 3
    assert stored["header"]["netTotalPrice"] == 18000.0


# the document's error replies, provoked ------------------------------------------------------
async def test_unknown_po_is_201_and_permanent(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    appliq.create_unknown = False
    appliq.forget(SAMPLE_PO)
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(PermanentDelivery) as caught:
            await client.send(sample_plan(), key())
    exc = caught.value
    assert not isinstance(exc, AuthFailure)
    assert exc.status == 201
    assert "PurchaseOrderNotFoundException" in exc.message
    assert f"Purchase order {SAMPLE_PO} not found in backend SAP_APQ" in exc.message
    assert SAMPLE_PO not in appliq.purchase_orders
    assert appliq.received and appliq.received[0]["json"] == sample_plan().calls[0].json


async def test_bulk_with_one_unknown_po_applies_the_other(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    appliq.create_unknown = False
    body = sample_body()
    body["inputs"].append(sample_body("4500002")["inputs"][0])
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(PermanentDelivery) as caught:
            await client.send(plan_of(body), key())
    reply = orjson.loads(caught.value.body or "")
    assert [po["header"]["purchaseOrderId"] for po in reply["success"]] == [SAMPLE_PO]
    assert [e["context"]["purchaseOrderId"] for e in reply["errors"]] == ["4500002"]
    assert "PO 4500002 PurchaseOrderNotFoundException" in caught.value.message
    assert "4500002" not in appliq.purchase_orders


INVALID: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "int_type": (item_change(quantity="1"), "items[0].quantity: Input should be a valid int"),
    "missing": (lambda b: b["inputs"][0]["header"].pop("currencyId"), "header.currencyId"),
    "inventory_requires_goods": (
        item_change(itemType="SERVICE", ascriptionType="INVENTORY"),
        "items[0].ascriptionType: INVENTORY is only allowed with itemType GOODS",
    ),
    "date_format": (item_change(requiredDeliveryDate="22/07/2024"), "(date_format)"),
    "too_short": (lambda b: b.update(inputs=[]), "$.inputs: "),
}
"""Broken bodies and what the 400 message must name (the first broken field, its rule)."""


@pytest.mark.parametrize("case", INVALID)
async def test_invalid_body_is_400_naming_the_field(
    sim: SimulatorServer,
    appliq: AppliqloudSimulator,
    case: str,
) -> None:
    change, named = INVALID[case]
    body = sample_body()
    change(body)
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(PermanentDelivery) as caught:
            await client.send(plan_of(body), key())
    assert caught.value.status == 400
    assert "400 ValidationException: $.inputs" in caught.value.message
    assert named in caught.value.message
    assert f"({case})" in caught.value.message
    assert appliq.received == []


async def test_not_json_is_400(sim: SimulatorServer, appliq: AppliqloudSimulator) -> None:
    url = sim.base_url(SYSTEM) + PATH
    auth = httpx.BasicAuth(appliq.secrets["username"], password(sim))
    async with httpx.AsyncClient() as http:
        response = await http.put(url, content=b"{not json", auth=auth)
    assert response.status_code == 400
    assert response.json()["cause"] == "ValidationException"
    assert response.json()["message"].startswith("$: ")


@pytest.mark.parametrize("credentials", ["wrong", "none", "bearer"])
async def test_bad_auth_is_401(
    sim: SimulatorServer, appliq: AppliqloudSimulator, credentials: str
) -> None:
    creds = {
        "wrong": Credentials.basic(appliq.secrets["username"], "not-the-password"),
        "none": Credentials(),
        "bearer": Credentials.token(password(sim), scheme="Bearer"),
    }[credentials]
    async with AppliqloudClient(sim.base_url(SYSTEM), creds) as client:
        with pytest.raises(AuthFailure) as caught:
            await client.send(sample_plan(), key())
    assert caught.value.status == 401
    assert "UnauthorizedException: Authorization required" in caught.value.message
    assert "not-the-password" not in repr(caught.value)
    assert password(sim) not in repr(caught.value)
    assert appliq.received == []


async def test_unknown_route_is_the_envelope(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(sim.base_url(SYSTEM) + PATH)
    assert response.status_code == 404
    assert set(response.json()) == {"traceId", "cause", "message"}


# faults, timeouts, idempotency ---------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 503])
async def test_injected_server_error_is_retryable(
    sim: SimulatorServer, appliq: AppliqloudSimulator, status: int
) -> None:
    appliq.faults = Faults.parse({"fail_rate": 1, "status": status})
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(RetryableDelivery) as caught:
            await client.send(sample_plan(), key())
    assert caught.value.status == status
    assert "injected fault (traceId" in caught.value.message
    assert appliq.received == []


async def test_injected_429_carries_retry_after(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    appliq.faults = Faults.parse({"fail_rate": 1, "status": 429, "retry_after": 7})
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(RetryableDelivery) as caught:
            await client.send(sample_plan(), key())
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0
    assert "TooManyRequestsException" in caught.value.message


async def test_delay_past_timeout_is_retryable_and_may_still_apply(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    """The update runs after the client gave up: why a retry carries the same key."""
    appliq.faults = Faults.parse({"delay_ms": 300})
    async with client_for(sim, SYSTEM, timeout_s=0.1) as client:
        with pytest.raises(RetryableDelivery, match="timeout"):
            await client.send(sample_plan(), key())
    for _ in range(100):  # let the late update land before the next test clears the log
        if appliq.received:
            break
        await asyncio.sleep(0.01)
    assert len(appliq.received) == 1


async def test_faults_are_deterministic_under_a_seed(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    async def outcomes() -> list[int | None]:
        faults = {"fail_rate": 0.5, "status": 500, "seed": 11}
        async with httpx.AsyncClient() as http:
            put = await http.put(f"{sim.base_url(SYSTEM)}/_faults", json=faults)
        assert put.status_code == 200
        found: list[int | None] = []
        async with client_for(sim, SYSTEM) as client:
            for _ in range(12):
                try:
                    found.append((await client.send(sample_plan(), key())).status)
                except RetryableDelivery as exc:
                    found.append(exc.status)
        return found

    first, second = await outcomes(), await outcomes()
    assert first == second
    assert {200, 500} == set(first)


async def test_repeated_key_gets_the_first_answer_and_no_second_effect(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    """With the fault setting ``honour_keys`` on (no vendor defines the header: by default
    the simulator acts on every request, see tests/adapters/test_sim_keys.py)."""
    appliq.faults = Faults.parse({"honour_keys": True})
    same = key()
    async with client_for(sim, SYSTEM) as client:
        first = await client.send(sample_plan(), same)
        appliq.create_unknown = False
        appliq.forget(SAMPLE_PO)  # a second effect would now be a 201 not-found
        again = await client.send(sample_plan(), same)
    assert again.status == first.status == 200
    assert again.body == first.body
    assert appliq.duplicates == 1
    assert len(appliq.received) == 1
    assert SAMPLE_PO not in appliq.purchase_orders


# secrets ---------------------------------------------------------------------------------
async def test_password_never_recorded_nor_in_messages(
    sim: SimulatorServer, appliq: AppliqloudSimulator
) -> None:
    secret = password(sim)
    token = base64.b64encode(f"{appliq.secrets['username']}:{secret}".encode()).decode()
    messages: list[str] = []
    async with client_for(sim, SYSTEM) as client:
        await client.send(sample_plan(), key())
        appliq.create_unknown = False
        for fault in ({}, {"fail_rate": 1, "status": 500}, {"fail_rate": 1, "status": 429}):
            appliq.forget(SAMPLE_PO)
            appliq.faults = Faults.parse(fault)
            with pytest.raises(DeliveryError) as caught:
                await client.send(sample_plan(), key())
            messages += [str(caught.value), caught.value.body or "", repr(caught.value)]
    async with httpx.AsyncClient() as http:
        log = (await http.get(f"{sim.base_url(SYSTEM)}/_received")).text
    assert appliq.received
    for text in [log, orjson.dumps(appliq.received).decode(), *messages]:
        assert secret not in text
        assert token not in text
    assert "authorization" not in appliq.received[0]["headers"]


# the client's classification, no network ----------------------------------------------------
def reply_of(name: str) -> bytes:
    return (REPLIES / name).read_bytes()


def mock_client(
    status: int = 200,
    content: bytes = b"",
    headers: dict[str, str] | None = None,
    raises: Exception | None = None,
) -> tuple[AppliqloudClient, list[httpx.Request]]:
    """A client whose transport answers once as told, recording what it was sent."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if raises is not None:
            raise raises
        return httpx.Response(status, content=content, headers=headers)

    creds = Credentials.basic("pohub", "s3cret-pw")
    client = AppliqloudClient("http://appliqloud.test", creds, httpx.MockTransport(answer))
    return client, seen


async def classify(client: AppliqloudClient, body: Any = None) -> Delivered:
    async with client:
        return await client.send(plan_of(body or sample_body()), "k")


async def raised(client: AppliqloudClient, body: Any = None) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await classify(client, body)
    assert "s3cret-pw" not in str(caught.value)
    return caught.value


async def test_200_sample_is_delivered() -> None:
    client, seen = mock_client(200, reply_of("200-success.json"))
    done = await classify(client)
    assert done.status == 200
    assert done.remote_ids == {SYSTEM: SAMPLE_PO}
    assert seen[0].method == "PUT"
    assert seen[0].url.path == PATH
    assert seen[0].headers["Authorization"].startswith("Basic ")
    assert seen[0].headers["Idempotency-Key"] == "k:send"


async def test_201_sample_for_the_po_sent_is_permanent() -> None:
    client, _ = mock_client(201, reply_of("201-errors.json"))
    exc = await raised(client, sample_body("4500002"))
    assert type(exc) is PermanentDelivery
    assert exc.status == 201
    assert "PO 4500002 PurchaseOrderNotFoundException" in exc.message
    assert "Purchase order 4500002 not found in backend SAP_APQ" in exc.message
    assert "traceId 3095a0a77f80436ba104eb2fc24ba343" in exc.message


async def test_201_errors_for_other_pos_only_still_need_ours_confirmed() -> None:
    """The 201 sample names PO 4500002 and confirms nothing: PO 450000001 was not applied."""
    client, _ = mock_client(201, reply_of("201-errors.json"))
    exc = await raised(client, sample_body(SAMPLE_PO))
    assert type(exc) is PermanentDelivery
    assert f"confirms no update of PO ['{SAMPLE_PO}']" in exc.message


async def test_201_with_errors_about_other_pos_and_ours_confirmed_is_delivered() -> None:
    reply = orjson.loads(reply_of("201-errors.json"))
    reply["success"] = orjson.loads(reply_of("200-success.json"))["success"]
    client, _ = mock_client(201, orjson.dumps(reply))
    done = await classify(client)
    assert done.status == 201


async def test_error_without_context_is_about_our_call() -> None:
    reply = {"success": [], "errors": [{"traceId": "t", "cause": "X", "message": "bad"}]}
    client, _ = mock_client(201, orjson.dumps(reply))
    exc = await raised(client)
    assert "X: bad (traceId t)" in exc.message


async def test_2xx_that_is_not_the_envelope_is_unconfirmed() -> None:
    """It may have taken effect: retried like a lost reply (no status), never dead."""
    client, _ = mock_client(200, b'{"ok": true}')
    exc = await raised(client)
    assert type(exc) is RetryableDelivery and exc.status is None
    assert "not {success, errors}; delivery unconfirmed" in exc.message


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_refusals(status: int) -> None:
    client, _ = mock_client(status, reply_of("401-unauthorized.json"))
    exc = await raised(client)
    assert isinstance(exc, AuthFailure)
    assert exc.status == status
    assert "UnauthorizedException: Authorization required" in exc.message


async def test_400_validation_is_permanent() -> None:
    """The document has no 400 example: this is the simulator's envelope for a bad body."""
    message = "$.inputs[0].items[0].quantity: Input should be a valid integer (int_type)"
    body = {"traceId": "t", "cause": "ValidationException", "message": message}
    client, _ = mock_client(400, orjson.dumps(body))
    exc = await raised(client)
    assert type(exc) is PermanentDelivery
    assert "$.inputs[0].items[0].quantity" in exc.message


async def test_500_sample_is_retryable() -> None:
    client, _ = mock_client(500, reply_of("500-internal-error.json"))
    exc = await raised(client)
    assert isinstance(exc, RetryableDelivery)
    assert "500 InternalServerError: Internal server error" in exc.message


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
async def test_429_honours_retry_after(value: str, seconds: float) -> None:
    client, _ = mock_client(429, b"", {"Retry-After": value})
    exc = await raised(client)
    assert isinstance(exc, RetryableDelivery)
    assert exc.retry_after == seconds
