"""Leo's simulator and client: real HTTP on loopback, and the client's reading of every reply.

The simulator half sends rendered plans through ``LeoClient`` to ``LeoSimulator`` served
by the ``sim`` fixture; the unit half feeds the client canned replies through
``httpx.MockTransport`` (no network).
"""

from __future__ import annotations

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
from adapters.leo.client import LeoClient
from adapters.leo.replies import read_reply
from adapters.leo.schema import PATH
from adapters.leo.simulator import LeoSimulator
from core.adapter import Call, RenderContext, Rendered
from core.errors import AuthFailure, PermanentDelivery, RetryableDelivery
from tests.servers import SimulatorServer, client_for
from tests.support import mappings, parse_sample, sample_paths, state_for

pytestmark = pytest.mark.anyio

SYSTEM = "leo"
REPLIES = registry.samples_dir(SYSTEM) / "replies"
HEADERS = {"event": "POStatusUpdate", "subtypeAppId": "pohub"}
TOKEN = "unit-test-token"


@pytest.fixture(scope="module")
def simulators() -> Iterator[SimulatorServer]:
    """conftest's ``simulators``, working around a kit bug: Litestar gives a route that
    answers GET and DELETE a default 204, so ``create_app`` refuses its ``_received``
    route. Until ``gateway/cli/simulate.py`` passes ``status_code=200``, default it here."""
    import litestar
    from litestar.exceptions import ImproperlyConfiguredException

    from gateway.cli import simulate
    from gateway.settings.config import load_config
    from tests.servers import serve
    from tests.support import ROOT

    config = load_config(str(ROOT / "config.yaml"), registry.system_ids())
    sims = simulate.build_simulators(config)
    try:
        app = simulate.create_app(sims)
    except ImproperlyConfiguredException:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(simulate, "route", _route_with_200(litestar.route))
            app = simulate.create_app(sims)
    with serve(app) as url:
        yield SimulatorServer(url, sims)


