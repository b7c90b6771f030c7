"""What every simulator shares: routing, auth, faults, idempotency and the received log.

A system's ``simulator.py`` defines a ``Simulator`` subclass with its routes and its own
reply envelopes; this kit wraps it with the contract's extras (``_received``, ``_faults``,
``Idempotency-Key``). It knows no web framework: ``gateway/cli/simulate.py`` serves it.

No vendor document defines ``Idempotency-Key`` (issue 12): a real system acts on every
request it gets. So by default the kit ignores the header, and a request sent twice has
two effects, as it would there. The fault setting ``honour_keys`` turns the old behaviour
back on (a repeated key gets the first answer and changes nothing). ``drop_reply_rate``
loses the reply of a request *after* it was applied (the effect happens, the caller sees a
connection drop): the case a hub that sends again must survive without a second effect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core.inbound import SECRET_HEADERS, Reply


@dataclass(slots=True)
class SimRequest:
    method: str
    path: str
    """Below ``/{system}``, e.g. ``/approvedPurchaseOrder``."""
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes = b""
    query: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(slots=True)
class SimReply:
    status: int
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    accepted: bool | None = None
    """Whether the system took the request; None means 'a status below 400'. A business
    refusal inside a 200 (EnKash STALE_VERSION) sets False so ``_received`` leaves it out."""
    dropped: bool = False
    """The request was applied but its reply is lost (fault ``drop_reply_rate``): the server
    starts the reply and closes the connection before the body."""

    @property
    def was_accepted(self) -> bool:
        return self.status < 400 if self.accepted is None else self.accepted


Handler = Callable[[SimRequest], SimReply | Awaitable[SimReply]]


@dataclass(slots=True)
class Faults:
    fail_rate: float = 0.0
    status: int = 500
    delay_ms: int = 0
    seed: int | None = None
    retry_after: int = 1
    honour_keys: bool = False
    """Answer a repeated ``Idempotency-Key`` with the first reply and no second effect. Off
    by default: no vendor document defines the header, real systems act on every request."""
    drop_reply_rate: float = 0.0
    """Share of requests (0..1) whose reply is lost after the request took effect."""
    drop_reply_match: str | None = None
    """Only requests whose ``"METHOD /path"`` contains this text lose their reply (e.g.
    ``"approve-internal"``, ``"POST /api/v1/purchase-orders"``); None: any request."""
    drop_reply_limit: int | None = None
    """Lose at most this many replies under these faults; None: no limit."""
    dropped: int = 0
    """Replies lost under these faults so far (not a setting)."""
    rng: random.Random = field(default_factory=random.Random)

    FIELDS = frozenset({"fail_rate", "status", "delay_ms", "seed", "retry_after",
                        "honour_keys", "drop_reply_rate", "drop_reply_match",
                        "drop_reply_limit"})  # fmt: skip

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Faults:
        unknown = set(data) - cls.FIELDS
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        faults = cls(**{k: data[k] for k in cls.FIELDS if k in data})
        for name in ("fail_rate", "drop_reply_rate"):
            rate = getattr(faults, name)
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                raise ValueError(f"{name} must be within 0..1")
        if not isinstance(faults.honour_keys, bool):
            raise ValueError("honour_keys must be true or false")
        if faults.drop_reply_match is not None and not isinstance(faults.drop_reply_match, str):
            raise ValueError("drop_reply_match must be a string")
        limit = faults.drop_reply_limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 0):  # fmt: skip
            raise ValueError("drop_reply_limit must be a whole number, at least 0")
        faults.rng = random.Random(faults.seed)
        return faults

    def strikes(self) -> bool:
        return self.fail_rate > 0 and self.rng.random() < self.fail_rate

    def drops(self, request: SimRequest) -> bool:
        """Whether this applied request loses its reply."""
        if self.drop_reply_rate <= 0:
            return False
        if self.drop_reply_limit is not None and self.dropped >= self.drop_reply_limit:
            return False
        line = f"{request.method} {request.path}"
        if self.drop_reply_match is not None and self.drop_reply_match not in line:
            return False
        if self.rng.random() >= self.drop_reply_rate:
            return False
        self.dropped += 1
        return True


def from_reply(reply: Reply) -> SimReply:
    """A reply of the system's shared error table (``replies.error_reply``) as the simulator
    sends it: the same envelope the hub's drop-in endpoint answers with."""
    return SimReply(reply.status, reply.json, dict(reply.headers))


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so a wrong token takes as long as a right one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Simulator:
    """Base of a system's simulator: subclass, set ``system``, add routes in ``__init__``."""

    system = "?"

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.received: list[dict[str, Any]] = []
        self.duplicates = 0
        self.dropped = 0
        """Replies lost after the request took effect (fault ``drop_reply_rate``)."""
        self.faults = Faults()
        self._idempotent: dict[str, SimReply] = {}
        self._lock = asyncio.Lock()

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern`` like ``/api/v1/purchase-orders/{id}/cancel``."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self.routes.append((method.upper(), re.compile(f"^{regex}$"), handler))

    # the system's own envelopes: override ---------------------------------------------
    def authenticate(self, request: SimRequest) -> SimReply | None:
        """None when the caller is who the system expects; else the system's 401 reply."""
        return None

    def error(
        self, status: int, message: str, field: str | None = None, rule: str | None = None
    ) -> SimReply:
        """The system's error envelope for ``status``: override with the system's shared
        table (``from_reply(replies.error_reply(...))``)."""
        return SimReply(status, {"message": message, "field": field})

    # the kit ---------------------------------------------------------------------------
    async def handle(self, request: SimRequest) -> SimReply:
        handler = self._match(request)
        if handler is None:
            return self.error(404, f"no route {request.method} {request.path}")
        refused = self.authenticate(request)
        if refused is not None:
            return refused
        if self.faults.strikes():
            return await self._fault()
        if self.faults.delay_ms and self.faults.fail_rate == 0:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        key = request.header("idempotency-key") if self.faults.honour_keys else None
        async with self._lock:
            if key is not None and key in self._idempotent:
                self.duplicates += 1
                return self._idempotent[key]
            reply = handler(request)
            if not isinstance(reply, SimReply):
                reply = await reply
            if key is not None and reply.status < 500:
                self._idempotent[key] = reply
            if reply.was_accepted:
                self.received.append(_record(request))
            if self.faults.drops(request):
                self.dropped += 1
                return dataclasses.replace(reply, dropped=True)
            return reply

    async def _fault(self) -> SimReply:
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        reply = self.error(self.faults.status, "injected fault")
        if self.faults.status == 429:
            reply.headers["Retry-After"] = str(self.faults.retry_after)
        return reply

    def _match(self, request: SimRequest) -> Handler | None:
        for method, regex, handler in self.routes:
            found = regex.match(request.path)
            if found and method == request.method:
                request.params = found.groupdict()
                return handler
        return None

    def clear(self) -> None:
        """``DELETE _received``: forget the log; business state stays, as the system's would."""
        self.received.clear()
        self.duplicates = 0
        self.dropped = 0

    def restart(self) -> None:
        """A fresh system: log, idempotency keys, faults and business state (tests)."""
        self.clear()
        self._idempotent.clear()
        self.faults = Faults()
        self.reset()

    def reset(self) -> None:
        """Hook: a simulator drops its own business state here."""


def _record(request: SimRequest) -> dict[str, Any]:
    import orjson

    try:
        body: Any = orjson.loads(request.body) if request.body else None
    except orjson.JSONDecodeError:
        body = request.body.decode("utf-8", "replace")
    headers = {k: v for k, v in request.headers.items() if k not in SECRET_HEADERS}
    record: dict[str, Any] = {"method": request.method, "path": request.path, "headers": headers,
                              "json": body}  # fmt: skip
    if request.form is not None:
        record["form"] = request.form
    return record
