"""What the contract suites need of each system, derived from its declared ``System`` and
its samples, never written per system: a sixth system is covered by its folder alone."""

from __future__ import annotations

from functools import cache
from typing import Any

from adapters import registry
from adapters._http import ID_PLACEHOLDER, Credentials
from core.adapter import Rendered
from core.errors import PohubError
from gateway.settings import secrets
from gateway.settings.config import load_config
from tests import support

ERROR_STATUSES = [400, 401, 403, 404, 409, 413, 415, 429, 500, 502, 503]
"""Statuses every system's error table answers in its own envelope."""


def delivering() -> list[str]:
    """Systems the hub delivers to: a client and a simulator declared."""
    return [s.name for s in registry.systems() if s.client is not None and s.simulator]


def receiving() -> list[str]:
    """Systems with a drop-in inbound endpoint."""
    return [s.name for s in registry.systems() if s.inbound is not None]


def shape(value: Any) -> Any:
    """The JSON shape of a reply body: its keys and value types, no values. Two replies in
    one envelope have one shape whatever their messages, trace ids or times say."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@cache
def success_plan(target: str) -> Rendered:
    """A plan a fresh simulator of ``target`` accepts: the first sample (the hub's base PO
    first) that renders for ``target`` with no refused step and acts on no id the target
    has not given yet."""
    base = registry.samples_dir(support.BASE_STATE[0]) / support.BASE_STATE[1]
    ordered = [(support.BASE_STATE[0], base), *support.all_samples()]
    for source, path in ordered:
        events = support.parse_sample(source, path)
        if len(events) != 1:
            continue
        event = events[0]
        try:
            plan = support.plan_for(target, event)
        except PohubError:
            continue
        known = {*event.remote_ids.values(), *(support.remote_for(target).remote_id or "",)}
        known.discard("")
        first = plan.calls[0]
        if any(c.refused is not None for c in plan.calls) or ID_PLACEHOLDER in first.path:
            continue
        if any(value in call.path for call in plan.calls for value in known):
            continue
        return plan
    raise AssertionError(f"no sample renders into a plan {target}'s simulator can accept")


def credentials(system: str, values: dict[str, str]) -> Credentials:
    """The credentials config.yaml tells the hub to send ``system``, from ``values``."""
    config = load_config(str(support.ROOT / "config.yaml"), registry.system_ids())
    return secrets.credentials(config.systems[system].auth, values)
