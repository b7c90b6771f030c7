"""``/api/v1/targets``: each target's circuit, pause and backlog; pause and resume.

A target is a system some route delivers to. Pausing one is an operator's action (see
``gateway.delivery.pause`` for what it does to deliveries); who did it and when is kept with the pause
and logged.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException

from gateway.api.guards import API_BODY_MAX, hub_of, principal, requires
from gateway.api.schemas import Paused, Resumed, Targets
from gateway.delivery import circuits as shared
from gateway.delivery import pause
from gateway.delivery.targets import SEVERITY
from gateway.store.records import TargetLoad


def routed_targets(hub: Any) -> list[str]:
    return sorted({t for route in hub.config.routes for t in route.to})


async def circuits(hub: Any) -> dict[str, dict[str, Any]]:
    """Per target, the worst circuit state of this process's workers and of what the other
    processes published (``gateway.delivery.circuits``)."""
    out = await shared.read(hub.store, but=shared.process_name())
    for name, b in shared.local(hub).items():
        seen = out.get(name)
        if seen is None or SEVERITY[b.state] >= SEVERITY[seen["circuit"]]:
            out[name] = {"circuit": b.state, "failures_in_a_row": b.failures}
    return out


def _known(hub: Any, name: str) -> str:
    if name not in routed_targets(hub):
        raise NotFoundException(f"no target {name!r} (targets are the systems routes deliver to)")
    return name


class TargetsController(Controller):
    path = "/api/v1/targets"
    guards = [requires("viewer")]
    tags = ["operations"]
    request_max_body_size = API_BODY_MAX

    @get("/")
    async def targets(self, request: Request[Any, Any, Any]) -> Targets:
        """Per target: circuit (closed, half-open, open, or unknown in a process without
        workers), failures in a row, whether it is paused (by whom, since when), and the
        deliveries waiting for it (``backlog``: queued, retrying, delivering; the oldest's
        creation time; the next retry time; parked and paused counts)."""
        hub = hub_of(request)
        breakers = await circuits(hub)
        held = await pause.paused(hub.store)
        loads = await hub.store.backlog()
        out: dict[str, Any] = {}
        for name in routed_targets(hub):
            item = breakers.get(name, {"circuit": "unknown", "failures_in_a_row": None})
            load = loads.get(name)
            out[name] = {
                **item,
                "paused": name in held,
                "paused_by": held.get(name, {}).get("by"),
                "paused_at": held.get(name, {}).get("at"),
                "backlog": (load or TargetLoad()).model_dump(mode="json"),
            }
        return {"targets": out}

    @post("/{name:str}/pause", guards=[requires("operator")], status_code=200)
    async def pause(self, request: Request[Any, Any, Any], name: str) -> Paused:
        """Deliveries to ``name`` wait (parked as ``paused``, no attempt) until resumed."""
        hub = hub_of(request)
        target = _known(hub, name)
        changed = await pause.pause(hub.store, target, principal(request).name)
        for worker in hub.workers:
            worker.paused.note(target, True)
        return {"target": target, "paused": True, "changed": changed}

    @post("/{name:str}/resume", guards=[requires("operator")], status_code=200)
    async def resume(self, request: Request[Any, Any, Any], name: str) -> Resumed:
        """Lift the pause and re-queue what waited, in each PO's order."""
        hub = hub_of(request)
        target = _known(hub, name)
        for worker in hub.workers:
            worker.paused.note(target, False)
        requeued = await pause.resume(hub.store, target, principal(request).name)
        return {"target": target, "paused": False, "requeued": requeued}