def _route_with_200(route: Any) -> Any:
    def patched(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("status_code", 200)
        return route(*args, **kwargs)

    return patched


def _key() -> str:
    """A fresh Idempotency-Key: the ``sim`` fixture does not forget earlier tests' keys."""
    return f"test-{uuid.uuid4()}"


def _plan_of(system: str, sample: Path) -> Rendered:
    """A sample of ``system`` rendered for Leo, as the gateway would plan it."""
    [event] = parse_sample(system, sample)
    ctx = RenderContext(mappings()[SYSTEM], state_for(event))
    return registry.get(SYSTEM).render(event, ctx)


def _plan(body: Any, headers: dict[str, str] | None = None) -> Rendered:
    """A hand-made one-call plan, for bodies and headers the renderer would never write."""
    call = Call("POST", PATH, body, HEADERS if headers is None else headers)
    return Rendered(SYSTEM, [call], "test")


def _body(document: str = "PO-1", status: Any = "APPROVED", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"documentNumber": document, "status": status, "lineInfo": []}
    body.update(changes)
    return body


def _leo(server: SimulatorServer) -> LeoSimulator:
    sim = server.sims[SYSTEM]
    assert isinstance(sim, LeoSimulator)
    return sim


def _auth(server: SimulatorServer, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_leo(server).secrets['token']}", **headers}


async def _send(server: SimulatorServer, plan: Rendered, key: str | None = None) -> Delivered:
    async with client_for(server, SYSTEM) as client:
        result: Delivered = await client.send(plan, key or _key())
        return result


# --- the simulator over loopback -------------------------------------------------------


@pytest.mark.parametrize("sample", sample_paths(SYSTEM), ids=lambda p: p.name)
async def test_document_sample_is_accepted(sim: SimulatorServer, sample: Path) -> None:
    plan = _plan_of(SYSTEM, sample)
    result = await _send(sim, plan)
    assert result.status == 200
    reply = read_reply(orjson.dumps(result.body))
    assert not reply.failed and reply.hasData
    assert reply.data == {"documentNumber": "string", "accepted": True}
    assert _leo(sim).statuses["string"] == "string"


async def test_other_systems_event_is_accepted(sim: SimulatorServer) -> None:
    """A full PO from Uniware, planned for Leo with the mapping's default headers."""
    sample = registry.samples_dir("uniware") / "approved-po.json"
    plan = _plan_of("uniware", sample)
    result = await _send(sim, plan)
    document = plan.calls[0].json["documentNumber"]
    assert result.status == 200
    assert _leo(sim).statuses[document] == plan.calls[0].json["status"]


async def test_state_keeps_last_status(sim: SimulatorServer) -> None:
    await _send(sim, _plan(_body("PO-STATE", "APPROVED")))
    await _send(sim, _plan(_body("PO-STATE", "CLOSED")))
    assert _leo(sim).statuses["PO-STATE"] == "CLOSED"


async def test_an_update_without_document_status_changes_only_its_lines(
    sim: SimulatorServer,
) -> None:
    """The document marks no field required: lines only is a valid update."""
    line = {"lineNumber": "10", "status": "CANCELLED"}
    sched = {"lineNumber": "20", "scheduleInfo": [{"scheduleNumber": "2", "status": "RECEIVED"}]}
    await _send(sim, _plan(_body("PO-LINES", "APPROVED")))
    lines_only = {"documentNumber": "PO-LINES", "lineInfo": [line, sched]}
    result = await _send(sim, _plan(lines_only))
    assert result.status == 200
    assert _leo(sim).statuses["PO-LINES"] == "APPROVED"
    assert _leo(sim).line_statuses["PO-LINES"] == {"10": "CANCELLED", "20/2": "RECEIVED"}


async def test_first_update_of_a_document_is_accepted(sim: SimulatorServer) -> None:
    """The document defines no 'unknown document' error: an update is how Leo hears of it."""
    document = f"PO-NEW-{uuid.uuid4().hex[:8]}"
    result = await _send(sim, _plan(_body(document)))
    assert result.status == 200 and _leo(sim).statuses[document] == "APPROVED"


async def test_repeated_key_gets_first_answer_and_no_second_effect(sim: SimulatorServer) -> None:
    """With the fault setting ``honour_keys`` on (see tests/adapters/test_sim_keys.py)."""
    _leo(sim).faults = Faults.parse({"honour_keys": True})
    key = _key()
    first = await _send(sim, _plan(_body("PO-IDEM", "APPROVED")), key)
    again = await _send(sim, _plan(_body("PO-IDEM", "CANCELLED")), key)
    leo = _leo(sim)
    assert again.body == first.body
    assert leo.statuses["PO-IDEM"] == "APPROVED"
    assert leo.duplicates == 1 and len(leo.received) == 1


async def test_wrong_token_is_auth_failure(sim: SimulatorServer) -> None:
    creds = Credentials.token("not-the-token", scheme="Bearer")
    async with LeoClient(sim.base_url(SYSTEM), creds) as client:
        with pytest.raises(AuthFailure) as caught:
            await client.send(_plan(_body()), _key())
    assert caught.value.status == 401
    assert "invalid bearer token" in caught.value.message
    assert "not-the-token" not in f"{caught.value.message} {caught.value.body}"
    assert _leo(sim).received == []


async def test_missing_token_is_auth_failure(sim: SimulatorServer) -> None:
    async with LeoClient(sim.base_url(SYSTEM)) as client:
        with pytest.raises(AuthFailure, match="missing bearer token"):
            await client.send(_plan(_body()), _key())


TWICE = [{"lineNumber": "1"}, {"lineNumber": "1"}]
UNNUMBERED = [{"lineNumber": "1", "scheduleInfo": [{"status": "X"}]}]


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (_body(documentNumber=" "), "$.documentNumber", "not_blank"),
        (_body(status=5), "$.status", "string_type"),
        ({"status": "APPROVED"}, "$.documentNumber", "missing"),
        (_body(lineInfo=TWICE), "$.lineInfo[1].lineNumber", "unique_line_number"),
        (_body(lineInfo=UNNUMBERED), "$.lineInfo[0].scheduleInfo[0].scheduleNumber", "missing"),
    ],
)
async def test_invalid_body_is_permanent_naming_field(
    sim: SimulatorServer, body: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(PermanentDelivery) as caught:
        await _send(sim, _plan(body))
    err = caught.value
    assert not isinstance(err, AuthFailure) and err.status == 400
    assert f"field {field}" in err.message and f"rule {rule}" in err.message
    assert read_reply((err.body or "").encode()).hasException


async def test_body_that_is_not_json_is_refused(sim: SimulatorServer) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url(SYSTEM)) as http:
        headers = _auth(sim, **HEADERS, **{"Content-Type": "application/json"})
        reply = await http.post(PATH, content=b"{", headers=headers)
    assert reply.status_code == 400
    assert reply.json()["exception"]["field"] == "$"


