"""The store's rules, once (the saq idea: the base decides, a backend persists).

Which operation may move a delivery from which state to which (``MOVES``), what each one
clears, which reasons a requeue keeps (a doubt), and which messages and deliveries a
``MessageFilter`` matches (``TERMS``, ``search_matches``, ``delivery_matches``). Pure: no I/O.

``Store`` checks a move here before it calls a backend; where a backend must apply a rule
atomically (inside one SQL statement or one Lua script, against concurrent workers) it is
given the rule's sets as arguments (``json_each`` in SQLite, a word list in Lua) rather than a
copy of them. SQLite's filters call ``starts``/``contains`` as SQL functions, so both
backends fold case with the same Python code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.store.records import LEAST_FINISHED_FIRST, MessageFilter, State

LEASE_EXPIRED = "lease expired: its worker stopped, maybe mid-call"
"""The ``reason`` ``sweep`` gives a delivery it hands back: the call in flight may have
taken effect, so the next sending reads back first where the target is not idempotent."""
RETURNED = "returned at shutdown"
"""The ``reason`` a stopping worker gives what it hands back unfinished (same doubt)."""
DOUBT = frozenset({LEASE_EXPIRED, RETURNED})
"""Reasons that are the only record of a doubt (an attempt in flight when its worker
stopped): a requeue of an unfinished delivery keeps them, so the next sending still reads
back first (``gateway.delivery.worker.was_unsure``)."""

DELIVERY_STATES = frozenset(
    {State.QUEUED, State.DELIVERING, State.RETRYING, State.PARKED, State.DELIVERED, State.DEAD}
)
"""A delivery's states (``received`` and ``rejected`` are a message's only)."""
FINAL = frozenset({State.DELIVERED, State.DEAD})
"""Final states stay final: only a replay moves a delivery out of one."""
OPEN = DELIVERY_STATES - FINAL
LEASE = "lease_until"
"""The lease; a backend clears with it whatever records the holder (worker, lease index)."""


@dataclass(frozen=True)
class Move:
    """One operation on a delivery: from which states, to which, and what it clears."""

    name: str
    sources: frozenset[State]
    """States it moves a delivery out of; any other state is refused (finish: ignored,
    replay: False, sweep/unpark: not matched)."""
    targets: frozenset[State]
    """States it may move a delivery into; asking for another is a ``ValueError``."""
    clears: tuple[str, ...] = ()
    """Delivery fields it resets to None (``reason`` keeps a ``DOUBT`` of an open one)."""

    def allows(self, source: State, target: State) -> bool:
        return source in self.sources and target in self.targets

    def check(self, target: State) -> None:
        if target not in self.targets:
            raise ValueError(f"{self.name} cannot move a delivery to {target.value}")


CLAIM = Move("claim", frozenset({State.QUEUED, State.RETRYING}), frozenset({State.DELIVERING}))
"""A due delivery at the head of its (target, PO) line goes out under a lease."""
FINISH = Move(
    "finish",
    OPEN,
    frozenset({State.DELIVERED, State.DEAD, State.RETRYING, State.PARKED, State.QUEUED}),
    (LEASE,),
)
"""A worker records an outcome: the reason and park kind are the ones it gives, the lease
goes, and an attempt ends a replay's marker (``replayed_by``). Pausing is a finish into
PARKED with park kind ``paused`` (``gateway.delivery.pause``); resuming is an ``UNPARK`` of them."""
SWEEP = Move(
    "sweep", frozenset({State.DELIVERING}), frozenset({State.RETRYING}), (LEASE, "park_kind")
)
"""An expired lease: due now, with reason ``LEASE_EXPIRED``."""
UNPARK = Move(
    "unpark", frozenset({State.PARKED}), frozenset({State.QUEUED}), (LEASE, "reason", "park_kind")
)
"""What a parked delivery waited for happened (a mapping saved, a PO known, a resume)."""
REPLAY = Move(
    "replay", DELIVERY_STATES - {State.DELIVERING}, frozenset({State.QUEUED}),
    (LEASE, "reason", "park_kind"),
)  # fmt: skip
"""An operator queues it again, due now, keeping attempts and ``step``; sets the pin and who
asked (None clears them). A delivery in flight is refused."""
MOVES = {m.name: m for m in (CLAIM, FINISH, SWEEP, UNPARK, REPLAY)}
"""Every move by name: the transition table the behaviour suite walks."""


@dataclass(frozen=True)
class Outcome:
    """What ``finish`` writes on a delivery whose state is in ``FINISH.sources``."""

    state: State
    next_at: datetime | None
    """When it is due again; None: it keeps its ``next_at``."""
    reason: str | None
    park_kind: str | None
    step: int
    at: datetime
    """The time of the write (``updated_at``)."""
    ends_replay: bool
    """An attempt is recorded: the replay that asked for it is done (``replayed_by`` goes)."""


def finishing(
    state: State, now: datetime, *, attempted: bool, next_at: datetime | None = None,
    reason: str | None = None, park_kind: str | None = None, step: int = 0,
) -> Outcome:  # fmt: skip
    """The checked outcome of a finish: a state the worker may set (else ``ValueError``); a
    waiting state (queued, retrying) is due at ``next_at`` or now, others keep their time."""
    FINISH.check(state)
    due = (next_at or now) if state in (State.QUEUED, State.RETRYING) else None
    return Outcome(state, due, reason, park_kind, step, now, attempted)


def words(states: Iterable[State]) -> str:
    """A set of states as one script argument (``'dead delivered'``), sorted."""
    return " ".join(sorted(s.value for s in states))


# filters ----------------------------------------------------------------------------------
def fold(text: str | None) -> str:
    return (text or "").casefold()


def starts(text: str | None, prefix: str | None) -> bool:
    """``text`` starts with ``prefix`` in any case (Unicode case folding); no prefix: true."""
    return prefix is None or fold(text).startswith(fold(prefix))


def contains(text: str | None, needle: str | None) -> bool:
    """``needle`` occurs in ``text`` in any case; no needle: true."""
    return needle is None or fold(needle) in fold(text)


def _equal(value: Any, wanted: Any) -> bool:
    return wanted is None or value == wanted


def _since(value: datetime, wanted: datetime | None) -> bool:
    return wanted is None or value >= wanted


def _until(value: datetime, wanted: datetime | None) -> bool:
    return wanted is None or value < wanted


EXACT, PREFIX, CONTAINS, SINCE, UNTIL = "exact", "prefix", "contains", "since", "until"
TESTS: dict[str, Callable[[Any, Any], bool]] = {
    EXACT: _equal, PREFIX: starts, CONTAINS: contains, SINCE: _since, UNTIL: _until,
}  # fmt: skip
"""How each kind of term compares a record's value with the filter's (None: no term)."""


@dataclass(frozen=True)
class Term:
    field: str
    """The ``MessageFilter`` field."""
    of: str
    """``message`` or ``delivery``: whose attribute it tests."""
    attr: str
    kind: str


TERMS = (
    Term("system", "message", "system", EXACT),
    Term("po_number", "message", "po_number", EXACT),
    Term("po_prefix", "message", "po_number", PREFIX),
    Term("message_id", "message", "id", PREFIX),
    Term("since", "message", "received_at", SINCE),
    Term("until", "message", "received_at", UNTIL),
    Term("status", "delivery", "state", EXACT),
    Term("target", "delivery", "target", EXACT),
    Term("reason", "delivery", "reason", CONTAINS),
)
"""Every ``MessageFilter`` field but ``message_state`` (search only: ``aggregate``). Message
terms test the message; delivery terms test one delivery: ``search`` wants one delivery of
the message to pass them all, ``deliveries`` yields the deliveries that do."""
MESSAGE_TERMS = tuple(t for t in TERMS if t.of == "message")
DELIVERY_TERMS = tuple(t for t in TERMS if t.of == "delivery")


def given(flt: MessageFilter, terms: Sequence[Term]) -> list[tuple[Term, Any]]:
    """The terms ``flt`` sets, with their values (enums as their text)."""
    found = [(t, getattr(flt, t.field)) for t in terms]
    return [(t, v.value if isinstance(v, State) else v) for t, v in found if v is not None]


def passes(terms: list[tuple[Term, Any]], record: Any) -> bool:
    def value(t: Term) -> Any:
        got = getattr(record, t.attr)
        return got.value if isinstance(got, State) else got

    return all(TESTS[t.kind](value(t), wanted) for t, wanted in terms)


def aggregate(rejected: bool, states: Iterable[State | str]) -> State:
    """A message's state from its deliveries' states: the least finished one speaks."""
    if rejected:
        return State.REJECTED
    found = {State(s) for s in states}
    if not found:
        return State.RECEIVED
    return next((s for s in LEAST_FINISHED_FIRST if s in found), State.DELIVERED)


def search_matches(flt: MessageFilter, message: Any) -> bool:
    """Whether ``search`` lists ``message`` (anything with a ``Message``'s ``id``, ``system``,
    ``po_number``, ``received_at``, ``status``, ``error`` and ``deliveries`` with ``state``,
    ``target``, ``reason``). A rejected message has no deliveries: it passes
    ``status=rejected`` and ``reason`` against its error; an accepted one without deliveries
    passes ``status=received``; else one delivery must pass every delivery term."""
    if not passes(given(flt, MESSAGE_TERMS), message):
        return False
    rejected = message.status is State.REJECTED or message.status == State.REJECTED.value
    states = [d.state for d in message.deliveries]
    if flt.message_state is not None and aggregate(rejected, states) is not flt.message_state:
        return False
    terms = given(flt, DELIVERY_TERMS)
    if not terms:
        return True
    if rejected:
        return (
            flt.status in (None, State.REJECTED)
            and flt.target is None
            and contains(message.error, flt.reason)
        )
    if not message.deliveries:
        return flt.status is State.RECEIVED and flt.target is None and flt.reason is None
    return any(passes(terms, d) for d in message.deliveries)


def delivery_matches(flt: MessageFilter, message: Any, delivery: Any) -> bool:
    """Whether ``deliveries`` yields ``delivery`` of ``message``: the message terms on the
    message, the delivery terms (``status`` is its own state) on the delivery."""
    return passes(given(flt, MESSAGE_TERMS), message) and passes(
        given(flt, DELIVERY_TERMS), delivery
    )
