"""Redis replies -> records, and the filters the store applies in Python (search, lists)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.store import rules
from gateway.store.records import Delivery, Message, MessageFilter, State

QUEUED_OFFSET = 1e10
"""A QUEUED head is due at once: its score is its enqueue time minus ~317 years, so it sorts
before every due retry (FIFO among queued lines) and below any ``now`` a caller passes."""


def score(ts: float) -> str:
    return repr(float(ts))


def queued_score(at: datetime) -> str:
    return score(at.timestamp() - QUEUED_OFFSET)


def pairs(flat: Sequence[Any]) -> dict[str, str]:
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def delivery(flat: Sequence[Any] | dict[str, str]) -> Delivery:
    h = flat if isinstance(flat, dict) else pairs(flat)
    return Delivery.model_validate(
        {
            "id": h["id"],
            "message_id": h["message_id"],
            "target": h["target"],
            "po_number": h.get("po_number", ""),
            "seq": int(h["seq"]),
            "state": h["state"],
            "next_at": h["next_at"],
            "lease_until": h.get("lease_until"),
            "reason": h.get("reason"),
            "park_kind": h.get("park_kind"),
            "step": int(h.get("step") or 0),
            "pinned_mapping": h.get("pinned_mapping") or None,
            "replayed_by": h.get("replayed_by") or None,
            "attempts": orjson.loads(h.get("attempts") or "[]"),
            "created_at": h["created_at"],
            "updated_at": h["updated_at"],
        }
    )


def message(row: Any) -> Message | None:
    """``false | {json, hgetall(d)...}`` from the load scripts -> Message with deliveries."""
    if not row:
        return None
    msg = Message.model_validate_json(row[0])
    msg.deliveries = [delivery(d) for d in row[1:] if d]
    return msg


@dataclass(frozen=True)
class SeenDelivery:
    """A delivery as a ``meta`` row has it: what ``rules.search_matches`` reads."""

    target: str
    state: str
    reason: str | None


@dataclass(frozen=True)
class Seen:
    """A message as a ``meta`` row (or a delivery's message hash) has it, without its body:
    what the ``rules`` filters read."""

    id: str
    system: str
    po_number: str | None
    received_at: datetime
    status: str = State.QUEUED.value
    error: str | None = None
    deliveries: tuple[SeenDelivery, ...] = ()


def seen(mid: str, meta: Sequence[Any]) -> Seen:
    """A ``META`` row: ``{system, po, status, error, {target, state, reason}*, rts}``."""
    system, po, status, error, flat, rts = meta
    triples = tuple(SeenDelivery(flat[i], flat[i + 1], flat[i + 2] or None)
                    for i in range(0, len(flat), 3))  # fmt: skip
    return Seen(mid, system, po or None, datetime.fromtimestamp(float(rts), UTC), status,
                error or None, triples)  # fmt: skip


def matches(mid: str, meta: Sequence[Any], flt: MessageFilter) -> bool:
    """``rules.search_matches`` on a ``META`` row."""
    return rules.search_matches(flt, seen(mid, meta))
