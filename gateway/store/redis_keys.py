"""Key names of the Redis store: N partitions, each in one hash slot.

A PO belongs to partition ``crc32(po) mod N`` (stable across processes and machines, unlike
Python's ``hash``); every key of a partition starts with ``P:{p<k>}:`` so Redis Cluster puts
all of it in one slot and each script runs on one primary. A message without a PO goes to the
partition of its dedup key (or of its id). Delivery ids carry their partition (``<hex>-p<k>``),
message ids do not (the caller makes them), so finding a message by id alone asks every
partition (N cheap ``EXISTS``). Layout table: ``docs/redis.md``.
"""

from __future__ import annotations

import uuid
import zlib
from urllib.parse import quote

from gateway.store.records import State

MAX_PARTITIONS = 1024


def enc(part: str) -> str:
    """A key component with ``{}:%`` and friends escaped, so keys never collide or mis-tag."""
    return quote(part, safe="")


def partition_of(text: str, n: int) -> int:
    """The partition of a PO number (or dedup key, or message id): crc32, not ``hash()``."""
    return zlib.crc32(text.encode()) % n if n > 1 else 0


def new_delivery_id(k: int) -> str:
    return f"{uuid.uuid4().hex}-p{k}"


def partition_of_delivery(delivery_id: str, n: int) -> int | None:
    """The partition written into a delivery id, or None when the id is not one of ours."""
    _, sep, tail = delivery_id.rpartition("-p")
    if not sep or not tail.isdigit():
        return None
    k = int(tail)
    return k if k < n else None


class Part:
    """The keys of partition ``k`` under ``prefix`` (``base`` is ``ARGV[1]`` of every script)."""

    __slots__ = ("base", "dedup", "due", "k", "lease", "received", "rejected")

    def __init__(self, prefix: str, k: int) -> None:
        self.k = k
        self.base = f"{prefix}:{{p{k}}}"
        self.due = f"{self.base}:due"
        self.lease = f"{self.base}:lease"
        self.dedup = f"{self.base}:dedup"
        self.received = f"{self.base}:idx:received"
        self.rejected = f"{self.base}:idx:rejected"

    def msg(self, mid: str) -> str:
        return f"{self.base}:m:{mid}"

    def delivery(self, did: str) -> str:
        return f"{self.base}:d:{did}"

    def exchanges(self, did: str) -> str:
        return f"{self.base}:x:{did}"

    def line(self, po: str, target: str) -> str:
        return f"{self.base}:line:{enc(po)}:{enc(target)}"

    def seq(self, po: str) -> str:
        return f"{self.base}:seq:{enc(po)}"

    def po(self, po: str) -> str:
        return f"{self.base}:po:{enc(po)}"

    def idx_po(self, po: str) -> str:
        return f"{self.base}:idx:po:{enc(po)}"

    def idx_sys(self, system: str) -> str:
        return f"{self.base}:idx:sys:{enc(system)}"

    def state(self, state: State) -> str:
        return f"{self.base}:idx:state:{state.value}"


class GlobalKeys:
    """The few keys outside the partitions: each is one key (one slot), never in a script
    with a partition's keys."""

    def __init__(self, prefix: str) -> None:
        self.meta = f"{prefix}:meta"
        """hash: ``partitions`` (fixed when the store is first opened)"""
        self.cp = f"{prefix}:cp"
        self.audit = f"{prefix}:audit"
        """list: the audit log, newest first (``LPUSH`` of JSON entries)"""
        self.legacy = f"{prefix}:idx:received"
        """present only in a Redis written by the single-partition layout before issue 16"""

    def xw(self, system: str, prefix: str) -> str:
        return f"{prefix}:xw:{enc(system)}"
