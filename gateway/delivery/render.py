"""Parse, then render: the one place where a payload becomes events and an event becomes a
target's plan.

The worker (what it sends), the mappings preview (what it would send), ``pohub translate``
and the generated test suites all call these functions, so the four can no longer differ in
how they stamp a receive time or what they tell a target's ``render`` about the PO there
(issue 13). Pure apart from the registry lookup: no store, no network.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from datetime import datetime
from typing import Any

from adapters import registry
from core.adapter import RemoteState, RenderContext, Rendered
from core.mapping.tables import Mapping
from core.model import PoEvent, PurchaseOrder, utc_now
from gateway.identity import REMOTE


def parse_for(
    source: str,
    body: bytes,
    mapping: Mapping,
    headers: AbcMapping[str, str] | None = None,
    received_at: datetime | None = None,
) -> list[PoEvent]:
    """``source``'s payload as canonical events; an event whose payload carries no time is
    stamped ``received_at`` (now by default), as the inbound endpoint stamps it."""
    events = registry.get(source).parse(body, mapping, dict(headers or {}))
    stamp = received_at or utc_now()
    for event in events:
        if event.occurred_at is None:
            event.occurred_at = stamp
    return events


def remote_of(state: PurchaseOrder | None, target: str, unsure: bool = False) -> RemoteState:
    """What the hub knows of the PO inside ``target``: the id it learnt there and what the
    target last said (status, object version), from the PO's stored state."""
    if state is None:
        return RemoteState(unsure=unsure)
    known: Any = state.extensions.get(REMOTE, {}).get(target)
    known = known if isinstance(known, dict) else {}
    return RemoteState(
        remote_id=state.remote_ids.get(target),
        status=known.get("status"),
        version=known.get("version"),
        unsure=unsure,
    )


def render_for(
    target: str,
    event: PoEvent,
    mapping: Mapping,
    state: PurchaseOrder | None = None,
    remote: RemoteState | None = None,
) -> Rendered:
    """The plan of calls that brings ``target`` to ``event``, with ``target``'s mapping, the
    PO's stored state and what the target knows (``remote_of(state)`` unless given)."""
    remote = remote_of(state, target) if remote is None else remote
    return registry.get(target).render(event, RenderContext(mapping, state, remote))
