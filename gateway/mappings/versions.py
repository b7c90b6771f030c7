"""Versioned mappings kept in the store, followed by every process.

Layout (store checkpoints, JSON strings, on both backends):

- ``mapping:{system}:head`` -> ``{"version": n, "content_version": "..."}``
- ``mapping:{system}:v{n}`` -> ``{"version", "content_version", "author", "time", "comment",
  "mapping"}`` (the normalised mapping document)

Version 1 of a system is seeded from the mapping in force (its YAML file) the first time the
store has no head for it.

Race-free enough: a save re-reads the head, writes ``v{n+1}`` first and the head last, so a
reader following the head never sees a version that is not fully written. Saves in one
process are serialised by a per-system lock. Two admins saving at the same instant through
*different* gateway processes both read head ``n`` and both write ``v{n+1}``: the last
write wins, both replies say ``n+1`` and the earlier save is lost from history (the mapping
in force is still a complete, valid one). Admin saves are rare and human-paced, so this is
accepted instead of a compare-and-set the store contract does not offer.

``sync`` makes this process follow the head: it applies a head whose content differs from
what this process last applied from the store (so a mapping file edited on disk and picked
up by the file watcher is not reverted until the next store save).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from pydantic import ValidationError

from adapters import registry
from core.errors import ConfigProblem, json_path
from core.mapping.loader import check_data, mapping_from_data
from core.mapping.schema import MappingFile
from core.mapping.tables import Mapping
from gateway.store.base import Store

if TYPE_CHECKING:  # the Hub builds on this module: only its type is needed here
    from gateway.hub import Hub

log = structlog.get_logger("pohub.mappings")
Record = dict[str, Any]


class MappingInvalid(ValueError):
    """A mapping refused by the schema or the adapter's spec; ``problems`` name JSON paths."""

    def __init__(self, system: str, problems: list[ConfigProblem]) -> None:
        self.system = system
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))

    def errors(self) -> list[dict[str, str]]:
        return [{"path": p.path, "message": p.message, "rule": p.rule or "schema"}
                for p in self.problems]  # fmt: skip


def _head_key(system: str) -> str:
    return f"mapping:{system}:head"


def _version_key(system: str, n: int) -> str:
    return f"mapping:{system}:v{n}"


async def _read(store: Store, name: str) -> Record | None:
    raw = await store.get_checkpoint(name)
    return None if raw is None else dict(orjson.loads(raw))


async def _write(store: Store, name: str, doc: Record) -> None:
    await store.set_checkpoint(name, orjson.dumps(doc).decode())


def _lock(hub: Hub, system: str) -> asyncio.Lock:
    locks: dict[str, asyncio.Lock] = vars(hub).setdefault("_mapping_locks", {})
    return locks.setdefault(system, asyncio.Lock())


# reading --------------------------------------------------------------------------------
async def head(store: Store, system: str) -> Record | None:
    return await _read(store, _head_key(system))


async def get_version(store: Store, system: str, n: int) -> Record | None:
    return await _read(store, _version_key(system, n))


async def current(store: Store, system: str) -> Record | None:
    """The version in force per the store, or None before the system is seeded."""
    top = await head(store, system)
    return None if top is None else await get_version(store, system, int(top["version"]))


async def versions(store: Store, system: str) -> list[Record]:
    """Every version without its mapping document, newest first."""
    top = await head(store, system)
    out = []
    for n in range(int(top["version"]) if top else 0, 0, -1):
        record = await get_version(store, system, n)
        if record is not None:
            out.append({k: v for k, v in record.items() if k != "mapping"})
    return out


