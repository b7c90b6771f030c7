"""The operations API's replies, by name.

Each is a ``TypedDict``: the handlers still build and return plain dicts (nothing about the
JSON on the wire changes), and the OpenAPI document (``/schema/openapi.json``) shows every
reply as a named component instead of an anonymous ``object``. Nested stored records
(``Attempt``, ``TargetLoad``, ``PurchaseOrder``...) are named by their pydantic models,
whose JSON form (``model_dump(mode="json")``) the handlers return.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

from core.model import PurchaseOrder
from gateway.store.records import PoListItem, State, TargetLoad


class Caller(TypedDict):
    """``GET /api/v1/whoami``: the API key's name and role (never the key)."""

    name: str
    role: str


# messages and PO timelines ----------------------------------------------------------------
class AttemptSummary(TypedDict):
    at: datetime
    outcome: str
    status: int | None
    error: str | None
    """Cut to ``TEXT_CAP`` characters."""
    mapping_version: str | None


class DeliverySummary(TypedDict):
    id: str
    target: str
    seq: int
    state: State
    reason: str | None
    park_kind: str | None
    updated_at: datetime
    attempt_count: int
    last_attempt: AttemptSummary | None


class MessageSummary(TypedDict):
    """A message as lists and timelines show it (never its body or exchanges)."""

    id: str
    system: str
    po_number: str | None
    received_at: datetime
    status: State
    error: str | None
    error_path: str | None
    note: str | None
    state: State
    """The message's own state as the lists show it (from its deliveries)."""
    body_size: int
    event_count: int
    kinds: list[str]
    deliveries: list[DeliverySummary]


class MessagePage(TypedDict):
    items: list[MessageSummary]
    total: int
    offset: int
    limit: int
    next: int | None
    """Offset of the following page; null on the last one."""


class DeliveryDetail(TypedDict):
    id: str
    message_id: str
    target: str
    po_number: str
    seq: int
    state: State
    next_at: datetime
    lease_until: datetime | None
    reason: str | None
    park_kind: str | None
    step: int
    pinned_mapping: str | None
    replayed_by: str | None
    created_at: datetime
    updated_at: datetime
    attempt_count: int
    attempts: list[dict[str, Any]]
    """The latest ``DETAIL_ATTEMPTS`` (each a stored ``Attempt`` plus its
    ``mapping_version_number``); the latest ``DETAIL_EXCHANGE_ATTEMPTS`` with their HTTP
    exchanges."""


class MessageDetail(TypedDict):
    """One message in full: body, headers, canonical events, every delivery's attempts."""

    id: str
    system: str
    po_number: str | None
    received_at: datetime
    dedup_key: str | None
    status: State
    body: str
    headers: dict[str, str]
    canonical: list[dict[str, Any]]
    error: str | None
    error_path: str | None
    note: str | None
    state: State
    deliveries: list[DeliveryDetail]


class PoPage(TypedDict):
    items: list[PoListItem]
    total: int
    offset: int
    limit: int


class PoTimeline(TypedDict):
    """The hub's canonical PO and its latest messages, oldest first."""

    po: PurchaseOrder | None
    timeline: list[MessageSummary]
    timeline_total: int


class Systems(TypedDict):
    sources: list[str]
    """Systems that send messages (a message's ``system``), ``canonical`` included."""
    targets: list[str]
    """Systems that routes deliver to."""


# replays --------------------------------------------------------------------------------
class RefusedReplay(TypedDict):
    delivery: str
    target: str
    reason: str


class ReplayResult(TypedDict):
    """``POST /api/v1/messages/{id}/replay``: what was replayed, what was refused and why,
    and the request as understood."""

    replayed: list[str]
    refused: list[RefusedReplay]
    message_id: str
    target: str | None
    mapping: Literal["live", "first"]
    force: bool
    include_delivered: bool


class ReplayCount(TypedDict):
    """A bulk replay's ``dry_run``: how many it would replay, and the stale ones it skips."""

    dry_run: bool
    count: int
    stale: int
    filter: dict[str, Any]
    states: list[str]
    described: str


