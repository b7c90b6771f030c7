"""Mapping files are watched: a saved file becomes a new mapping version in the store (so
every process follows it), goes live without a restart and un-parks what it unblocks.
Broken saves are logged and ignored; the mapping in force stays.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from adapters import registry
from core.mapping.loader import parse_mapping
from gateway.mappings import versions
from gateway.observe import audit

if TYPE_CHECKING:  # the Hub builds on this module: only its type is needed here
    from gateway.hub import Hub

log = structlog.get_logger("pohub.mappings")


async def watch(hub: Hub, directory: Path, interval_s: float = 1.0) -> None:
    """Poll the mapping files' mtimes; reload a changed file."""
    seen = _mtimes(directory)
    while True:
        await asyncio.sleep(interval_s)
        now = _mtimes(directory)
        for file, mtime in now.items():
            if seen.get(file) != mtime:
                try:
                    await _reload(hub, file)
                except Exception:  # a broken file must never stop the watcher
                    log.exception("mapping.reload_failed", file=str(file))
        seen = now


async def _reload(hub: Hub, file: Path) -> None:
    system = file.stem
    if system not in registry.system_ids():
        return
    # Parsing and validation are CPU work on a file anyone with disk access wrote: off the loop.
    text = await asyncio.to_thread(file.read_text)
    mapping, problems = await asyncio.to_thread(
        parse_mapping, text, str(file), registry.get(system).spec, system
    )
    if mapping is None:
        log.warning("mapping.reload_refused", file=str(file), problems=[str(p) for p in problems])
        return
    if mapping.version != hub.mappings[system].version:
        data = mapping.file.model_dump(mode="json")
        record, requeued = await versions.save(
            hub, system, data, "file", f"{file.name} changed on disk", skip_unchanged=True
        )
        await audit.record(hub.store, audit.MAPPING_FILE, "mapping file changed", str(file.name),
                           f"v{record['version']} in force, {requeued} requeued",
                           {"system": system})  # fmt: skip


def _mtimes(directory: Path) -> dict[Path, float]:
    return {f: f.stat().st_mtime for f in directory.glob("*.yaml")}
