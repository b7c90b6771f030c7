"""``pohub simulate``: the five systems' simulators on one port, each under ``/{system}``."""

from __future__ import annotations

import importlib
from typing import Any

import orjson
from litestar import Litestar, Request, Response, route

from adapters import registry
from adapters._sim import Faults, SimReply, SimRequest, Simulator
from gateway import secrets
from gateway.config import Config

METHODS: list[Any] = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def simulator_systems() -> list[str]:
    return [s for s in registry.system_ids() if registry.part(s, "simulator") is not None]


def build_simulators(config: Config, printer: Any = None) -> dict[str, Simulator]:
    """One simulator per system, with secrets from the env vars the config names.

    With a variable unset, a secret is generated and printed once, so the hub and a person
    with curl can use it.
    """
    sims: dict[str, Simulator] = {}
    for system in simulator_systems():
        module = importlib.import_module(f"adapters.{system}.simulator")
        system_config = config.systems.get(system)
        auth = system_config.auth if system_config is not None else None
        values: dict[str, str] = {}
        if auth is not None:
            values = secrets.resolve(auth) or secrets.generate(auth)
            if secrets.resolve(auth) is None and printer is not None:
                names = secrets.auth_env_names(auth)
                shown = " ".join(f"{names[k]}={v}" for k, v in values.items())
                printer(f"{system}: generated credentials {shown}")
        sims[system] = module.SIMULATOR(values)
    return sims


def create_app(sims: dict[str, Simulator]) -> Litestar:
    @route("/{system:str}/_received", http_method=["GET", "DELETE"], status_code=200)
    async def received(request: Request[Any, Any, Any], system: str) -> Response[Any]:
        sim = sims.get(system)
        if sim is None:
            return _json(404, {"error": f"unknown system {system}"})
        if request.method == "DELETE":
            sim.clear()
            return _json(200, {"cleared": True})
        return _json(200, {"received": sim.received, "duplicates": sim.duplicates})

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
    async def vendor(request: Request[Any, Any, Any], system: str, rest: str) -> Response[Any]:
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


def _reply(reply: SimReply) -> Response[Any]:
    content = b"" if reply.json is None else orjson.dumps(reply.json)
    return Response(content, status_code=reply.status, headers=reply.headers,
                    media_type="application/json")  # fmt: skip


def _json(status: int, data: Any) -> Response[Any]:
    return _reply(SimReply(status, data))
