"""One version identifier everywhere: the integer a mapping version has on the Mappings page.

An attempt records the content fingerprint of the mapping it rendered with (12 hex
characters, ``Mapping.version``); operators know versions by number. Several numbers can
share one fingerprint (a rollback saves an old content again): the attempt gets the latest
number saved at or before it. A fingerprint no saved version has (a mapping file edited on
disk and picked up by the file watcher) gets no number, and the page says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.mappings import versions as mv
from gateway.store.base import Store

Saved = list[tuple[int, str, datetime]]
"""(number, fingerprint, saved at), oldest first."""


async def saved(hub: Any, system: str) -> Saved:
    """Every saved version of ``system``, cached on the hub until its head moves."""
    top = await mv.head(hub.store, system)
    if top is None:
        return []
    cache: dict[str, tuple[int, Saved]] = vars(hub).setdefault("_version_numbers", {})
    head_n = int(top["version"])
    if system in cache and cache[system][0] == head_n:
        return cache[system][1]
    found = await _read(hub.store, system)
    cache[system] = (head_n, found)
    return found


async def _read(store: Store, system: str) -> Saved:
    out: Saved = []
    for record in await mv.versions(store, system):
        at = datetime.fromisoformat(str(record.get("time") or "1970-01-01T00:00:00+00:00"))
        out.append((int(record["version"]), str(record["content_version"]), at))
    return sorted(out)


def number_for(versions: Saved, fingerprint: str | None, at: datetime) -> int | None:
    """The saved version an attempt at ``at`` used: the latest with that fingerprint saved at
    or before ``at`` (else the earliest with it); None when no saved version has it."""
    if not fingerprint:
        return None
    when = at if at.tzinfo else at.replace(tzinfo=UTC)
    same = [(n, t) for n, fp, t in versions if fp == fingerprint]
    if not same:
        return None
    before = [n for n, t in same if t <= when]
    return before[-1] if before else same[0][0]


async def annotate(hub: Any, message_view: dict[str, Any]) -> None:
    """Put ``mapping_version_number`` on every attempt of a message's detail."""
    for delivery in message_view["deliveries"]:
        versions = await saved(hub, delivery["target"])
        for attempt in delivery["attempts"]:
            at = datetime.fromisoformat(attempt["at"])
            attempt["mapping_version_number"] = number_for(
                versions, attempt.get("mapping_version"), at
            )
