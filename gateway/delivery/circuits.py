"""Every process's circuit breakers, shared through the store for the health page.

A breaker lives in the worker that uses it, so a gateway started with ``--workers 0`` (or
any one process) knows only its own. Each process that runs workers publishes its breakers'
states every ``PUBLISH_S`` into one checkpoint (compare-and-set, entries keyed by process);
``/api/v1/targets`` shows, per target, the worst state of the fresh entries and its own.
An entry not refreshed for ``STALE_S`` (its process stopped) is ignored and dropped.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog

from core.model import utc_now
from gateway.delivery.targets import SEVERITY, Breaker, worst
from gateway.store.base import Store

log = structlog.get_logger("pohub.circuits")
CHECKPOINT = "circuits"
"""JSON ``{process: {"at": ISO time, "targets": {target: {circuit, failures_in_a_row}}}}``."""
PUBLISH_S = 5.0
STALE_S = 30.0


def process_name() -> str:
    """This process, as workers name themselves: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def local(hub: Any) -> dict[str, Breaker]:
    """The breakers of this process's workers, the worst per target."""
    return worst(t.breaker for w in hub.workers for t in w.targets.values())


def _fresh(entry: Any, now: datetime) -> bool:
    try:
        return now - datetime.fromisoformat(entry["at"]) < timedelta(seconds=STALE_S)
    except (KeyError, TypeError, ValueError):
        return False


async def publish(store: Store, process: str, breakers: dict[str, Breaker]) -> None:
    """Write this process's breakers; drop the entries of processes gone quiet."""
    now = utc_now()
    mine = {"at": now.isoformat(), "targets": {
        t: {"circuit": b.state, "failures_in_a_row": b.failures} for t, b in breakers.items()
    }}  # fmt: skip
    while True:
        raw = await store.get_checkpoint(CHECKPOINT)
        current = orjson.loads(raw) if raw else {}
        kept = {p: e for p, e in current.items() if p != process and _fresh(e, now)}
        value = orjson.dumps({**kept, process: mine}, option=orjson.OPT_SORT_KEYS).decode()
        if await store.swap_checkpoint(CHECKPOINT, raw, value):
            return


async def read(store: Store, but: str | None = None) -> dict[str, dict[str, Any]]:
    """Per target, the worst state any live process published (``but`` that one: a process
    knows its own breakers first hand)."""
    raw = await store.get_checkpoint(CHECKPOINT)
    now = utc_now()
    out: dict[str, dict[str, Any]] = {}
    for process, entry in (orjson.loads(raw) if raw else {}).items():
        if process == but or not _fresh(entry, now):
            continue
        for target, seen in entry.get("targets", {}).items():
            if target not in out or SEVERITY[seen["circuit"]] > SEVERITY[out[target]["circuit"]]:
                out[target] = seen
    return out


async def publish_loop(hub: Any, process: str | None = None) -> None:
    """Started by every process that runs workers (``serve``, ``pohub worker``)."""
    name = process or process_name()
    while True:
        try:
            await publish(hub.store, name, local(hub))
        except Exception as exc:  # the store is down: the next round tries again
            log.warning("circuits.publish_failed", error=str(exc))
        await asyncio.sleep(PUBLISH_S)
