"""Redis replies -> records, and the filters the store applies in Python (search, lists)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from gateway.store.records import LEAST_FINISHED_FIRST, Delivery, Message, MessageFilter, State

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


def msg_matches(system: str, rts: float, flt: MessageFilter) -> bool:
    if flt.system is not None and system != flt.system:
        return False
    if flt.since is not None and rts < flt.since.timestamp():
        return False
    return not (flt.until is not None and rts >= flt.until.timestamp())


def starts(text: str | None, prefix: str | None) -> bool:
    """``text`` starts with ``prefix`` in any case (no prefix: always)."""
    return prefix is None or (text or "").casefold().startswith(prefix.casefold())


def aggregate(status: str, flat: Sequence[str]) -> State:
    """``aggregate`` on a ``meta`` row: the message's own state."""
    if status == State.REJECTED.value:
        return State.REJECTED
    states = {flat[i + 1] for i in range(0, len(flat), 3)}
    if not states:
        return State.RECEIVED
    return next((s for s in LEAST_FINISHED_FIRST if s.value in states), State.DELIVERED)


def delivery_matches(d: Delivery, flt: MessageFilter) -> bool:
    return (
        (flt.status is None or d.state is flt.status)
        and (flt.target is None or d.target == flt.target)
        and (flt.po_number is None or d.po_number == flt.po_number)
        and starts(d.po_number, flt.po_prefix)
        and starts(d.message_id, flt.message_id)
        and (flt.reason is None or flt.reason.lower() in (d.reason or "").lower())
    )


def matches(meta: Sequence[Any], flt: MessageFilter) -> bool:
    """Search semantics on a ``_META`` row: ``status``/``target``/``reason`` match one delivery
    (a rejected message matches ``status=rejected`` and ``reason`` against its error)."""
    system, po, status, error, flat = meta
    if flt.system is not None and system != flt.system:
        return False
    if flt.po_number is not None and po != flt.po_number:
        return False
    if not starts(po, flt.po_prefix):
        return False
    if flt.message_state is not None and aggregate(status, flat) is not flt.message_state:
        return False
    if flt.status is None and flt.target is None and flt.reason is None:
        return True
    if status == State.REJECTED.value:
        return (
            flt.status in (None, State.REJECTED)
            and flt.target is None
            and (flt.reason is None or flt.reason.lower() in error.lower())
        )
    triples = [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]
    if flt.status is State.RECEIVED and not triples:
        return flt.target is None and flt.reason is None
    return any(
        (flt.status is None or state == flt.status.value)
        and (flt.target is None or target == flt.target)
        and (flt.reason is None or flt.reason.lower() in (reason or "").lower())
        for target, state, reason in triples
    )


DELIVERY_STATES = (
    State.QUEUED,
    State.DELIVERING,
    State.DELIVERED,
    State.RETRYING,
    State.PARKED,
    State.DEAD,
)