@pytest.mark.parametrize(
    ("headers", "missing"),
    [({"subtypeAppId": "pohub"}, "event"), ({"event": "POStatusUpdate"}, "subtypeAppId")],
)
async def test_missing_header_is_permanent_naming_it(
    sim: SimulatorServer, headers: dict[str, str], missing: str
) -> None:
    with pytest.raises(PermanentDelivery, match=f"field {missing}, rule required") as caught:
        await _send(sim, _plan(_body(), headers))
    assert caught.value.status == 400


async def test_table_spelling_of_subtype_header_is_accepted(sim: SimulatorServer) -> None:
    """The Request Headers table writes ``subtypeApplId``; the curl ``subtypeAppId``."""
    headers = {"event": "POStatusUpdate", "subtypeApplId": "pohub"}
    assert (await _send(sim, _plan(_body("PO-APPL"), headers))).status == 200


async def test_wrong_content_type_and_method_get_the_envelope(sim: SimulatorServer) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url(SYSTEM)) as http:
        text = await http.post(PATH, content=b"{}", headers=_auth(sim, **HEADERS))
        get = await http.get(PATH, headers=_auth(sim))
    assert text.status_code == 415 and text.json()["exception"]["field"] == "Content-Type"
    assert get.status_code == 405 and read_reply(get.content).hasException


@pytest.mark.parametrize("status", [500, 503])
async def test_injected_server_error_is_retryable(sim: SimulatorServer, status: int) -> None:
    _leo(sim).faults = Faults.parse({"fail_rate": 1, "status": status, "seed": 1})
    with pytest.raises(RetryableDelivery, match="injected fault") as caught:
        await _send(sim, _plan(_body()))
    assert caught.value.status == status


async def test_delay_past_timeout_is_retryable(sim: SimulatorServer) -> None:
    _leo(sim).faults = Faults.parse({"delay_ms": 400})
    async with client_for(sim, SYSTEM, timeout_s=0.1) as client:
        with pytest.raises(RetryableDelivery, match="timeout"):
            await client.send(_plan(_body()), _key())


async def test_faults_are_deterministic_under_a_seed(sim: SimulatorServer) -> None:
    async def outcomes(client: LeoClient) -> list[bool]:
        _leo(sim).faults = Faults.parse({"fail_rate": 0.5, "status": 500, "seed": 7})
        seen = []
        for n in range(12):
            try:
                await client.send(_plan(_body(f"PO-SEED-{n}")), _key())
                seen.append(True)
            except RetryableDelivery:
                seen.append(False)
        return seen

    async with client_for(sim, SYSTEM) as client:
        first = await outcomes(client)
        assert first == await outcomes(client)
    assert True in first and False in first


# --- the client's classification, no network -------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


async def _mock_send(handler: Handler) -> Delivered:
    transport = httpx.MockTransport(handler)
    creds = Credentials.token(TOKEN, scheme="Bearer")
    async with LeoClient("http://leo.test", creds, transport=transport) as client:
        result: Delivered = await client.send(_plan(_body()), "key-1")
        return result


