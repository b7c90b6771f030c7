"""All wiring in one place: the Litestar app of the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi import OpenAPIConfig
from prometheus_client import generate_latest

from gateway.api import inbound
from gateway.api.admin import AdminController, StatsController
from gateway.api.alerts import AlertsController, alerts_for
from gateway.api.audit import AuditController, AuditMiddleware
from gateway.api.drafts import MappingDraftsController
from gateway.api.mappings import MappingsController, whoami
from gateway.api.ops import Messages
from gateway.api.replays import Replays
from gateway.api.targets import TargetsController
from gateway.delivery import circuits
from gateway.hub import Hub
from gateway.mappings import versions
from gateway.observe import metrics
from gateway.observe.logs import configure_logging

READY_STALE_S = 30.0


@get("/health", tags=["health"])
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", tags=["health"])
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready when the store answers and every worker of this process has beaten lately."""
    hub: Hub = request.app.state.hub
    store_ok = await _ping(hub)
    now = time.monotonic()
    workers_ok = all(now - w.last_beat < READY_STALE_S for w in hub.workers)
    body = {"store": "up" if store_ok else "down", "workers": len(hub.workers),
            "workers_alive": workers_ok}  # fmt: skip
    return Response(body, status_code=200 if store_ok and workers_ok else 503)


async def _ping(hub: Hub) -> bool:
    try:
        return await hub.store.ping()
    except Exception:
        return False


@get("/metrics", tags=["health"], media_type="text/plain; version=0.0.4")
async def prometheus(request: Request[Any, Any, Any]) -> bytes:
    hub: Hub = request.app.state.hub
    with contextlib.suppress(Exception):
        for state, count in (await hub.store.counts()).items():
            metrics.QUEUE_DEPTH.labels(state).set(count)
    return generate_latest(metrics.REGISTRY)


async def _shutdown(hub: Hub, grace_s: float = 25.0) -> None:
    """Let workers finish or return in-flight work; cancel the rest (file watcher, jobs)."""
    tasks = list(hub.tasks)
    workers = [t for t in tasks if t.get_name().startswith("worker")]
    if workers:
        await asyncio.wait(workers, timeout=grace_s)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(BaseException):
            await task


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    """A JSON body nested past what the decoder can follow is the sender's error, not ours."""
    return Response({"status_code": 400, "detail": "request body is nested too deeply"},
                    status_code=400)  # fmt: skip


def _too_large(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """413 naming the limit of the route (``guards.API_BODY_MAX``, ``MAPPING_BODY_MAX``...)."""
    limit = request.route_handler.resolve_request_max_body_size()
    detail = f"request body larger than {limit} bytes, the limit of {request.method} " + (
        request.url.path if request.url.path.startswith("/api/") else "this route"
    )
    return Response({"status_code": 413, "detail": detail}, status_code=413)


def create_app(hub: Hub, *, run_workers: bool = True, workers: int = 1) -> Litestar:
    from gateway.delivery.worker import Worker

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await hub.store.open()
        from gateway.intake.poller import start_pollers

        start_pollers(hub)
        hub.spawn(versions.watch_store(hub))
        if hub.mappings_path is not None:
            from gateway.mappings.reload import watch

            hub.spawn(watch(hub, hub.mappings_path))
        if run_workers:
            for i in range(workers):
                worker = Worker(
                    hub.config, hub.store, hub.mappings, name=None if i == 0 else f"w{i}"
                )
                hub.workers.append(worker)
                hub.spawn(worker.run()).set_name(f"worker-{i}")
            hub.spawn(circuits.publish_loop(hub))
        if hub.config.alerts is not None:
            hub.spawn(alerts_for(hub, hub.config.alerts).run()).set_name("alerts")
        try:
            yield
        finally:
            for worker in hub.workers:
                worker.stop()
            await _shutdown(hub)
            await hub.store.close()

    configure_logging()
    app = Litestar(
        route_handlers=[
            AdminController,
            StatsController,
            MappingsController,
            MappingDraftsController,
            whoami,
            health,
            ready,
            prometheus,
            Messages,
            Replays,
            TargetsController,
            AlertsController,
            AuditController,
            *inbound.handlers(lambda r: r.app.state.hub),
        ],
        lifespan=[lifespan],
        middleware=[AuditMiddleware],
        exception_handlers={RecursionError: _too_deep, RequestEntityTooLarge: _too_large},
        openapi_config=OpenAPIConfig(title="pohub", version="0.1.0", path="/schema"),
        request_max_body_size=hub.config.max_body_bytes * 2,
    )
    app.state.hub = hub
    return app
