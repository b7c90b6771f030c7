"""The one store contract (the saq idea): every backend implements these primitives.

Durability rules every backend keeps:
- ``accept`` stores a message and one delivery per target atomically, or nothing; a second
  message with the same ``dedup_key`` stores nothing and returns the first.
- A delivery is claimed with a lease; a worker that dies gives it back at ``sweep``.
- For one target, a PO's deliveries go out in ``seq`` order: a delivery is claimable only
  when every earlier delivery of that (target, PO) is delivered or dead. Parked and
  retrying ones hold the line; other POs are not held up.
- Retries live in the store (``finish`` with ``RETRYING`` and ``next_at``), never only in
  memory.

The rules of every move (which state to which, what it clears, final states stay final) and
of every filter live in ``gateway.store.rules``; the public moves below (``finish``,
``sweep``, ``unpark``, ``replay``) are written once here and call a backend's primitive
(``_finish``, ``_sweep``, ``_unpark``, ``_replay``) with the rule to apply atomically. A
backend persists; it never decides a state.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from core.model import PurchaseOrder
from gateway.store import rules
from gateway.store.records import (
    Attempt,
    AuditEntry,
    AuditPage,
    Delivery,
    Message,
    MessageFilter,
    Page,
    PoList,
    State,
    TargetLoad,
)
from gateway.store.records import now as utc_now
from gateway.store.rules import LEASE_EXPIRED, Move, Outcome

__all__ = ["LEASE_EXPIRED", "PoUpdate", "Store", "aggregate"]

PoUpdate = Callable[[PurchaseOrder | None], PurchaseOrder | None]
MOVED, REFUSED, UNKNOWN = 1, 0, -1
"""What a backend's one-delivery move reports: done, its state is not a source of the move
(the backend checked it atomically), or no delivery has that id."""


class Store(abc.ABC):
    """Messages, deliveries, PO state and checkpoints."""

    @classmethod
    def from_url(cls, url: str) -> Store:
        """``sqlite:///path`` (embedded) or ``redis://host:port/db``; imported lazily."""
        if url.startswith("sqlite:"):
            from gateway.store.sqlite import SqliteStore

            return SqliteStore(url)
        if url.startswith(
            ("redis://", "rediss://", "unix://", "redis+cluster://", "redis+sentinel://")
        ):
            from gateway.store.redis import RedisStore

            return RedisStore(url)
        raise ValueError(
            f"unknown store URL {url!r}: use sqlite:///path, redis://host:port/db,"
            " redis+cluster://host:port or redis+sentinel://host:port/service"
        )

    # life cycle ------------------------------------------------------------------------
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create what is missing (tables, consumer state)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def ping(self) -> bool:
        """True when the store answers (``/ready``)."""

    # ingest ------------------------------------------------------------------------------
    @abc.abstractmethod
    async def find_duplicate(self, dedup_key: str) -> Message | None:
        """The message already stored under ``dedup_key``, if any."""

    @abc.abstractmethod
    async def accept(self, message: Message, targets: list[str]) -> tuple[Message, bool]:
        """Store ``message`` and a QUEUED delivery per target (``seq`` per target and PO).

        Returns ``(stored, created)``; ``created`` is False when ``dedup_key`` was known,
        and then ``stored`` is the first message.
        """

    async def ingest(
        self, message: Message, targets: list[str], change: PoUpdate, release_unknown_po: bool
    ) -> tuple[Message, bool]:
        """All of one inbound event: dedup, apply ``change`` to the PO's state, ``accept``,
        and when the PO was unknown and ``release_unknown_po``, unpark its "unknown PO"
        deliveries. Backends that can do it in one transaction override this (fewer round
        trips on the hot path); this composition is correct but not atomic as a whole."""
        if message.dedup_key is not None:
            known = await self.find_duplicate(message.dedup_key)
            if known is not None:
                return known, False
        was_known = False

        def tracked(state: PurchaseOrder | None) -> PurchaseOrder | None:
            nonlocal was_known
            was_known = state is not None
            return change(state)

        if message.po_number is not None:
            await self.update_po(message.po_number, tracked)
        stored, created = await self.accept(message, targets)
        if created and release_unknown_po and not was_known and message.po_number is not None:
            await self.unpark(park_kind="unknown_po", po_number=message.po_number)
        return stored, created

    @abc.abstractmethod
    async def reject(self, message: Message) -> None:
        """Record a refused message (state REJECTED) for operators; no deliveries."""

    # queue -------------------------------------------------------------------------------
    @abc.abstractmethod
    async def claim(
        self, worker: str, limit: int, lease_s: float, now: datetime | None = None
    ) -> list[tuple[Delivery, Message]]:
        """Due QUEUED/RETRYING deliveries at the head of their (target, PO) line -> DELIVERING."""

    async def finish(
        self,
        delivery_id: str,
        attempt: Attempt | None,
        state: State,
        *,
        next_at: datetime | None = None,
        reason: str | None = None,
        park_kind: str | None = None,
        step: int = 0,
    ) -> None:
        """Move a delivery on: DELIVERED, RETRYING (at ``next_at``), PARKED, DEAD or QUEUED.

        ``rules.FINISH``: another state is a ``ValueError``, an unknown id a ``KeyError``, and
        a delivery already final stays as it is (only a replay reopens one)."""
        outcome = rules.finishing(state, utc_now(), attempted=attempt is not None, next_at=next_at,
                                  reason=reason, park_kind=park_kind, step=step)  # fmt: skip
        _check(await self._finish(delivery_id, attempt, outcome, rules.FINISH), delivery_id)

    async def finish_and_update(
        self, delivery_id: str, attempt: Attempt | None, state: State, po_number: str,
        change: PoUpdate, **kw: Any,
    ) -> None:  # fmt: skip
        """``update_po(po_number, change)`` and ``finish(delivery_id, ...)`` together: what a
        delivery taught the hub about the PO and the delivery's outcome, in one write where
        the backend can (atomic, and a round trip less per delivery: issue 14)."""
        outcome = rules.finishing(state, utc_now(), attempted=attempt is not None, **kw)
        moved = await self._finish_and_update(delivery_id, attempt, outcome, po_number, change)
        _check(moved, delivery_id)

    @abc.abstractmethod
    async def _finish(
        self, delivery_id: str, attempt: Attempt | None, outcome: Outcome, move: Move
    ) -> int:
        """Write ``outcome`` (and append ``attempt``) if the delivery's state is in
        ``move.sources``, clearing ``move.clears``, in one atomic step: ``MOVED``,
        ``REFUSED`` or ``UNKNOWN``."""

    async def _finish_and_update(
        self, delivery_id: str, attempt: Attempt | None, outcome: Outcome, po_number: str,
        change: PoUpdate,
    ) -> int:  # fmt: skip
        await self.update_po(po_number, change)
        return await self._finish(delivery_id, attempt, outcome, rules.FINISH)

    @abc.abstractmethod
    async def extend(
        self, worker: str, delivery_ids: list[str], lease_s: float, now: datetime | None = None
    ) -> int:
        """Renew the leases ``worker`` holds on these DELIVERING deliveries (its heartbeat),
        so that a plan that takes longer than one lease is not swept and sent a second time
        while it is still being sent. Returns how many were renewed."""

    async def sweep(self, now: datetime | None = None) -> int:
        """Give back deliveries whose lease expired (their worker died): ``rules.SWEEP``,
        with reason ``LEASE_EXPIRED``; returns how many."""
        return await self._sweep(now or utc_now(), rules.SWEEP, LEASE_EXPIRED)

    @abc.abstractmethod
    async def _sweep(self, at: datetime, move: Move, reason: str) -> int:
        """Move every delivery in ``move.sources`` whose lease ended before ``at`` to its one
        target, due at ``at``, with ``reason``, clearing ``move.clears``."""

    async def unpark(
        self,
        *,
        target: str | None = None,
        park_kind: str | None = None,
        po_number: str | None = None,
    ) -> int:
        """Re-queue matching PARKED deliveries (a mapping was saved, a PO arrived, a target
        resumed): ``rules.UNPARK``. Returns how many."""
        return await self._unpark(rules.UNPARK, utc_now(), target, park_kind, po_number)

    @abc.abstractmethod
    async def _unpark(
        self, move: Move, at: datetime, target: str | None, park_kind: str | None,
        po_number: str | None,
    ) -> int:  # fmt: skip
        """Move deliveries in ``move.sources`` with these fields (None: any) to its target,
        due at ``at``, clearing ``move.clears``; in bounded batches, each atomic."""

    async def replay(self, delivery_id: str, pin: str | None = None, by: str | None = None) -> bool:
        """Queue a delivery again, due now, keeping its attempts: ``rules.REPLAY``; False if
        it is in flight, ``KeyError`` if unknown. A doubt its reason records stays
        (``rules.DOUBT``). ``pin``: the mapping content version to render it with (None: the
        live mapping). ``by``: who asked (``Delivery.replayed_by``), carried by its next
        attempt as ``Attempt.manual_by``; ``finish`` with an attempt clears it."""
        moved = await self._replay(delivery_id, rules.REPLAY, utc_now(), pin, by)
        return _check(moved, delivery_id) == MOVED

    @abc.abstractmethod
    async def _replay(
        self, delivery_id: str, move: Move, at: datetime, pin: str | None, by: str | None
    ) -> int:
        """If its state is in ``move.sources``: to its target, due at ``at``, clearing
        ``move.clears`` (a reason in ``rules.DOUBT`` of an open one stays), ``pinned_mapping``
        and ``replayed_by`` set to ``pin`` and ``by``; a final one goes back into its line in
        ``seq`` order. ``MOVED``, ``REFUSED`` or ``UNKNOWN``."""

    # records -----------------------------------------------------------------------------
    @abc.abstractmethod
    async def get_message(self, message_id: str) -> Message | None: ...

    @abc.abstractmethod
    async def search(
        self, flt: MessageFilter, offset: int = 0, limit: int = 50, *, light: bool = False
    ) -> Page:
        """Newest first, the messages ``rules.search_matches`` passes (``status``/``target``/
        ``reason`` match one delivery of the message; SQLite compiles the rule's terms to
        SQL, Redis applies the rule to each message's ``meta`` row).

        ``light`` (lists and timelines): each message without its body and headers, its
        canonical events reduced to their ``kind``, and ``Page.body_sizes``; so a page of
        big messages never holds their bodies (SQLite leaves them on disk; Redis loads them
        a few messages at a time and drops them)."""

    @abc.abstractmethod
    def deliveries(self, flt: MessageFilter) -> AsyncIterator[Delivery]:
        """Every delivery ``rules.delivery_matches`` passes (``status``/``target``/``reason``
        are the delivery's own; ``message_state`` is search's only)."""

    @abc.abstractmethod
    async def counts(self) -> dict[str, int]:
        """Deliveries per state plus ``rejected`` messages (live counts, queue depth)."""

    @abc.abstractmethod
    async def backlog(self) -> dict[str, TargetLoad]:
        """What waits per target (targets with nothing unfinished may be left out). Cheap
        enough to call every few seconds whatever the history holds: its cost follows the
        number of unfinished deliveries at most (SQLite) or of targets (Redis)."""

    @abc.abstractmethod
    async def purchase_orders(
        self, prefix: str | None = None, offset: int = 0, limit: int = 50
    ) -> PoList:
        """POs that have messages, latest activity first; ``prefix`` matches the start of
        the PO number in any case."""

    # audit log ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_audit(self, entry: AuditEntry) -> None:
        """Append one manual action to the audit log (never changed or dropped after)."""

    @abc.abstractmethod
    async def audit(self, offset: int = 0, limit: int = 100) -> AuditPage:
        """A page of the audit log, newest first, with the total number of entries."""

    # PO state ----------------------------------------------------------------------------
    @abc.abstractmethod
    async def get_po(self, po_number: str) -> PurchaseOrder | None: ...

    @abc.abstractmethod
    async def update_po(self, po_number: str, change: PoUpdate) -> PurchaseOrder | None:
        """Read-modify-write one PO's state atomically against other writers."""

    @abc.abstractmethod
    async def timeline(self, po_number: str) -> list[Message]:
        """Every message of the PO, oldest first, with deliveries and attempts."""

    # identity: the crosswalk of remote ids -----------------------------------------------
    @abc.abstractmethod
    async def link_remote(
        self, system: str, remote_id: str, po_number: str, *, replace: bool = True
    ) -> str:
        """Record that ``system`` knows hub PO ``po_number`` as ``remote_id``; returns the hub
        PO the pair now names. ``replace=False`` keeps an existing link (inbound events fill
        gaps; a target's own reply to the hub's write is authoritative and replaces)."""

    @abc.abstractmethod
    async def find_remote(self, system: str, remote_id: str) -> str | None:
        """The hub PO number ``system`` knows as ``remote_id``, if the hub learnt it."""

    async def lookup(
        self, po_number: str, pairs: list[tuple[str, str]]
    ) -> tuple[PurchaseOrder | None, dict[tuple[str, str], str]]:
        """What ingest reads before it stores an event: the PO's state, and the hub PO each
        ``(system, remote id)`` is linked to (pairs linked to none are left out). A backend
        answers it in one read where it can (a round trip per accepted event, issue 14)."""
        links = {}
        for system, remote_id in pairs:
            found = await self.find_remote(system, remote_id)
            if found is not None:
                links[(system, remote_id)] = found
        return await self.get_po(po_number), links

    async def link_new(self, pairs: list[tuple[str, str]], po_number: str) -> list[str]:
        """Link each ``(system, remote id)`` not linked yet to ``po_number`` (an existing link
        stays), and hand that system's deliveries of this PO parked ``unknown_po`` back to
        the queue; the systems newly linked. One write where the backend can."""
        linked = []
        for system, remote_id in pairs:
            if await self.find_remote(system, remote_id) is not None:
                continue
            await self.link_remote(system, remote_id, po_number, replace=False)
            await self.unpark(target=system, park_kind="unknown_po", po_number=po_number)
            linked.append(system)
        return linked

    # checkpoints -------------------------------------------------------------------------
    @abc.abstractmethod
    async def get_checkpoint(self, name: str) -> str | None: ...

    @abc.abstractmethod
    async def set_checkpoint(self, name: str, value: str) -> None: ...

    @abc.abstractmethod
    async def swap_checkpoint(self, name: str, expected: str | None, value: str) -> bool:
        """Compare-and-set: write ``value`` only if the checkpoint still holds ``expected``
        (``None``: only if it does not exist). True when written. Several processes saving
        mapping versions use it so that no save overwrites another."""


def aggregate(message: Message) -> State:
    """A message's state from its deliveries: the least finished one speaks for it."""
    rejected = message.status is State.REJECTED
    return rules.aggregate(rejected, (d.state for d in message.deliveries))


def _check(moved: int, delivery_id: str) -> int:
    if moved == UNKNOWN:
        raise KeyError(f"no delivery {delivery_id!r}")
    return moved