def _reply(status: int, body: Any = None, **headers: str) -> Handler:
    content = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
    return lambda request: httpx.Response(status, content=content, headers=headers)


def _envelope(exception: Any = None, has_exception: bool = True) -> dict[str, Any]:
    return {"exception": exception, "data": None, "hasData": False,
            "hasException": has_exception}  # fmt: skip


@pytest.mark.parametrize("path", sorted(REPLIES.glob("*.json")), ids=lambda p: p.name)
async def test_documented_reply_is_delivered(path: Path) -> None:
    result = await _mock_send(_reply(200, path.read_bytes()))
    assert result.status == 200 and result.body == orjson.loads(path.read_bytes())
    assert result.remote_ids == {}


async def test_request_carries_token_headers_and_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    await _mock_send(handler)
    [request] = seen
    assert request.url.path == PATH and request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["event"] == "POStatusUpdate"
    assert request.headers["idempotency-key"] == "key-1:send"


async def test_empty_2xx_body_is_delivered() -> None:
    """The curl asks for ``application/octet-stream``: an async accept may be empty."""
    assert (await _mock_send(_reply(202))).body is None


@pytest.mark.parametrize(
    ("envelope", "shown"),
    [
        (_envelope({"message": "PO locked", "field": "$.status"}), "PO locked (field $.status)"),
        (_envelope("Document not found"), "Document not found"),
        (_envelope(None), "no exception details"),
        (_envelope({"message": "late"}, has_exception=False), "late"),
    ],
)
async def test_2xx_with_exception_is_permanent(envelope: dict[str, Any], shown: str) -> None:
    with pytest.raises(PermanentDelivery, match="hasException") as caught:
        await _mock_send(_reply(200, envelope))
    assert shown in caught.value.message
    assert not isinstance(caught.value, AuthFailure)


async def test_2xx_that_is_not_the_envelope_is_unconfirmed() -> None:
    """It may have taken effect: retried like a lost reply (no status), never dead."""
    with pytest.raises(RetryableDelivery, match="not Leo's envelope; delivery unconfirmed") as e:
        await _mock_send(_reply(200, b"<html>ok</html>"))
    assert e.value.status is None


async def test_400_names_the_field() -> None:
    body = _envelope({"message": "must not be empty", "field": "$.status", "rule": "not_blank"})
    with pytest.raises(PermanentDelivery) as caught:
        await _mock_send(_reply(400, body))
    assert caught.value.message == (
        "leo: 400 refused: must not be empty (field $.status, rule not_blank)"
    )


@pytest.mark.parametrize("status", [401, 403])
async def test_401_403_are_auth_failures(status: int) -> None:
    body = _envelope({"message": "invalid bearer token", "field": "Authorization"})
    with pytest.raises(AuthFailure, match="invalid bearer token") as caught:
        await _mock_send(_reply(status, body))
    assert caught.value.status == status and TOKEN not in caught.value.message


async def test_429_is_retryable_after_its_delay() -> None:
    with pytest.raises(RetryableDelivery) as caught:
        await _mock_send(_reply(429, _envelope({"message": "slow down"}), **{"Retry-After": "7"}))
    assert caught.value.retry_after == 7.0 and "slow down" in caught.value.message


@pytest.mark.parametrize("body", [_envelope({"message": "boom"}), b"<html>bad gateway</html>"])
async def test_500_is_retryable(body: Any) -> None:
    with pytest.raises(RetryableDelivery, match="500 server error"):
        await _mock_send(_reply(500, body))


async def test_simulator_error_envelope_reads_as_leo_reply() -> None:
    """The simulator's error envelope, for any status (faults too), is the adapter's Reply."""
    sim = LeoSimulator({"token": TOKEN})
    for status in (400, 401, 429, 500, 599):
        reply = sim.error(status, "x", "$.status", "rule")
        assert read_reply(orjson.dumps(reply.json)).failed and reply.status == status
