"""What publishing a draft would do, before it is done: the review.

Issue 15: an admin saw nothing of a change's effect until it was live. The review puts next
to each other what the draft changes (a diff against the live version, or "no change"),
what it renders for the real parked and dead deliveries to the system, and how many parked
deliveries it will release (publishing re-queues every delivery parked for a missing row;
those the draft still cannot render park again, so they are counted apart).

This module finds the deliveries and sums the outcomes; rendering is the preview's
(``gateway.api.mappings``), so a review and a preview can never disagree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from core.model import PoEvent, PurchaseOrder
from gateway.store.records import Delivery, Message, MessageFilter, State

MAX_REVIEWED = 1000
"""Parked plus dead deliveries rendered by one review; past it the counts say "at least"."""
PAGE_MAX = 100
"""Rendered outputs returned per review page (the counts always cover every one reviewed)."""


class ReviewTimeout(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Item:
    """One delivery to render: what it is and what to render it from."""

    delivery: Delivery | None
    label: str
    message_id: str | None
    event: PoEvent | None
    state: PurchaseOrder | None
    error: str | None


async def stored(
    store: Any, message: Message, label: str, delivery: Delivery | None = None
) -> Item:
    """A stored message as something to render: its first canonical event and the PO state."""
    if not message.canonical:
        reason = "the message has no canonical event (rejected)"
        return Item(delivery, label, message.id, None, None, reason)
    event = PoEvent.model_validate(message.canonical[0])
    state = await store.get_po(message.po_number) if message.po_number else None
    return Item(delivery, label, message.id, event, state, None)


async def deliveries(store: Any, system: str, deadline: float) -> tuple[list[Item], bool]:
    """The parked (for a mapping) and dead deliveries to ``system``, oldest first within each
    state, at most ``MAX_REVIEWED``; and whether there were more."""
    items: list[Item] = []
    for status in (State.PARKED, State.DEAD):
        async for delivery in store.deliveries(MessageFilter(target=system, status=status)):
            if status is State.PARKED and delivery.park_kind not in (None, "mapping"):
                continue  # waits for its PO, not for a mapping: publishing does not move it
            if len(items) >= MAX_REVIEWED:
                return items, True
            if time.monotonic() > deadline:
                raise ReviewTimeout
            message = await store.get_message(delivery.message_id)
            if message is not None:
                label = f"{status.value} {delivery.po_number}"
                items.append(await stored(store, message, label, delivery))
    return items, False


def summary(items: list[Item], results: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    """Counts over every reviewed delivery: parked ones the draft releases (renders with no
    missing row and no error), parked ones still missing rows, dead ones it would render."""
    parked = releases = still = dead_ok = dead = 0
    for item, result in zip(items, results, strict=True):
        ok = not result.get("missing") and not result.get("error")
        state = item.delivery.state if item.delivery else None
        if state is State.PARKED:
            parked += 1
            releases += ok
            still += not ok
        elif state is State.DEAD:
            dead += 1
            dead_ok += ok
    return {"parked": parked, "will_release": releases, "still_parked": still, "dead": dead,
            "dead_renderable": dead_ok, "more": more}  # fmt: skip


def annotate(item: Item, result: dict[str, Any]) -> dict[str, Any]:
    """A rendered result with the delivery it belongs to and what publishing does to it."""
    if item.delivery is None:
        return result
    d = item.delivery
    ok = not result.get("missing") and not result.get("error")
    fate = ("releases" if ok else "stays parked") if d.state is State.PARKED else (
        "renders (replay to send)" if ok else "still fails")  # fmt: skip
    return {**result, "delivery_id": d.id, "state": d.state.value, "po_number": d.po_number,
            "reason": d.reason, "on_publish": fate}  # fmt: skip


def page(rows: list[dict[str, Any]], offset: int, limit: int) -> list[dict[str, Any]]:
    limit = max(1, min(limit, PAGE_MAX))
    return rows[max(0, offset) : max(0, offset) + limit]
