"""What the store keeps: messages, their deliveries (one per target) and every attempt.

Plain pydantic models so both backends serialise them the same way (``model_dump_json``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, computed_field

from adapters._http import Exchange


def now() -> datetime:
    return datetime.now(UTC)


class State(StrEnum):
    """Message and delivery states of the contract."""

    RECEIVED = "received"
    QUEUED = "queued"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    PARKED = "parked"
    DEAD = "dead"
    REJECTED = "rejected"


FINAL = frozenset({State.DELIVERED, State.DEAD})
"""A delivery in these states no longer holds up later events of its PO for its target."""

FINISHABLE = frozenset({State.DELIVERED, State.DEAD, State.RETRYING, State.PARKED, State.QUEUED})
"""What a worker may ``finish`` a claimed delivery as, on every backend. Finishing a delivery
that is already final changes nothing (final states stay final; only a replay reopens one),
and finishing an unknown delivery is an error (``KeyError``)."""


class Attempt(BaseModel):
    """One try at a delivery: when, to whom, what came back, with which mapping."""

    at: datetime
    target: str
    status: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    outcome: str
    """delivered | retry | parked | dead"""
    mapping_version: str | None = None
    step: int = 0
    exchanges: list[Exchange] = Field(default_factory=list)
    """Each HTTP call sent in this attempt and its reply, as on the wire (secret headers
    redacted, bodies capped). Stores keep them apart: only ``get_message`` loads them."""


EXCHANGES: TypeAdapter[list[Exchange]] = TypeAdapter(list[Exchange])


def attempt_parts(attempt: Attempt) -> tuple[str, str]:
    """An attempt as both stores keep it: its light JSON (read by claims, lists, timelines)
    and its exchanges' JSON, ``""`` when it sent nothing."""
    light = attempt.model_dump_json(exclude={"exchanges"})
    return light, EXCHANGES.dump_json(attempt.exchanges).decode() if attempt.exchanges else ""


def load_exchanges(raw: str | bytes | None) -> list[Exchange]:
    return EXCHANGES.validate_json(raw) if raw else []


class Delivery(BaseModel):
    """One message to one target. ``seq`` orders a PO's deliveries per target."""

    id: str
    message_id: str
    target: str
    po_number: str
    seq: int
    state: State = State.QUEUED
    next_at: datetime = Field(default_factory=now)
    lease_until: datetime | None = None
    reason: str | None = None
    """Why it is parked or dead (``mapping missing: ...``, ``unknown PO``)."""
    park_kind: str | None = None
    """``mapping`` | ``unknown_po``: what has to happen for it to go out."""
    step: int = 0
    """Plan step to resume at (AlphaAlpha)."""
    pinned_mapping: str | None = None
    """The mapping content version a replay asked for (``mapping: first``): the worker
    renders with that stored version instead of the live one. None: the live mapping."""
    attempts: list[Attempt] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)


class Message(BaseModel):
    """One inbound event as received, with its canonical form."""

    id: str
    system: str
    po_number: str | None = None
    received_at: datetime = Field(default_factory=now)
    dedup_key: str | None = None
    status: State = State.RECEIVED
    body: str = ""
    """The raw body as text (UTF-8, replaced if not)."""
    headers: dict[str, str] = Field(default_factory=dict)
    canonical: list[dict[str, Any]] = Field(default_factory=list)
    """The parsed ``PoEvent`` list as JSON."""
    error: str | None = None
    """Why it was rejected."""
    error_path: str | None = None
    note: str | None = None
    """Why an accepted message routes nowhere (``echo of delivery <id>``: the hub's own write
    read back from the system it went to)."""
    deliveries: list[Delivery] = Field(default_factory=list)


class MessageFilter(BaseModel):
    po_number: str | None = None
    system: str | None = None
    target: str | None = None
    status: State | None = None
    since: datetime | None = None
    until: datetime | None = None
    reason: str | None = None


class Page(BaseModel):
    items: list[Message]
    total: int
    offset: int
    limit: int
    body_sizes: dict[str, int] = Field(default_factory=dict)
    """Message id -> its body's size in bytes, for a ``light`` page (whose bodies are empty)."""


class TargetLoad(BaseModel):
    """What waits for one target (``Store.backlog``): the health page's backlog and the
    alerts' "backlog too old" both read it, so it is computed by the store without loading
    deliveries (an SQL aggregate; counters and sorted sets kept by the Redis scripts)."""

    queued: int = 0
    retrying: int = 0
    delivering: int = 0
    parked: int = 0
    """Parked for a cause (a mapping row, an unknown PO), not for a pause."""
    paused: int = 0
    """Parked because an operator paused the target (``gateway.pause``)."""
    oldest_at: datetime | None = None
    """When the message of the oldest queued, retrying or delivering delivery arrived."""
    next_retry_at: datetime | None = None
    """The soonest time a retrying delivery is due again."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def backlog(self) -> int:
        """Deliveries on their way: queued, retrying or being delivered."""
        return self.queued + self.retrying + self.delivering