async def ensure(hub: Hub, system: str) -> Record:
    """The current version, seeding version 1 from the mapping in force if there is none."""
    found = await current(hub.store, system)
    if found is not None:
        return found
    async with _lock(hub, system):
        found = await current(hub.store, system)
        if found is not None:
            return found
        mapping = hub.mappings[system]
        record = _record(1, mapping, "seed", f"seeded from {system}.yaml")
        # another process may seed at the same time: version 1 is created once, by one
        if not await hub.store.swap_checkpoint(
            _version_key(system, 1), None, orjson.dumps(record).decode()
        ):
            theirs = await get_version(hub.store, system, 1)
            return theirs if theirs is not None else record
        head_doc = {"version": 1, "content_version": record["content_version"]}
        await hub.store.swap_checkpoint(_head_key(system), None, orjson.dumps(head_doc).decode())
        _seen(hub)[system] = mapping.version
        return record


# validating and saving ------------------------------------------------------------------
VALIDATE_TIMEOUT_S = 10.0
"""Wall-clock bound of one validation off the event loop (a legal draft takes well under 1 s)."""


class ValidationTimeout(RuntimeError):
    """Validation ran past ``VALIDATE_TIMEOUT_S`` (its thread is left to finish on its own)."""


def validate(system: str, mapping_dict: Any) -> Mapping:
    """The mapping as ``core.mapping.loader`` would load it from a file, or MappingInvalid.

    The same rule as a file: first its shape (``check_data``: nodes, depth, entries per
    object or list, text length; the loader's limits), then the schema and the adapter's
    spec, on the data as given (no YAML round trip: that cost seconds per 10,000 rows).
    CPU-bound for big tables: callers on the event loop use ``validate_off_loop``.
    """
    if not isinstance(mapping_dict, dict):
        problem = ConfigProblem(system, None, "$", "a mapping must be an object")
        raise MappingInvalid(system, [problem])
    shape = check_data(mapping_dict, system)
    if shape is not None:
        raise MappingInvalid(system, [shape])
    mapping, problems = mapping_from_data(mapping_dict, system, registry.get(system).spec, system)
    if mapping is None:
        raise MappingInvalid(system, problems)
    return mapping


async def validate_off_loop(
    system: str, mapping_dict: Any, timeout_s: float = VALIDATE_TIMEOUT_S
) -> Mapping:
    """``validate`` in a thread, so a 100,000-row upload does not stall every request;
    ``ValidationTimeout`` past ``timeout_s``."""
    work = asyncio.ensure_future(asyncio.to_thread(validate, system, mapping_dict))
    try:
        return await asyncio.wait_for(asyncio.shield(work), timeout_s)
    except TimeoutError:
        raise ValidationTimeout(
            f"validating the mapping took longer than {timeout_s:g} s"
        ) from None


def _record(n: int, mapping: Mapping, author: str, comment: str | None) -> Record:
    return {
        "version": n,
        "content_version": mapping.version,
        "author": author,
        "time": datetime.now(UTC).isoformat(),
        "comment": comment or "",
        "mapping": mapping.file.model_dump(mode="json"),
    }


async def _commit(store: Store, system: str, record: Record) -> Record:
    """Store ``record`` as the next version of ``system`` and move the head to it.

    Several processes may save at once: a version number is claimed by creating its key
    (compare-and-set against "absent"), so two saves never write the same number and none
    is lost; a save that finds its number taken takes the next one. The head only moves
    forward. Returns the record as stored (its number may be higher than asked).
    """
    for _ in range(1000):
        head_raw = await store.get_checkpoint(_head_key(system))
        top = int(orjson.loads(head_raw)["version"]) if head_raw else 0
        n = max(top + 1, int(record["version"]))
        record = {**record, "version": n}
        if await store.swap_checkpoint(
            _version_key(system, n), None, orjson.dumps(record).decode()
        ):
            break
        record["version"] = n + 1  # taken by another save: try the next number
    else:
        raise RuntimeError(f"could not claim a version number for {system}")
    new_head = orjson.dumps({"version": n, "content_version": record["content_version"]}).decode()
    while True:
        if await store.swap_checkpoint(_head_key(system), head_raw, new_head):
            return record
        head_raw = await store.get_checkpoint(_head_key(system))
        if head_raw and int(orjson.loads(head_raw)["version"]) >= n:
            return record  # a later save already moved the head past ours


