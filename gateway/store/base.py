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
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from core.model import PurchaseOrder
from gateway.store.records import (
    LEAST_FINISHED_FIRST,
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

PoUpdate = Callable[[PurchaseOrder | None], PurchaseOrder | None]
LEASE_EXPIRED = "lease expired: its worker stopped, maybe mid-call"
"""The ``reason`` ``sweep`` gives a delivery it hands back: the call in flight may have
taken effect, so the next sending reads back first where the target is not idempotent."""


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

    @abc.abstractmethod
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
        """Move a claimed delivery on: DELIVERED, RETRYING (at ``next_at``), PARKED or DEAD."""

    async def finish_and_update(
        self, delivery_id: str, attempt: Attempt | None, state: State, po_number: str,
        change: PoUpdate, **kw: Any,
    ) -> None:  # fmt: skip
        """``update_po(po_number, change)`` and ``finish(delivery_id, ...)`` together: what a
        delivery taught the hub about the PO and the delivery's outcome, in one write where
        the backend can (atomic, and a round trip less per delivery: issue 14)."""
        await self.update_po(po_number, change)
        await self.finish(delivery_id, attempt, state, **kw)

    @abc.abstractmethod
    async def extend(
        self, worker: str, delivery_ids: list[str], lease_s: float, now: datetime | None = None
    ) -> int:
        """Renew the leases ``worker`` holds on these DELIVERING deliveries (its heartbeat),
        so that a plan that takes longer than one lease is not swept and sent a second time
        while it is still being sent. Returns how many were renewed."""

    @abc.abstractmethod
    async def sweep(self, now: datetime | None = None) -> int:
        """Give back deliveries whose lease expired (their worker died), with ``reason``
        ``LEASE_EXPIRED``; returns how many."""

    @abc.abstractmethod
    async def unpark(
        self,
        *,
        target: str | None = None,
        park_kind: str | None = None,
        po_number: str | None = None,
    ) -> int:
        """Re-queue matching PARKED deliveries (a mapping was saved, a PO arrived)."""

    @abc.abstractmethod
    async def replay(self, delivery_id: str, pin: str | None = None, by: str | None = None) -> bool:
        """Queue a delivery again, due now, keeping its attempts; False if it is in flight.
        ``pin``: the mapping content version to render it with (None: the live mapping).
        ``by``: who asked (``Delivery.replayed_by``), carried by its next attempt as
        ``Attempt.manual_by``; ``finish`` with an attempt clears it."""

    # records -----------------------------------------------------------------------------
    @abc.abstractmethod
    async def get_message(self, message_id: str) -> Message | None: ...

    @abc.abstractmethod
    async def search(
        self, flt: MessageFilter, offset: int = 0, limit: int = 50, *, light: bool = False
    ) -> Page:
        """Newest first. ``status``/``target``/``reason`` match a delivery of the message.

        ``light`` (lists and timelines): each message without its body and headers, its
        canonical events reduced to their ``kind``, and ``Page.body_sizes``; so a page of
        big messages never holds their bodies (SQLite leaves them on disk; Redis loads them
        a few messages at a time and drops them)."""

    @abc.abstractmethod
    def deliveries(self, flt: MessageFilter) -> AsyncIterator[Delivery]:
        """Every delivery matching ``flt`` (``status``/``target`` are the delivery's own)."""

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
    if message.status is State.REJECTED:
        return State.REJECTED
    states = {d.state for d in message.deliveries}
    if not states:
        return State.RECEIVED
    for state in LEAST_FINISHED_FIRST:
        if state in states:
            return state
    return State.DELIVERED
