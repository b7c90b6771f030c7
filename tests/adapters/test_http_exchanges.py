"""What ``SystemClient`` records of each call it sends (``exchanges``), over a MockTransport."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from adapters._http import (
    REDACTED,
    REPLY_BODY_CAP,
    REQUEST_BODY_CAP,
    Credentials,
    Exchange,
    SystemClient,
)
from core.adapter import Call, Rendered
from core.errors import PermanentDelivery, RetryableDelivery

pytestmark = pytest.mark.anyio


def plan(*calls: Call) -> Rendered:
    return Rendered("t", list(calls), "v1")


def client(handler: Any, creds: Credentials | None = None, **kw: Any) -> SystemClient:
    return SystemClient("http://u:pw@target.test/api", creds, httpx.MockTransport(handler), **kw)


async def test_records_the_body_and_headers_as_sent_with_secrets_redacted() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "R1"}, headers={"Set-Cookie": "s=secret"})

    creds = Credentials.token("tok-123", header="X-Api-Token")
    call = Call("POST", "/orders", {"po": "P1", "qty": 2},
                headers={"X-Inbound-Sig": "sig-456", "X-Trace": "t1"})  # fmt: skip
    sent: list[Exchange] = []
    async with client(handler, creds, secret_headers=["x-inbound-sig"]) as c:
        await c.send(plan(call), "key", exchanges=sent)
    (x,) = sent
    assert x.request.body.encode() == seen[0].content  # the very bytes on the wire
    assert orjson.loads(x.request.body) == {"po": "P1", "qty": 2}
    assert seen[0].headers["x-api-token"] == "tok-123"
    assert x.request.headers["x-api-token"] == REDACTED
    assert x.request.headers["x-inbound-sig"] == REDACTED
    assert x.request.headers["x-trace"] == "t1"
    assert x.request.headers["idempotency-key"] == "key:send"
    assert x.request.url == "http://target.test/api/orders" and x.request.path == "/orders"
    assert x.reply is not None and x.reply.status == 201 and orjson.loads(x.reply.body)["id"]
    assert x.reply.headers["set-cookie"] == REDACTED
    assert "tok-123" not in repr(sent) and "pw" not in x.request.url


async def test_bodies_are_capped_both_ways_with_their_size() -> None:
    big_reply = b"r" * (REPLY_BODY_CAP + 100)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big_reply)

    sent: list[Exchange] = []
    async with client(handler) as c:
        await c.send(plan(Call("PUT", "/x", {"blob": "b" * REQUEST_BODY_CAP})), "k", exchanges=sent)
    (x,) = sent
    assert x.request.truncated and len(x.request.body) == REQUEST_BODY_CAP
    assert x.request.size == REQUEST_BODY_CAP + len('{"blob":""}')
    assert x.reply is not None and x.reply.truncated and x.reply.size == len(big_reply)
    assert len(x.reply.body) == REPLY_BODY_CAP


async def test_a_timeout_records_the_request_and_the_error_without_a_reply() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    sent: list[Exchange] = []
    async with client(handler) as c:
        with pytest.raises(RetryableDelivery):
            await c.send(plan(Call("POST", "/x", {"a": 1})), "k", exchanges=sent)
    (x,) = sent
    assert x.reply is None and x.error is not None and "timeout" in x.error
    assert orjson.loads(x.request.body) == {"a": 1}


async def test_every_call_of_a_plan_until_the_refused_one() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/approve"):
            return httpx.Response(409, json={"title": "conflict"})
        return httpx.Response(200, json={"ok": True})

    calls = [Call("POST", "/po", {"n": 1}, step="create"),
             Call("POST", "/po/approve", step="approve", form={"pdf": "P1"}),
             Call("POST", "/po/close", step="close")]  # fmt: skip
    sent: list[Exchange] = []
    async with client(handler) as c:
        with pytest.raises(PermanentDelivery):
            await c.send(plan(*calls), "k", exchanges=sent)
    assert [(x.step, x.name) for x in sent] == [(0, "create"), (1, "approve")]
    refused = sent[1]
    assert refused.reply is not None and refused.reply.status == 409
    assert refused.error is not None and "409" in refused.error
    assert 'name="pdf"' in refused.request.body and "P1" in refused.request.body
    assert sent[0].error is None


async def test_nothing_is_recorded_unless_asked() -> None:
    async with client(lambda r: httpx.Response(200, json={})) as c:
        done = await c.send(plan(Call("POST", "/x", {"a": 1})), "k")
    assert done.status == 200


def test_the_worker_redacts_every_header_config_puts_a_secret_in() -> None:
    from adapters import registry
    from gateway import app  # noqa: F401  (gateway.delivery.worker imported first meets an import cycle)
    from gateway.delivery.worker import _secret_headers
    from gateway.settings.config import load_config
    from tests.support import ROOT

    config = load_config(str(ROOT / "config.yaml"), registry.system_ids())
    leo = config.systems["leo"]
    assert leo.auth is not None and leo.auth.bearer is not None
    custom = leo.model_copy(update={
        "auth": leo.auth.model_copy(update={
            "bearer": leo.auth.bearer.model_copy(update={"header": "X-Leo-Key"})}),
        "inbound_auth": (leo.inbound_auth.model_copy(update={"header": "X-Leo-Signature"})
                         if leo.inbound_auth else None),
    })  # fmt: skip
    names = _secret_headers(
        config.model_copy(update={"systems": {**config.systems, "leo": custom}})
    )
    assert {"X-Leo-Key", "X-Leo-Signature", "Authorization"} <= names


async def test_a_reply_cookie_is_never_sent_back() -> None:
    """The client keeps no cookie jar: one PO's delivery never carries another's cookie."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, json={}, headers={"Set-Cookie": "session=abc; Path=/"})

    client = SystemClient("http://t.example", transport=httpx.MockTransport(handler))
    try:
        for _ in range(2):
            request = client._http.build_request("POST", "/x", content=b"{}")
            await client._send(request)
    finally:
        await client.aclose()
    assert seen == [None, None]
