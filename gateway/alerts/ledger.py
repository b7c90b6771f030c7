"""The causes already announced, kept in the store (one checkpoint, compare-and-set).

Why in the store: every gateway and worker process evaluates causes; the one whose write
adds a cause to the ledger announces it, the others find it there and stay quiet, and a
restart does not announce open causes again. A cause leaves the ledger when it clears (and
is announced again if it comes back). A circuit is a process's own breaker: only the
process that recorded it clears it, so another process's closed breaker does not.
"""

from __future__ import annotations

from typing import Any

import orjson

from core.model import utc_now
from gateway.alerts.causes import Cause, Found, as_json
from gateway.store.base import Store

LEDGER = "alerts-open"
"""Checkpoint: JSON ``{cause key: {kind, target, summary, count, since, by}}``."""
OPEN_MAX = 1000
"""Causes kept open at most: past it new ones wait for room (the ledger stays small)."""


async def read(store: Store) -> dict[str, dict[str, Any]]:
    raw = await store.get_checkpoint(LEDGER)
    found = orjson.loads(raw) if raw else {}
    return found if isinstance(found, dict) else {}


def _cleared(entry: dict[str, Any], key: str, found: Found, me: str) -> bool:
    if key in found.causes or entry.get("kind") not in found.complete:
        return False
    return entry.get("kind") != "circuit" or entry.get("by") == me


async def settle(store: Store, found: Found, me: str) -> tuple[list[Cause], list[str]]:
    """Write what ``found`` changes in the ledger; returns the causes new to it (ours to
    announce) and the keys that cleared."""
    while True:
        raw = await store.get_checkpoint(LEDGER)
        current: dict[str, Any] = orjson.loads(raw) if raw else {}
        cleared = [k for k, e in current.items() if _cleared(e, k, found, me)]
        kept = {k: e for k, e in current.items() if k not in cleared}
        fresh = [c for k, c in found.causes.items() if k not in kept]
        fresh = fresh[: max(0, OPEN_MAX - len(kept))]
        if not fresh and not cleared:
            return [], []
        since = utc_now().isoformat()
        updated = {**kept, **{c.key: {**as_json(c), "since": since, "by": me} for c in fresh}}
        value = orjson.dumps(updated, option=orjson.OPT_SORT_KEYS).decode()
        if await store.swap_checkpoint(LEDGER, raw, value):
            return fresh, cleared
