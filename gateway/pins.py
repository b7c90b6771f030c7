"""Replays with the mapping version a delivery first used, instead of the live one.

A replay can be *pinned*: the delivery's first recorded ``mapping_version`` (a content
fingerprint) is kept under the checkpoint ``pin:<delivery id>``, and the worker renders that
delivery with the stored mapping version of that fingerprint. A replay with the live
mapping clears the pin. Kept as checkpoints so both stores carry it without a schema change.
"""

from __future__ import annotations

from typing import Literal

from adapters import registry
from core.mapping.schema import MappingFile
from core.mapping.tables import Mapping
from gateway import mapping_versions
from gateway.store.base import Store
from gateway.store.records import Delivery

MappingChoice = Literal["live", "first"]


def _key(delivery_id: str) -> str:
    return f"pin:{delivery_id}"


def first_version(delivery: Delivery) -> str | None:
    return next((a.mapping_version for a in delivery.attempts if a.mapping_version), None)


async def choose(store: Store, delivery: Delivery, choice: MappingChoice) -> None:
    """Record which mapping the next sending of ``delivery`` renders with."""
    version = first_version(delivery) if choice == "first" else None
    await store.set_checkpoint(_key(delivery.id), version or "")


async def pinned(store: Store, delivery: Delivery) -> str | None:
    """The pinned content version, if any (only replays, which have attempts, can be pinned)."""
    if not delivery.attempts:
        return None
    return await store.get_checkpoint(_key(delivery.id)) or None


async def mapping_of(store: Store, system: str, content_version: str) -> Mapping | None:
    """The stored mapping version of ``system`` with that fingerprint, newest first."""
    for record in await mapping_versions.versions(store, system):
        if record.get("content_version") == content_version:
            full = await mapping_versions.get_version(store, system, int(record["version"]))
            if full is not None:
                file = MappingFile.model_validate(full["mapping"])
                return Mapping(file, spec=registry.get(system).spec)
    return None
