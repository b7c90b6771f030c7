"""The drop-in inbound endpoints: ``/inbound/{system}`` + each route of the system's spec.

A system is pointed at the hub by changing only its base URL; below the prefix each path,
method, auth, status code and envelope is its own. Success is answered only after the
message is stored, with ``X-Pohub-Message-Id``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, cast

import orjson
import structlog
from litestar import Request, Response, route
from litestar.handlers import HTTPRouteHandler

from adapters import registry
from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundRoute, InboundSpec, Reply
from gateway.api.auth import client_address
from gateway.intake.ingest import KeyReused
from gateway.observe import metrics

log = structlog.get_logger("pohub.inbound")
JSON_TYPES = (
    "application/json",
    "text/json",
    "multipart/form-data",
    "application/x-www-form-urlencoded",
)


def inbound_specs() -> dict[str, InboundSpec]:
    return {s.name: s.inbound for s in registry.systems() if s.inbound is not None}


def handlers(hub_of: Callable[[Request[Any, Any, Any]], Any]) -> list[HTTPRouteHandler]:
    out = []
    for system, spec in inbound_specs().items():
        for r in spec.routes:
            out.append(_handler(system, spec, r, hub_of, f"/inbound/{system}"))
            if system == "canonical":  # the contract also serves the canonical dialect unprefixed
                out.append(_handler(system, spec, r, hub_of, ""))
    return out


def _litestar_path(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"{\1:str}", path)


def _handler(
    system: str, spec: InboundSpec, r: InboundRoute, hub_of: Callable[..., Any], prefix: str
) -> HTTPRouteHandler:
    async def handle(request: Request[Any, Any, Any]) -> Response[Any]:
        hub = hub_of(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        inbound = InboundRequest(r, dict(request.path_params), headers, b"")
        address = client_address(request)
        throttled = hub.failed_auth.blocked(address)
        if throttled is not None:  # too many failed sign-ins from there: a right one too
            metrics.AUTH_THROTTLED.labels(system).inc()
            refused = spec.refused(inbound, 429, "too many failed sign-ins from this address")
            refused.headers["Retry-After"] = str(max(1, math.ceil(throttled)))
            return _out(refused)
        if len(request.headers.getall("authorization", [])) > 1:
            # Which one counts would depend on who reads it: refuse instead of choosing.
            hub.failed_auth.failed(address)
            metrics.AUTH_FAILED.labels(system).inc()
            return _out(spec.refused(inbound, 401, "more than one Authorization header"))
        if not hub.guard.allows(system, headers, hub.keys):
            hub.failed_auth.failed(address)
            return _out(spec.refused(inbound, 401, "Authorization required"))
        if not hub.guard.required(system):  # signed in with an API key: its rate limit applies
            found = hub.keys.identify(headers.get("authorization"))
            wait = hub.key_limits.take(found.name) if found is not None else None
            if wait is not None:
                metrics.API_RATE_LIMITED.labels(found.name).inc()
                refused = spec.refused(inbound, 429, f"rate limit for key {found.name!r}")
                refused.headers["Retry-After"] = str(max(1, round(wait)))
                return _out(refused)
        size = int(headers.get("content-length") or 0)
        if size > hub.config.max_body_bytes:
            return _out(
                spec.refused(inbound, 413, f"body larger than {hub.config.max_body_bytes} bytes")
            )
        body = await request.body()
        if len(body) > hub.config.max_body_bytes:
            return _out(
                spec.refused(inbound, 413, f"body larger than {hub.config.max_body_bytes} bytes")
            )
        ctype = headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if body and ctype not in JSON_TYPES:
            return _out(spec.refused(inbound, 415, f"unsupported media type {ctype!r}"))
        try:
            form = await _form(request, ctype)
        except Exception:
            return _out(spec.refused(inbound, 400, f"unreadable {ctype} body"))
        inbound.body = _form_as_json(ctype, body, form)
        parse_body, parse_headers = spec.prepare(inbound)
        try:
            done = await hub.ingest.ingest(system, parse_body, parse_headers)
        except InvalidInput as exc:
            metrics.REJECTED.labels(system).inc()
            return _out(spec.refused(inbound, 400, str(exc), exc))
        except KeyReused as exc:
            return _out(spec.refused(inbound, 409, str(exc)))
        except Exception as exc:
            log.exception("inbound.store_failed", system=system)
            return _out(
                spec.refused(inbound, 503, f"could not store the message: {type(exc).__name__}")
            )
        metrics.RECEIVED.labels(system).inc(sum(done.created))
        reply = spec.accepted(inbound, done.events, [m.id for m in done.messages])
        reply.headers["X-Pohub-Message-Id"] = ",".join(m.id for m in done.messages)
        return _out(reply)

    return route(
        path=f"{prefix}{_litestar_path(r.path)}", http_method=[cast(Any, r.method)], status_code=200,
        name=f"inbound-{system}-{r.name}-{r.method}{'-alias' if not prefix else ''}",
        include_in_schema=True, tags=["inbound"],
    )(handle)  # fmt: skip


async def _form(request: Request[Any, Any, Any], ctype: str) -> dict[str, str] | None:
    if ctype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return None
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def _form_as_json(ctype: str, body: bytes, form: dict[str, str] | None) -> bytes:
    return orjson.dumps(form) if form is not None else body


def _out(reply: Reply) -> Response[Any]:
    content = b"" if reply.json is None else orjson.dumps(reply.json)
    return Response(
        content, status_code=reply.status, headers=reply.headers, media_type="application/json"
    )