class ReplayJob(TypedDict):
    """A bulk replay running in the background (``GET /api/v1/replays/{job_id}``)."""

    id: str
    state: Literal["running", "done", "failed"]
    done: int
    replayed: int
    stale: int
    filter: dict[str, Any]
    states: list[str]
    described: str
    by: str
    total: NotRequired[int]
    error: NotRequired[str]


# targets and alerts ---------------------------------------------------------------------
class TargetStatus(TypedDict):
    circuit: str
    """closed, half-open, open, or unknown in a process without workers."""
    failures_in_a_row: int | None
    paused: bool
    paused_by: str | None
    paused_at: str | None
    backlog: TargetLoad


class Targets(TypedDict):
    targets: dict[str, TargetStatus]


class Paused(TypedDict):
    target: str
    paused: bool
    changed: bool
    """False when the target was paused already."""


class Resumed(TypedDict):
    target: str
    paused: bool
    requeued: int


class AlertsState(TypedDict):
    enabled: bool
    causes: list[str]
    channels: list[str]
    """By kind and host only, never a URL (which may be a secret)."""
    open: list[dict[str, Any]]


class Throughput(TypedDict):
    """Attempts per target per minute, oldest first (``/api/v1/stats/throughput``)."""

    minutes: int
    since: str
    buckets: list[str]
    """The start of each minute."""
    targets: dict[str, dict[str, Any]]
    """Per target: ``delivered``, ``failed`` and ``park_events`` counts per bucket, and
    ``latency_ms`` (p50, p99)."""


class CauseGroup(TypedDict):
    target: str
    cause: str
    count: int


# mappings -------------------------------------------------------------------------------
class MappingVersionRef(TypedDict):
    system: str
    version: int
    content_version: str


class MappingVersionMeta(TypedDict):
    """One saved version of a system's mapping, without its document."""

    version: int
    content_version: str
    """The content hash each delivery attempt records."""
    author: str
    time: str
    comment: str


class MappingVersionOf(MappingVersionMeta):
    system: str


class MappingVersion(MappingVersionOf):
    """A version with its (normalised) mapping document."""

    mapping: dict[str, Any]


class MappingRules(TypedDict):
    """What the editor offers as choices and states as rules, from the adapter's spec."""

    system: str
    statuses: dict[str, Any]
    crosswalks: dict[str, Any]
    canonical_statuses: list[str]
    defaults: dict[str, Any] | None
    """JSON Schema of the system's defaults, when it has any."""


class DraftMeta(TypedDict):
    """A system's draft mapping (at most one), without its document."""

    system: str
    base_version: int
    """The live version the draft started from."""
    revision: int
    """Counts saves of the draft: a save or publish names the one it read."""
    author: str
    time: str
    comment: str
    content_version: str


class Draft(DraftMeta):
    mapping: dict[str, Any]


class DraftDiscarded(TypedDict):
    discarded: bool
    """False when there was no draft."""


class DraftReview(TypedDict):
    """The draft against the live mapping: changes, new codes, and what it would do to the
    parked and dead deliveries (a page of them)."""

    system: str
    draft: DraftMeta
    live_version: int
    stale: bool
    """The live mapping moved on since the draft started."""
    unchanged: bool
    changes: list[dict[str, Any]]
    new_status_codes: list[str]
    impact: dict[str, Any]
    total: int
    offset: int
    results: list[dict[str, Any]]


class MappingSaved(TypedDict):
    """A save or rollback: the new version and the parked deliveries it re-queued."""

    version: int
    content_version: str
    requeued: int


class MappingCheck(TypedDict):
    errors: list[dict[str, Any]]
    """Each names the path in the mapping and the rule."""
    new_status_codes: list[str]


class DraftStarted(TypedDict):
    """A rollback with ``draft``: the version became the draft (its meta), nothing live."""

    draft: DraftMeta


class MappingDiff(TypedDict):
    changes: list[dict[str, Any]]


class MappingErrors(TypedDict):
    errors: list[dict[str, Any]]


class Previews(TypedDict):
    results: list[dict[str, Any]]