async def apply_mapping(hub: Hub, system: str, mapping: Mapping) -> int:
    """Put ``mapping`` in force and re-queue every delivery parked for a missing mapping."""
    hub.mappings.replace(system, mapping)
    requeued = await hub.store.unpark(target=system, park_kind="mapping")
    log.info("mapping.applied", system=system, version=mapping.version, requeued=requeued)
    return requeued


async def save(
    hub: Hub, system: str, mapping_dict: Any, author: str, comment: str | None = None,
    *, skip_unchanged: bool = False,
) -> tuple[Record, int]:  # fmt: skip
    """Validate, store as the next version, put in force here; returns (record, requeued)."""
    mapping = await validate_off_loop(system, mapping_dict)
    await ensure(hub, system)
    async with _lock(hub, system):
        top = await head(hub.store, system)
        n = int(top["version"]) if top else 0
        if skip_unchanged and top and top["content_version"] == mapping.version:
            record = await get_version(hub.store, system, n)
            if record is not None:
                return record, 0
        record = await _commit(hub.store, system, _record(n + 1, mapping, author, comment))
        _seen(hub)[system] = mapping.version
    requeued = await apply_mapping(hub, system, mapping)
    return record, requeued


async def rollback(
    hub: Hub, system: str, n: int, author: str, comment: str | None = None
) -> tuple[Record, int]:
    """Save version ``n``'s mapping again as a new version; KeyError when there is no ``n``."""
    old = await get_version(hub.store, system, n)
    if old is None:
        raise KeyError(f"{system} has no mapping version {n}")
    return await save(hub, system, old["mapping"], author, comment or f"rollback to v{n}")


# diff -------------------------------------------------------------------------------------
_ABSENT: Any = None


def diff(a: Any, b: Any, path: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """Leaf differences ``{path, from, to}`` (``$.crosswalks.vendor.Sachin123``); absent=None."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[dict[str, Any]] = []
        for key in [*a, *(k for k in b if k not in a)]:
            out += diff(a.get(key, _ABSENT), b.get(key, _ABSENT), (*path, str(key)))
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i in range(max(len(a), len(b))):
            out += diff(
                a[i] if i < len(a) else _ABSENT, b[i] if i < len(b) else _ABSENT, (*path, i)
            )
        return out
    if a == b and type(a) is type(b):
        return []
    return [{"path": json_path(path), "from": a, "to": b}]


# following the store ---------------------------------------------------------------------
def _seen(hub: Hub) -> dict[str, str]:
    """system -> content version this process last applied from the store (kept on the hub)."""
    seen: dict[str, str] = vars(hub).setdefault("_mapping_seen", {})
    return seen


async def sync(hub: Hub) -> list[str]:
    """Put each system's store head in force here when it changed; returns the systems."""
    changed = []
    seen = _seen(hub)
    for system in list(hub.mappings):
        top = await head(hub.store, system)
        if top is None:
            await ensure(hub, system)
            continue
        wanted = str(top["content_version"])
        if seen.get(system, hub.mappings[system].version) == wanted:
            seen[system] = wanted
            continue
        record = await get_version(hub.store, system, int(top["version"]))
        if record is None:  # head written before its version: next round
            continue
        try:
            mapping = Mapping(MappingFile.model_validate(record["mapping"]),
                              spec=registry.get(system).spec)  # fmt: skip
        except (ValidationError, KeyError) as exc:
            log.warning("mapping.sync_refused", system=system, error=str(exc))
            seen[system] = wanted
            continue
        seen[system] = wanted
        if mapping.version != hub.mappings[system].version:
            await apply_mapping(hub, system, mapping)
            changed.append(system)
    return changed


async def watch_store(hub: Hub, interval_s: float = 2.0) -> None:
    """Follow the store's heads forever (gateway and ``pohub worker`` processes)."""
    while True:
        try:
            await sync(hub)
        except Exception as exc:  # the store is down: keep the mappings in force, try again
            log.warning("mapping.sync_failed", error=str(exc))
        await asyncio.sleep(interval_s)
