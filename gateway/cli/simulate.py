"""``pohub simulate``: the five systems' simulators on one port, each under ``/{system}``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from litestar import Litestar, Request, Response, route
from litestar.response import Stream

from adapters import registry
from adapters._sim import Faults, SimReply, SimRequest, Simulator
from gateway.settings import secrets
from gateway.settings.config import Config

METHODS: list[Any] = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def simulator_systems() -> list[str]:
    return [s.name for s in registry.systems() if s.simulator is not None]


def build_simulators(config: Config, printer: Any = None) -> dict[str, Simulator]:
    """One simulator per system, with secrets from the env vars the config names.

    With a variable unset, a secret is generated and printed once, so the hub and a person
    with curl can use it.
    """
    sims: dict[str, Simulator] = {}
    for system in simulator_systems():
        simulator = registry.system(system).simulator
        assert simulator is not None
        system_config = config.systems.get(system)
        auth = system_config.auth if system_config is not None else None
        values: dict[str, str] = {}
        if auth is not None:
            values = secrets.resolve(auth) or secrets.generate(auth)
            if secrets.resolve(auth) is None and printer is not None:
                names = secrets.auth_env_names(auth)
                shown = " ".join(f"{names[k]}={v}" for k, v in values.items())
                printer(f"{system}: generated credentials {shown}")
        sims[system] = simulator(values)
    return sims


def create_app(sims: dict[str, Simulator]) -> Litestar:
    _quiet_dropped_replies()

    @route("/{system:str}/_received", http_method=["GET", "DELETE"], status_code=200)
    async def received(request: Request[Any, Any, Any], system: str) -> Response[Any]:
        sim = sims.get(system)
        if sim is None:
            return _json(404, {"error": f"unknown system {system}"})
        if request.method == "DELETE":
            sim.clear()
            return _json(200, {"cleared": True})
        return _json(200, {"received": sim.received, "duplicates": sim.duplicates,
                           "dropped": sim.dropped})  # fmt: skip

    @route("/{system:str}/_faults", http_method=["PUT"], status_code=200)
    async def faults(request: Request[Any, Any, Any], system: str) -> Response[Any]:
        sim = sims.get(system)
        if sim is None:
            return _json(404, {"error": f"unknown system {system}"})
        try:
            data = orjson.loads(await request.body() or b"{}")
            sim.faults = Faults.parse(data if isinstance(data, dict) else {})
        except (ValueError, TypeError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, {"faults": data})

    @route("/{system:str}/{rest:path}", http_method=METHODS, status_code=200)
    async def vendor(
        request: Request[Any, Any, Any], system: str, rest: str
    ) -> Response[Any] | Stream:
        sim = sims.get(system)
        if sim is None:
            return _json(404, {"error": f"unknown system {system}"})
        sim_request = SimRequest(
            method=request.method,
            path=rest if rest.startswith("/") else f"/{rest}",
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            query={k: request.query_params.getall(k) for k in request.query_params},
        )
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            sim_request.form = {k: str(v) for k, v in form.items()}
        reply = await sim.handle(sim_request)
        return _reply(reply)

    return Litestar(route_handlers=[received, faults, vendor], openapi_config=None)


class ReplyDropped(Exception):
    """Raised mid-reply so the server closes the connection: the caller gets no answer."""


class _NotDropped(logging.Filter):
    """Keeps the server's "Exception in ASGI application" for a dropped reply out of its log:
    the fault is the point, not an error of the simulator."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _caused_by_drop(record.exc_info[1] if record.exc_info else None)


def _caused_by_drop(error: BaseException | None, depth: int = 0) -> bool:
    if error is None or depth > 20:
        return False
    if isinstance(error, ReplyDropped):
        return True
    if isinstance(error, BaseExceptionGroup):
        return any(_caused_by_drop(e, depth + 1) for e in error.exceptions)
    return _caused_by_drop(error.__cause__ or error.__context__, depth + 1)


def _quiet_dropped_replies() -> None:
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _NotDropped) for f in server_log.filters):
        server_log.addFilter(_NotDropped())


def _reply(reply: SimReply) -> Response[Any]:
    content = b"" if reply.json is None else orjson.dumps(reply.json)
    if reply.dropped:
        return _dropped(reply, content)
    return Response(content, status_code=reply.status, headers=reply.headers,
                    media_type="application/json")  # fmt: skip


def _dropped(reply: SimReply, content: bytes) -> Stream:
    """The reply's status line goes out, then the connection is closed before the body (the
    server, uvicorn, closes it when the body raises after the start): what a caller sees
    of a reply lost on the way, after the request took effect."""

    async def body() -> AsyncIterator[bytes]:
        raise ReplyDropped(f"reply dropped after the request took effect ({len(content)} bytes)")
        yield b""  # pragma: no cover (makes this a generator)

    return Stream(body(), status_code=reply.status, headers=reply.headers,
                  media_type="application/json")  # fmt: skip


def _json(status: int, data: Any) -> Response[Any]:
    return _reply(SimReply(status, data))
