"""Replays with the mapping version a delivery first used, instead of the live one.

A replay can be *pinned*: the delivery's first recorded ``mapping_version`` (a content
fingerprint) is stored on the delivery (``Delivery.pinned_mapping``, set by
``Store.replay``), and the worker renders that delivery with the stored mapping version of
that fingerprint. A replay with the live mapping clears the pin.
"""

from __future__ import annotations

from typing import Literal

from adapters import registry
from core.mapping.schema import MappingFile
from core.mapping.tables import Mapping
from gateway.mappings import versions
from gateway.store.base import Store
from gateway.store.records import Delivery

MappingChoice = Literal["live", "first"]


def first_version(delivery: Delivery) -> str | None:
    return next((a.mapping_version for a in delivery.attempts if a.mapping_version), None)


def pin_for(delivery: Delivery, choice: MappingChoice) -> str | None:
    """What a replay of ``delivery`` pins: its first mapping version, or None (live)."""
    return first_version(delivery) if choice == "first" else None


async def mapping_of(store: Store, system: str, content_version: str) -> Mapping | None:
    """The stored mapping version of ``system`` with that fingerprint, newest first."""
    for record in await versions.versions(store, system):
        if record.get("content_version") == content_version:
            full = await versions.get_version(store, system, int(record["version"]))
            if full is not None:
                file = MappingFile.model_validate(full["mapping"])
                return Mapping(file, spec=registry.get(system).spec)
    return None
