"""The outbound side every system's client shares: send a plan, classify each reply.

The transport comes from outside (the httpx idea): unit tests pass ``httpx.MockTransport``
or respx, integration tests hit the simulators over loopback, production uses one pooled
transport per target and process. Every failure leaves here as a ``core.errors``
``DeliveryError``: the one border where HTTP turns into retry / park / dead decisions.
"""

from __future__ import annotations

import base64
import email.utils
import time
from collections.abc import Awaitable, Callable, Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import orjson

from core.adapter import Call, Rendered, path_segment
from core.errors import AuthFailure, DeliveryError, PermanentDelivery, RetryableDelivery
from core.inbound import SECRET_HEADERS

ID_PLACEHOLDER = "{id}"
MAX_ERROR_BODY = 2000
REQUEST_BODY_CAP = 64 * 1024
"""Bytes of a sent body kept in an ``Exchange`` (the rest is counted, not kept)."""
REPLY_BODY_CAP = 16 * 1024
"""Bytes of a reply body kept in an ``Exchange``."""
REDACTED = "[redacted]"
NEVER_SHOWN = SECRET_HEADERS | {"set-cookie"}


@dataclass(frozen=True, slots=True)
class Credentials:
    """Resolved secrets for one target; ``repr`` never shows them."""

    headers: dict[str, str] = field(repr=False, default_factory=dict)

    @classmethod
    def basic(cls, username: str, password: str) -> Credentials:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        return cls({"Authorization": f"Basic {token}"})

    @classmethod
    def token(
        cls, token: str, header: str = "Authorization", scheme: str | None = None
    ) -> Credentials:
        return cls({header: f"{scheme} {token}" if scheme else token})


@dataclass(slots=True)
class Delivered:
    """What a successful plan left behind: the last reply and any ids the system assigned."""

    status: int
    body: Any
    remote_ids: dict[str, str] = field(default_factory=dict)
    steps: int = 0
    latency_ms: float = 0.0


@dataclass(slots=True)
class SentRequest:
    """A request as it was handed to the transport; secret header values redacted."""

    method: str
    path: str
    """Relative to the target's base URL, ids filled in."""
    url: str
    headers: dict[str, str]
    body: str
    """As sent (JSON, multipart form or text), decoded as UTF-8, cut at ``REQUEST_BODY_CAP``."""
    size: int
    """The whole body's length in bytes."""
    truncated: bool = False


@dataclass(slots=True)
class ReceivedReply:
    """What the target answered; the body cut at ``REPLY_BODY_CAP``."""

    status: int
    headers: dict[str, str]
    body: str
    size: int
    truncated: bool = False


@dataclass(slots=True)
class Exchange:
    """One HTTP call of a plan as it went on the wire, and the reply (none when the call
    timed out or could not connect: then ``error`` says why)."""

    step: int
    """Index of the call in the plan."""
    name: str
    """The call's step name (``create``, ``approve-internal``, ``push``)."""
    request: SentRequest
    reply: ReceivedReply | None = None
    error: str | None = None
    latency_ms: float = 0.0
    reconciled: str | None = None
    """Set on a read-back made instead of sending a call again (issue 12): what it found.
    ``already_done`` (the target had the effect: the call is not sent again), ``not_done``
    (it had not: the call is sent), ``conflict`` (the read could not settle it)."""
    shared_by: int | None = None
    """Set on a bulk request's record in each of its deliveries' attempts (issue 14): how
    many deliveries it carried. The request and reply bodies kept are then this delivery's
    own share (its PO, its part of the reply), ``size`` the whole request's and reply's."""


RECONCILED = ("already_done", "not_done", "conflict")


@dataclass(frozen=True, slots=True)
class Unsure:
    """An earlier sending of this delivery got no reply: the call it was making may have
    taken effect at the target (issue 12). A client for a system that is not idempotent
    reads the target's state before sending that call again; the others ignore it (a
    repeated upsert is harmless)."""

    since: datetime | None = None
    """Nothing of this delivery went out before (the message's arrival): a PO the lost
    call created is not older than this, give or take the target's clock."""
    status: str | None = None
    """The target's status as the hub last learnt it (what a read-back compares with)."""
    version: int | None = None
    """The target's object version as the hub last learnt it (AlphaAlpha: the last reply's
    ``updated``, ms): what the target did after it may be the lost call's doing."""


@dataclass(frozen=True, slots=True)
class Crosswalk:
    """The hub's crosswalk ``(system, remote id) -> hub PO`` as one delivery sees it.

    A system that assigns its own ids to the hub's POs (AlphaAlpha's ``create``) and knows
    nothing of the hub's number cannot be asked which order is whose: the crosswalk is the
    one place that says it. The client claims an id the moment a create's reply names it,
    before anything else is sent to that order, so an order is acted on by one hub PO only
    (issue 12)."""

    po_number: str
    """The hub's PO number this delivery is for."""
    owner: Callable[[str], Awaitable[str | None]]
    """Which hub PO already holds a remote id; None: nobody's."""
    claim: Callable[[str], Awaitable[bool]]
    """Take a remote id for this hub PO, atomically, unless another hub PO holds it: True
    when it is now this PO's (first wins)."""
    since: datetime | None = None
    """When the hub received the delivery's message: a PO made for it is not older."""


