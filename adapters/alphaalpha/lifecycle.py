"""AlphaAlpha's PO lifecycle: statuses, the action that moves a PO out of each, shortest paths.

The document names the actions (``PATCH /purchase-orders/{id}/approve-internal`` ... ``POST
.../receive-goods``) but shows only one status value, ``"status": "DRAFT"``. Which status an
action needs and which one it leads to is pohub's reading of the action names; render uses
it to plan calls, the simulator to refuse what the real system would refuse.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum

from core.errors import TransitionNotAllowed

SYSTEM = "alphaalpha"


class Status(StrEnum):
    """AlphaAlpha's ``status`` codes (pohub's reading; the document shows only DRAFT)."""

    DRAFT = "DRAFT"
    PENDING_INTERNAL_APPROVAL = "PENDING_INTERNAL_APPROVAL"
    APPROVED_INTERNALLY = "APPROVED_INTERNALLY"
    REJECTED_INTERNALLY = "REJECTED_INTERNALLY"
    APPROVED = "APPROVED"
    REJECTED_BY_SUPPLIER = "REJECTED_BY_SUPPLIER"
    SENT = "SENT"
    PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
    RECEIVED = "RECEIVED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class Action(StrEnum):
    """The lifecycle endpoints, named by their last path segment."""

    REQUEST_INTERNAL_APPROVAL = "request-internal-approval"
    APPROVE_INTERNAL = "approve-internal"
    REJECT_INTERNAL = "reject-internal"
    APPROVE_SUPPLIER = "approve-supplier"
    REJECT_SUPPLIER = "reject-supplier"
    MARK_AS_SENT = "mark-as-sent"
    RECEIVE_GOODS = "receive-goods"
    CLOSE = "close"
    CANCEL = "cancel"
    REINSTATE = "reinstate"


S = Status
INITIAL = S.DRAFT
"""What ``POST /purchase-orders`` creates (the create reply's ``"status": "DRAFT"``)."""
TERMINAL = frozenset({S.CLOSED, S.CANCELLED})
SETBACKS = frozenset({S.CANCELLED, S.REJECTED_INTERNALLY, S.REJECTED_BY_SUPPLIER})
"""Statuses a planned path may end in but never pass through (no cancel-to-rewind)."""

METHOD: dict[Action, str] = {
    a: "POST" if a in (Action.MARK_AS_SENT, Action.RECEIVE_GOODS) else "PATCH" for a in Action
}
"""HTTP method of each action endpoint, as the document lists them."""

_NON_TERMINAL = frozenset(S) - TERMINAL
_UNAPPROVED = frozenset({S.DRAFT, S.PENDING_INTERNAL_APPROVAL})
TRANSITIONS: tuple[tuple[Action, frozenset[Status], Status], ...] = (
    (Action.REQUEST_INTERNAL_APPROVAL, frozenset({S.DRAFT}), S.PENDING_INTERNAL_APPROVAL),
    (Action.APPROVE_INTERNAL, _UNAPPROVED, S.APPROVED_INTERNALLY),
    (Action.REJECT_INTERNAL, _UNAPPROVED, S.REJECTED_INTERNALLY),
    (Action.APPROVE_SUPPLIER, frozenset({S.APPROVED_INTERNALLY}), S.APPROVED),
    (Action.REJECT_SUPPLIER, frozenset({S.APPROVED_INTERNALLY}), S.REJECTED_BY_SUPPLIER),
    (Action.MARK_AS_SENT, frozenset({S.APPROVED}), S.SENT),
    (Action.RECEIVE_GOODS, frozenset({S.SENT, S.PARTIALLY_RECEIVED}), S.RECEIVED),
    (Action.RECEIVE_GOODS, frozenset({S.SENT, S.PARTIALLY_RECEIVED}), S.PARTIALLY_RECEIVED),
    (Action.CLOSE, frozenset({S.APPROVED, S.SENT, S.PARTIALLY_RECEIVED, S.RECEIVED}), S.CLOSED),
    (Action.CANCEL, _NON_TERMINAL, S.CANCELLED),
    (Action.REINSTATE, SETBACKS, S.DRAFT),
)  # fmt: skip
"""(action, statuses it is allowed from, status it leads to). receive-goods leads to
RECEIVED or PARTIALLY_RECEIVED depending on what was received."""


def status_of(code: str | None) -> Status | None:
    """A wire code as a Status, or None when it is not one of the lifecycle's codes."""
    try:
        return Status(code) if code is not None else None
    except ValueError:
        return None


def apply(current: str, action: str, *, complete: bool = True) -> Status:
    """The status ``action`` leads to from ``current``; raises when it is not allowed there.

    ``complete`` picks receive-goods' outcome: everything ordered arrived (RECEIVED) or not.
    """
    here = status_of(current)
    outcomes = [to for act, froms, to in TRANSITIONS if act == action and here in froms]
    if not outcomes:
        raise TransitionNotAllowed(SYSTEM, current, action)
    if len(outcomes) > 1:
        return S.RECEIVED if complete else S.PARTIALLY_RECEIVED
    return outcomes[0]


def steps(current: str | None, target: str | None) -> list[tuple[Action, Status]]:
    """Shortest sequence of (action, status reached) from ``current`` to ``target`` (BFS).

    A path never passes through a setback status (cancelled, rejected): moving "back" by
    cancelling and reinstating would destroy the order's history, so it is refused.
    """
    start, goal = status_of(current), status_of(target)
    if start is None or goal is None:
        raise TransitionNotAllowed(SYSTEM, current, target)
    came: dict[Status, tuple[Status, Action] | None] = {start: None}
    queue = deque([start])
    while queue and goal not in came:
        here = queue.popleft()
        for action, froms, to in TRANSITIONS:
            if here in froms and to not in came and (to == goal or to not in SETBACKS):
                came[to] = (here, action)
                queue.append(to)
    if goal not in came:
        raise TransitionNotAllowed(SYSTEM, current, target)
    return _unwind(came, goal)


def _unwind(
    came: dict[Status, tuple[Status, Action] | None], goal: Status
) -> list[tuple[Action, Status]]:
    out: list[tuple[Action, Status]] = []
    node = goal
    while (prev := came[node]) is not None:
        out.append((prev[1], node))
        node = prev[0]
    return out[::-1]


def plan(
    current: str | None, target: str | None, *, receiving: bool = False
) -> list[tuple[Action, Status]]:
    """``steps``, plus a receive-goods at the end when goods are to be received and the path
    to a PARTIALLY_RECEIVED target has none (a further partial receipt moves no status)."""
    path = steps(current, target)
    partial = status_of(target) is S.PARTIALLY_RECEIVED
    if receiving and partial and all(a is not Action.RECEIVE_GOODS for a, _ in path):
        path.append((Action.RECEIVE_GOODS, S.PARTIALLY_RECEIVED))
    return path


SUPPLIER_STEPS = frozenset({Action.APPROVE_SUPPLIER, Action.REJECT_SUPPLIER})
"""Actions that are the supplier's to take: the hub takes them only when its mapping says
``defaults.hubMayApproveForSupplier: true``."""


def path_to(current: str | None, target: str | None) -> list[Action]:
    """The actions that bring a PO from ``current`` to ``target`` (empty when already there)."""
    return [action for action, _ in steps(current, target)]
