"""What is wrong now, as causes with stable keys: the same trouble gives the same key on
every evaluation and in every process, so it is announced once (``ledger``).

The dead and parked causes are grouped like the admin page's "Dead & parked" view: by target
and reason. Reading them walks the dead and parked deliveries, at most ``SCAN_MAX`` of each
per evaluation; a walk cut short can add causes but never clears one (``Found.complete``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.delivery.pause import PARK_KIND as PAUSED
from gateway.delivery.targets import Breaker
from gateway.store.base import Store
from gateway.store.records import MessageFilter, State, TargetLoad

WAITING_FOR_PO = "waiting for a PO the hub has not seen, or for the target's own id of it"
"""The one cause of every "unknown PO" parking of a target (their reasons name each PO)."""
SCAN_MAX = 20_000
"""Dead or parked deliveries read per evaluation at most."""


@dataclass(frozen=True)
class Cause:
    key: str
    """``kind:target[:digest of the reason]``: the same trouble, the same key."""
    kind: str
    """dead | parked | circuit | backlog"""
    target: str
    summary: str
    """One line for a person: what is wrong and where."""
    count: int = 1
    """Deliveries concerned (dead, parked, waiting), where it means something."""


@dataclass
class Found:
    causes: dict[str, Cause] = field(default_factory=dict)
    complete: set[str] = field(default_factory=set)
    """Kinds whose whole picture was read: only their missing causes count as cleared."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


async def grouped(store: Store, kind: str, found: Found) -> None:
    """Dead or parked deliveries by (target, reason); a pause's parking is not trouble."""
    groups: dict[tuple[str, str], int] = {}
    seen = 0
    async for delivery in store.deliveries(MessageFilter(status=State(kind))):
        seen += 1
        if seen > SCAN_MAX:
            break
        if delivery.park_kind == PAUSED:
            continue
        reason = delivery.reason or "(no reason recorded)"
        if delivery.park_kind == "unknown_po":  # its reason names the PO: one cause per PO
            reason = WAITING_FOR_PO
        groups[delivery.target, reason] = groups.get((delivery.target, reason), 0) + 1
    else:
        found.complete.add(kind)
    for (target, reason), count in groups.items():
        key = f"{kind}:{target}:{_digest(reason)}"
        noun = "delivery" if count == 1 else "deliveries"
        found.causes[key] = Cause(key, kind, target, f"{count} {kind} {noun} to {target}: {reason}",
                                  count)  # fmt: skip


def circuits(breakers: dict[str, Breaker], found: Found) -> None:
    for target, breaker in breakers.items():
        if breaker.state == "open":
            key = f"circuit:{target}"
            text = (f"circuit to {target} opened after {breaker.failures} failures in a row; "
                    f"deliveries to it wait for {breaker.cool_off_s:.0f} s, then one probe")  # fmt: skip
            found.causes[key] = Cause(key, "circuit", target, text)
    found.complete.add("circuit")


def backlogs(
    loads: dict[str, TargetLoad], limit_s: float, found: Found, now: datetime | None = None
) -> None:
    at = now or datetime.now(UTC)
    for target, load in loads.items():
        if load.oldest_at is None:
            continue
        waited = (at - load.oldest_at).total_seconds()
        if waited > limit_s:
            key = f"backlog:{target}"
            text = (f"{load.backlog} deliveries wait for {target}; the oldest arrived "
                    f"{load.oldest_at.isoformat(timespec='seconds')} ({waited / 60:.0f} min ago, "
                    f"limit {limit_s / 60:.0f} min)")  # fmt: skip
            found.causes[key] = Cause(key, "backlog", target, text, load.backlog)
    found.complete.add("backlog")


def as_json(cause: Cause) -> dict[str, Any]:
    return {"key": cause.key, "kind": cause.kind, "target": cause.target,
            "summary": cause.summary, "count": cause.count}  # fmt: skip
