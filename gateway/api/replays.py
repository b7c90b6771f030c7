"""What a replay may touch and what it says it will do.

Operators saw a bulk replay act on another filter than the one on screen, offer delivered
deliveries by default, and never say which states it meant. So every replay request names
its filter explicitly, its states default to the ones a replay is for (dead, parked,
retrying), a delivered delivery is replayed only on an explicit ``include_delivered``, and
``describe`` puts the filter and the states in words for the confirmation and the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel

from gateway.store.records import MessageFilter, State

DEFAULT_STATES = (State.DEAD, State.PARKED, State.RETRYING)
"""What a replay acts on unless told otherwise: the deliveries that did not go out."""
REPLAYABLE = (*DEFAULT_STATES, State.DELIVERED)
"""Queued ones go out anyway, delivering ones are in flight, and messages that are rejected
or received have no delivery to replay."""


class ReplayRefused(ValueError):
    """A replay request that breaks a rule; the message names the field and the rule."""


class ReplayRequest(BaseModel):
    """Which deliveries to replay; ``dry_run`` only counts them (and says what it counted)."""

    po_number: str | None = None
    po_prefix: str | None = None
    """PO numbers starting with this, in any case (the search box's meaning)."""
    message_id: str | None = None
    system: str | None = None
    target: str | None = None
    states: list[State] | None = None
    """The delivery states to replay; default dead, parked and retrying."""
    status: State | None = None
    """One state (the older form of ``states``); an explicit null means every state."""
    since: datetime | None = None
    until: datetime | None = None
    reason: str | None = None
    mapping: Literal["live", "first"] = "live"
    """Render with the live mapping, or with the version each delivery first used."""
    dry_run: bool = True
    include_delivered: bool = False
    """Send delivered deliveries again. Without it (or ``force``) a request naming the
    delivered state is refused: the target already has them."""
    force: bool = False
    """``include_delivered``, and also replay deliveries a newer delivered event of the same
    PO has superseded at the target (skipped and counted as ``stale`` otherwise): they would
    put the target back to an older state than the one it has."""

    def chosen_states(self) -> list[State]:
        """The states this request replays, or ``ReplayRefused`` naming the field."""
        if self.states is not None:
            field, wanted = "states", list(dict.fromkeys(self.states))
        elif self.status is not None:
            field, wanted = "status", [self.status]
        elif "status" in self.model_fields_set:  # an explicit null: every state
            field, wanted = "status", list(REPLAYABLE)
        else:
            field, wanted = "states", list(DEFAULT_STATES)
        if not wanted:
            raise ReplayRefused(f"{field}: name at least one state to replay")
        for i, state in enumerate(wanted):
            if state not in REPLAYABLE:
                where = f"{field}[{i}]" if field == "states" else field
                raise ReplayRefused(f"{where}: {state.value} deliveries cannot be replayed; "
                                    f"choose from {', '.join(s.value for s in REPLAYABLE)}")  # fmt: skip
        if State.DELIVERED in wanted and not (self.include_delivered or self.force):
            raise ReplayRefused(
                f"{field}: replaying delivered deliveries needs include_delivered: true "
                "(they would be sent again); name states such as dead, parked or retrying"
            )
        return wanted

    def message_filter(self, state: State) -> MessageFilter:
        return MessageFilter(
            po_number=self.po_number, po_prefix=self.po_prefix or None,
            message_id=self.message_id or None, system=self.system or None,
            target=self.target or None, status=state, since=self.since, until=self.until,
            reason=self.reason or None,
        )  # fmt: skip


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def iso(at: datetime) -> str:
    """ISO 8601 with its zone, in UTC (``2026-12-01T15:20:00Z``): one form everywhere."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe(req: ReplayRequest, states: list[State]) -> str:
    """The request's filter and states in words, as the confirmation and the audit say it."""
    parts = [f"deliveries that are {_or([s.value for s in states])}"]
    if req.target:
        parts.append(f"to {req.target}")
    if req.system:
        parts.append(f"of messages from {req.system}")
    if req.po_number:
        parts.append(f"of PO {req.po_number}")
    if req.po_prefix:
        parts.append(f'of POs starting with "{req.po_prefix}" (any case)')
    if req.message_id:
        parts.append(f'of messages whose id starts with "{req.message_id}"')
    if req.reason:
        parts.append(f'whose reason contains "{req.reason}"')
    if req.since:
        parts.append(f"received at or after {iso(req.since)}")
    if req.until:
        parts.append(f"received before {iso(req.until)}")
    if len(parts) == 1:
        parts.append("(no other filter: every one of them)")
    return ", ".join(parts)
