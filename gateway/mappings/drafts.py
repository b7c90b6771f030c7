"""Drafts: a mapping edited and saved without going live, until someone publishes it.

Issue 15: every save of the editor went live at once and re-queued parked deliveries, so a
typo reached partners before anyone saw what it did. A draft is checked like a live mapping
(schema, the adapter's spec, the system's allowed values) but only ``publish`` puts it in
force, after a review has shown its impact.

One draft per system, kept in the store so every gateway process and every admin sees the
same one: ``mapping:{system}:draft`` -> ``{"system", "base_version", "revision", "author",
"time", "comment", "mapping"}``. ``revision`` counts saves of the draft: a save or publish
that names the revision it was made from is refused (409) when another admin saved in
between, so nobody publishes what they did not review. ``base_version`` is the live version
the draft started from: publishing after live moved on is refused until the draft is saved
again against the new live version (the review is then against what is really live).
A discarded or published draft is stored as ``{}`` (the store has no delete for checkpoints).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from gateway.mappings import versions as mv

if TYPE_CHECKING:
    from gateway.hub import Hub
    from gateway.store.base import Store

Record = dict[str, Any]


class DraftConflict(RuntimeError):
    """The draft or the live mapping changed since the caller last saw them (HTTP 409)."""


def _key(system: str) -> str:
    return f"mapping:{system}:draft"


async def _raw(store: Store, system: str) -> tuple[str | None, Record | None]:
    raw = await store.get_checkpoint(_key(system))
    doc = orjson.loads(raw) if raw else None
    return raw, (dict(doc) if doc else None)


async def get(store: Store, system: str) -> Record | None:
    """The system's draft, or None when there is none."""
    return (await _raw(store, system))[1]


def meta(draft: Record) -> Record:
    """The draft without its mapping document (for lists and replies)."""
    return {k: v for k, v in draft.items() if k != "mapping"}


async def save(
    hub: Hub, system: str, mapping_dict: Any, author: str, comment: str = "",
    *, revision: int | None = None, base_version: int | None = None,
) -> Record:  # fmt: skip
    """Check ``mapping_dict`` (``MappingInvalid`` names path and rule) and store it as the
    draft. ``revision``: the draft revision the edit started from (None: do not check);
    ``base_version``: the live version it started from (None: the live head now)."""
    mapping = await mv.validate_off_loop(system, mapping_dict)
    live = await mv.ensure(hub, system)
    raw, old = await _raw(hub.store, system)
    current = int(old["revision"]) if old else 0
    if revision is not None and revision != current:
        raise DraftConflict(
            f"the {system} draft is at revision {current}, not {revision}: "
            f"{old['author'] if old else 'someone'} saved it meanwhile; reload it"
        )
    draft = {
        "system": system,
        "base_version": int(base_version if base_version is not None else live["version"]),
        "revision": current + 1,
        "author": author,
        "time": datetime.now(UTC).isoformat(),
        "comment": comment,
        "content_version": mapping.version,
        "mapping": mapping.file.model_dump(mode="json"),
    }
    if not await hub.store.swap_checkpoint(_key(system), raw, orjson.dumps(draft).decode()):
        raise DraftConflict(f"the {system} draft was saved by someone else meanwhile; reload it")
    return draft


async def discard(store: Store, system: str, revision: int | None = None) -> bool:
    """Drop the draft; False when there was none."""
    raw, old = await _raw(store, system)
    if old is None:
        return False
    if revision is not None and int(old["revision"]) != revision:
        raise DraftConflict(f"the {system} draft is at revision {old['revision']}, not {revision}")
    if not await store.swap_checkpoint(_key(system), raw, "{}"):
        raise DraftConflict(f"the {system} draft changed meanwhile; reload it")
    return True


async def from_version(hub: Hub, system: str, n: int, author: str) -> Record:
    """A draft holding version ``n``'s mapping: a rollback goes through the same review and
    publish as any edit. KeyError when there is no version ``n``."""
    old = await mv.get_version(hub.store, system, n)
    if old is None:
        raise KeyError(f"{system} has no mapping version {n}")
    return await save(hub, system, old["mapping"], author, f"rollback to v{n}")


async def publish(
    hub: Hub, system: str, author: str, revision: int, comment: str | None = None
) -> tuple[Record, int]:
    """Make the draft the next live version and re-queue the deliveries parked for a
    mapping; returns (version record, re-queued). ``revision`` must be the reviewed one."""
    raw, draft = await _raw(hub.store, system)
    if draft is None:
        raise KeyError(f"{system} has no draft to publish")
    if int(draft["revision"]) != revision:
        raise DraftConflict(
            f"the {system} draft is at revision {draft['revision']}, you reviewed revision "
            f"{revision}: review it again"
        )
    live = await mv.ensure(hub, system)
    if int(live["version"]) != int(draft["base_version"]):
        raise DraftConflict(
            f"live {system} moved to version {live['version']} since this draft started from "
            f"version {draft['base_version']}: save the draft again to review it against "
            f"version {live['version']}"
        )
    if not await hub.store.swap_checkpoint(_key(system), raw, "{}"):
        raise DraftConflict(f"the {system} draft changed meanwhile; review it again")
    try:
        return await mv.save(hub, system, draft["mapping"], author,
                             comment if comment else draft.get("comment") or "")  # fmt: skip
    except Exception:
        if raw is not None:
            await hub.store.swap_checkpoint(_key(system), "{}", raw)  # keep the draft
        raise