def make_transport(kind: str = "aiohttp") -> httpx.AsyncBaseTransport:
    """The keep-alive transport for one target (see bench/clients.py for the choice)."""
    if kind == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return AiohttpTransport()
    return httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=32))


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing. No target's API uses cookies, and one PO's delivery must not
    carry a cookie another's reply set; httpx builds a urllib request per reply to extract
    them, about a third of its own CPU per call (bench: 430-480 vs 300-340 µs)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class SystemClient:
    """Sends a rendered plan to one system; subclasses override ``check`` for their envelope."""

    system = "?"

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
        secret_headers: Iterable[str] = (),
    ) -> None:
        self._credentials = credentials or Credentials()
        self._secret_headers = frozenset(
            {*NEVER_SHOWN, *(h.lower() for h in self._credentials.headers),
             *(h.lower() for h in secret_headers)}
        )  # fmt: skip
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        )
        self._http._cookies = _NoCookies()  # httpx has no switch for this

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SystemClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(
        self,
        plan: Rendered,
        idempotency_key: str,
        start_step: int = 0,
        remote_ids: AbcMapping[str, str] | None = None,
        exchanges: list[Exchange] | None = None,
        unsure: Unsure | None = None,
        crosswalk: Crosswalk | None = None,
    ) -> Delivered:
        """Run the plan from ``start_step``; a failure carries its step and the ids learned.

        With ``exchanges``, every call sent is appended to it as it went on the wire (secret
        headers redacted, bodies capped), failed ones included. ``unsure``: an earlier
        sending got no reply; the kit sends again (the systems it serves as it is upsert),
        a client for a system that is not idempotent overrides this to read back first.
        ``crosswalk``: used by a client whose target assigns the PO's id (see ``Crosswalk``)."""
        learned = dict(remote_ids or {})
        started = time.perf_counter()
        result = Delivered(status=0, body=None, remote_ids=learned)
        keys = step_keys(plan)
        for index in range(start_step, len(plan.calls)):
            call = plan.calls[index]
            key = f"{idempotency_key}:{keys[index]}"
            try:
                response = await self._request(call, key, learned, exchanges, index)
                result.body = self.check(call, response)
            except DeliveryError as exc:
                exc.step, exc.remote_ids = index, {**learned, **exc.remote_ids}
                exc.last_reply = result.body
                if exchanges and exchanges[-1].step == index and exchanges[-1].error is None:
                    exchanges[-1].error = str(exc)
                raise
            result.status = response.status_code
            learned.update(self.remote_ids(call, result.body))
            result.steps = index + 1
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result

    async def send_bulk(
        self,
        calls: dict[str, Call],
        merged: Call,
        idempotency_key: str,
        split: Callable[[Any, list[str]], dict[str, Any] | None],
        exchanges: list[Exchange] | None = None,
    ) -> dict[str, Delivered | DeliveryError]:
        """Send ``merged`` (the one-PO ``calls``, by PO key, as one request) once, and give
        each key what its own call would have got: its share of the reply (``split``) read
        by ``check`` as the reply to its call. A failure of the whole request (no reply, a
        5xx, 429, 401...) raises, for all of them; a 2xx ``split`` cannot read is
        ``unconfirmed`` (as a lost reply). ``idempotency_key`` is sent as it is."""
        try:
            response = await self._request(merged, idempotency_key, {}, exchanges)
            if not 200 <= response.status_code < 300:
                self.check(merged, response)
                raise self.unconfirmed(response, "reply is not a success")
            shares = split(_json_or_text(response), list(calls))
            if shares is None:
                raise self.unconfirmed(response, "reply is not the bulk envelope")
        except DeliveryError as exc:
            if exchanges and exchanges[-1].error is None:
                exchanges[-1].error = str(exc)
            raise
        out: dict[str, Delivered | DeliveryError] = {}
        for po_key, call in calls.items():
            share = httpx.Response(response.status_code, json=shares[po_key],
                                   request=response.request)  # fmt: skip
            try:
                body = self.check(call, share)
            except DeliveryError as exc:
                out[po_key] = exc
                continue
            done = Delivered(response.status_code, body, self.remote_ids(call, body), steps=1)
            done.latency_ms = exchanges[-1].latency_ms if exchanges else 0.0
            out[po_key] = done
        return out

    async def _request(
        self, call: Call, key: str, learned: dict[str, str],
        exchanges: list[Exchange] | None = None, index: int = 0,
    ) -> httpx.Response:  # fmt: skip
        path = call.path
        if ID_PLACEHOLDER in path:
            remote_id = learned.get(self.system)
            if remote_id is None:
                raise PermanentDelivery(f"{self.system}: no remote id for {path}")
            try:
                path = path.replace(ID_PLACEHOLDER, path_segment(remote_id))
            except ValueError as exc:
                raise PermanentDelivery(f"{self.system}: {exc}") from None
        headers = {**self._credentials.headers, **call.headers, "Idempotency-Key": key}
        kwargs: dict[str, Any] = {"headers": headers}
        if call.form is not None:
            kwargs["files"] = {k: (None, v) for k, v in call.form.items()}
        elif call.json is not None:
            kwargs["content"] = orjson.dumps(call.json)
            headers["Content-Type"] = "application/json"
        elif call.text is not None:
            kwargs["content"] = call.text.encode()
        request = self._http.build_request(call.method, path, **kwargs)
        if exchanges is None:
            return await self._send(request)
        sent = Exchange(index, call.step, self._snapshot(request, path))
        exchanges.append(sent)
        started = time.perf_counter()
        try:
            response = await self._send(request)
        except RetryableDelivery as exc:
            sent.error = str(exc)
            raise
        finally:
            sent.latency_ms = (time.perf_counter() - started) * 1000
        sent.reply = self._reply_snapshot(response)
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._http.send(request)
        except httpx.TimeoutException as exc:
            raise RetryableDelivery(f"{self.system}: timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise RetryableDelivery(f"{self.system}: connection error ({exc})") from None

    def _headers(self, headers: httpx.Headers) -> dict[str, str]:
        secret = self._secret_headers
        return {k: REDACTED if k in secret else v for k, v in headers.items()}

    def _snapshot(self, request: httpx.Request, path: str) -> SentRequest:
        """The request as the transport gets it. A multipart body is read once here (httpx
        then sends those same bytes); a JSON body is the bytes already built."""
        content = request.read()
        url = request.url.copy_with(userinfo=b"") if request.url.userinfo else request.url
        body, truncated = _capped(content, REQUEST_BODY_CAP)
        return SentRequest(request.method, path, str(url), self._headers(request.headers), body,
                           len(content), truncated)  # fmt: skip

    def _reply_snapshot(self, response: httpx.Response) -> ReceivedReply:
        body, truncated = _capped(response.content, REPLY_BODY_CAP)
        return ReceivedReply(response.status_code, self._headers(response.headers), body,
                             len(response.content), truncated)  # fmt: skip

    def check(self, call: Call, response: httpx.Response) -> Any:
        """Classify by status code; subclasses add their envelope's own failure signals."""
        body = _json_or_text(response)
        status = response.status_code
        text = response.text[:MAX_ERROR_BODY]
        if status in (401, 403):
            raise AuthFailure(f"{self.system}: {status} authentication refused", status, text)
        if status == 429:
            wait = retry_after(response.headers.get("Retry-After"))
            raise RetryableDelivery(f"{self.system}: 429", status, text, retry_after=wait)
        if status >= 500 or status == 408:
            raise RetryableDelivery(f"{self.system}: {status} server error", status, text)
        if status >= 400:
            raise PermanentDelivery(f"{self.system}: {status} refused: {text[:300]}", status, text)
        return body

    def unconfirmed(self, response: httpx.Response, what: str) -> RetryableDelivery:
        """A 2xx that is not the system's documented reply: the request may or may not have
        taken effect. One rule for every system: retryable, with no reply status recorded,
        so the worker treats it like a lost reply (``gateway.delivery.worker.LOST_REPLY``): an
        upsert is sent again (harmless), an acting system is read back first (issue 12)."""
        message = f"{self.system}: {response.status_code} {what}; delivery unconfirmed"
        return RetryableDelivery(message, None, response.text[:MAX_ERROR_BODY])

    def remote_status(self, body: Any) -> str | None:
        """The PO's status in the system after the plan, when its reply says (AlphaAlpha)."""
        return None

    def remote_version(self, body: Any) -> int | None:
        """The PO's object version in the system after the plan (EnKash)."""
        return None

    def remote_ids(self, call: Call, body: Any) -> dict[str, str]:
        """Ids the system assigned in this reply (AlphaAlpha's PO id); none by default."""
        return {}


def step_keys(plan: Rendered) -> list[str]:
    """Per call, the key suffix: its step name (``create``, ``approve-internal``), numbered
    when a name repeats. Named, not positional, so a re-rendered plan that starts later
    never reuses the key of a different call."""
    seen: dict[str, int] = {}
    out = []
    for call in plan.calls:
        seen[call.step] = seen.get(call.step, 0) + 1
        out.append(call.step if seen[call.step] == 1 else f"{call.step}.{seen[call.step]}")
    return out


def _capped(content: bytes, cap: int) -> tuple[str, bool]:
    """The first ``cap`` bytes as text (a cut character becomes U+FFFD) and whether it was cut."""
    if len(content) <= cap:
        return content.decode("utf-8", "replace"), False
    return content[:cap].decode("utf-8", "replace"), True


def _json_or_text(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number or an HTTP date."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())
