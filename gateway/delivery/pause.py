"""An operator's pause of a target: its deliveries wait, none is lost, resume sends them.

Why it lives in the store: a pause must hold in every process that delivers (``pohub serve``
and any number of ``pohub worker`` against one Redis) and across restarts, so the set of
paused targets is one checkpoint (``PAUSED``), changed by compare-and-set so two operators
pausing two targets at once do not undo each other.

How a delivery waits: a worker that claims a delivery for a paused target parks it with
``park_kind="paused"`` and no attempt (nothing was sent, so nothing failed, nothing counts
towards its retries or its circuit). A parked delivery holds its PO's line at that target,
so the PO's later events wait behind it in order. ``resume`` clears the pause, then
re-queues what was parked for it; a worker that parked one just as the pause was lifted
(its view of the checkpoint is refreshed every ``REFRESH_S``) sees the checkpoint again
after parking and re-queues it itself, so no delivery is left parked by a lifted pause.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import structlog

from core.model import utc_now
from gateway.store.base import Store
from gateway.store.records import Attempt, Delivery, State

log = structlog.get_logger("pohub.pause")

PAUSED = "paused-targets"
"""Checkpoint: JSON ``{target: {"by": key name, "at": ISO time}}`` of the paused targets."""
PARK_KIND = "paused"
REASON = "target paused by an operator: waits until it is resumed"
REFRESH_S = 2.0
"""How stale a worker's view of the paused targets may be (other processes' pauses)."""


async def paused(store: Store) -> dict[str, dict[str, Any]]:
    """The paused targets, each with who paused it and when."""
    raw = await store.get_checkpoint(PAUSED)
    found = orjson.loads(raw) if raw else {}
    return found if isinstance(found, dict) else {}


async def _change(store: Store, target: str, entry: dict[str, Any] | None) -> bool:
    """Set (``entry``) or clear (``None``) one target's pause; True when that changed it."""
    while True:
        raw = await store.get_checkpoint(PAUSED)
        current = orjson.loads(raw) if raw else {}
        if (entry is None) == (target not in current):
            return False
        updated = dict(current)
        if entry is None:
            updated.pop(target)
        else:
            updated[target] = entry
        value = orjson.dumps(updated, option=orjson.OPT_SORT_KEYS).decode()
        if await store.swap_checkpoint(PAUSED, raw, value):
            return True


async def pause(store: Store, target: str, by: str) -> bool:
    """Pause ``target``; False when it already was."""
    changed = await _change(store, target, {"by": by, "at": utc_now().isoformat()})
    if changed:
        log.info("target.paused", target=target, by=by)
    return changed


async def resume(store: Store, target: str, by: str) -> int:
    """Lift the pause of ``target`` and re-queue what waited for it; returns how many."""
    changed = await _change(store, target, None)
    requeued = await store.unpark(target=target, park_kind=PARK_KIND)
    if changed or requeued:
        log.info("target.resumed", target=target, by=by, requeued=requeued)
    return requeued


class PausedTargets:
    """A worker's view of the paused targets, read from the store at most every
    ``REFRESH_S`` (the claim loop asks for every delivery; the store is asked rarely)."""

    def __init__(self, store: Store, refresh_s: float = REFRESH_S) -> None:
        self.store, self.refresh_s = store, refresh_s
        self._names: frozenset[str] = frozenset()
        self._read_at = float("-inf")

    def note(self, target: str, is_paused: bool) -> None:
        """This process changed a pause: know it at once (no wait for the refresh)."""
        self._names = self._names | {target} if is_paused else self._names - {target}

    async def holds(self, target: str) -> bool:
        if time.monotonic() - self._read_at >= self.refresh_s:
            try:
                self._names = frozenset(await paused(self.store))
                self._read_at = time.monotonic()
            except Exception as exc:  # the store is down: keep the last view
                log.warning("pause.refresh_failed", error=str(exc))
        return target in self._names

    async def hold(self, delivery: Delivery, attempt: Attempt | None = None) -> None:
        """Park a claimed delivery of a paused target (no attempt: nothing was sent, unless
        the worker keeps one to carry a doubt), then look at the checkpoint again: a resume
        that ran meanwhile re-queued before our park."""
        await self.store.finish(delivery.id, attempt, State.PARKED, reason=REASON,
                                park_kind=PARK_KIND, step=delivery.step)  # fmt: skip
        log.info("delivery.paused")
        if delivery.target not in await paused(self.store):
            self.note(delivery.target, False)
            await self.store.unpark(target=delivery.target, park_kind=PARK_KIND)
