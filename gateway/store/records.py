"""What the store keeps: messages, their deliveries (one per target) and every attempt.

Plain pydantic models so both backends serialise them the same way (``model_dump_json``).
"""

from __future__ import annotations

import uuid
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


LEAST_FINISHED_FIRST = (State.DEAD, State.PARKED, State.RETRYING, State.DELIVERING, State.QUEUED)
"""A message's state is that of its least finished delivery, in this order (``aggregate``);
with none of these, it is delivered. Which move goes from which state to which:
``gateway.store.rules``."""


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
    manual_by: str | None = None
    """Who asked for this attempt by a manual replay (``name (role)`` of the API key, never
    the key); None: the worker's own first try or an automatic retry."""
    unsure: bool = False
    """This attempt began not knowing whether an earlier sending took effect (a reply lost,
    a worker stopped mid-call): the doubt stays for every later attempt of the round, even
    when this one ended for another reason (issue 12: ``gateway.delivery.worker.lost_reply``)."""
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
    replayed_by: str | None = None
    """Who replayed it by hand (``name (role)``) until its next attempt, which carries the
    marker as ``Attempt.manual_by``; cleared once that attempt is recorded."""
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
    """The exact PO number (a PO's own timeline)."""
    po_prefix: str | None = None
    """PO numbers starting with this, in any case (the operator's search box)."""
    message_id: str | None = None
    """Message ids starting with this, in any case."""
    message_state: State | None = None
    """The message's own state, as ``aggregate`` gives it and lists show it (search only;
    ``status`` is a delivery's state)."""
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
    """Parked because an operator paused the target (``gateway.delivery.pause``)."""
    oldest_at: datetime | None = None
    """When the message of the oldest queued, retrying or delivering delivery arrived."""
    next_retry_at: datetime | None = None
    """The soonest time a retrying delivery is due again."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def backlog(self) -> int:
        """Deliveries on their way: queued, retrying or being delivered."""
        return self.queued + self.retrying + self.delivering


class AuditEntry(BaseModel):
    """One manual action: who (the API key's name and role, never the key), when, what it
    asked for and what came of it. Kept by the store so every process's actions land in
    one log, in the order they happened."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:16])
    at: datetime = Field(default_factory=now)
    actor: str
    role: str
    action: str
    """``replay`` (one message), ``bulk_replay``, or ``METHOD /path`` for any other change
    made through the API (mapping saves and rollbacks, for example)."""
    subject: str = ""
    """What it acted on, in words: a message id, a filter, a path."""
    outcome: str = ""
    """What came of it: ``replayed 3 deliveries``, ``HTTP 409: ...``."""
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditPage(BaseModel):
    """A page of the audit log, newest first."""

    items: list[AuditEntry]
    total: int
    offset: int
    limit: int


class PoListItem(BaseModel):
    """One PO of the PO list: its number, how many messages it had and the latest."""

    po_number: str
    messages: int
    last_received_at: datetime
    status: str | None = None
    """The canonical status the hub holds, if it holds the PO's state."""


class PoList(BaseModel):
    items: list[PoListItem]
    total: int
    offset: int
    limit: int
