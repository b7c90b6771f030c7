"""A PO's current canonical state, and what events do to it.

Full-document dialects (Uniware, AppliQloud, AlphaAlpha create) can only be written from a
whole PO, so a status-only event (Leo, EnKash) is merged into the stored state first;
status-only dialects, in turn, read their status view off a full PO.
"""

from __future__ import annotations

from core.errors import StateRequired
from core.model import LineStatus, PoEvent, PurchaseOrder, ScheduleStatus, StatusChange


def apply_event(state: PurchaseOrder | None, event: PoEvent) -> PurchaseOrder | None:
    """The PO after ``event``; a full PO replaces header and lines and bumps the version.

    Extensions under ``pohub.*`` are the hub's own notes (what each target last said) and
    survive a full replacement.
    """
    if event.po is not None:
        version = state.version + 1 if state is not None else event.po.version
        remote_ids = {
            **(state.remote_ids if state else {}),
            **event.remote_ids,
            **event.po.remote_ids,
        }
        hub_private = {
            k: v for k, v in (state.extensions if state else {}).items() if k.startswith("pohub.")
        }
        extensions = {**event.po.extensions, **hub_private}
        return event.po.model_copy(
            update={"version": version, "remote_ids": remote_ids, "extensions": extensions}
        )
    if state is None or event.status_change is None:
        return state
    merged = _apply_status(state, event.status_change)
    merged.remote_ids.update(event.remote_ids)
    return merged


def _apply_status(state: PurchaseOrder, change: StatusChange) -> PurchaseOrder:
    po = state.model_copy(deep=True)
    if change.to_status is not None or change.source_to_status is not None:
        po.status = change.to_status
        po.source_status = change.source_to_status
    if change.to_version is not None:
        po.version = change.to_version
    for line_change in change.lines:
        line = po.line(line_change.line_number)
        if line is None:
            continue
        if line_change.status is not None or line_change.source_status is not None:
            line.status = line_change.status
            line.source_status = line_change.source_status
        known = {s.number: s for s in line.schedules}
        for sched in line_change.schedules:
            if sched.number in known:
                known[sched.number].status = sched.status
                known[sched.number].source_status = sched.source_status
    return po


def full_po(event: PoEvent, state: PurchaseOrder | None, system: str) -> PurchaseOrder:
    """The whole PO a full-document target is rendered from."""
    if event.po is not None:
        return event.po
    merged = apply_event(state, event)
    if merged is None:
        raise StateRequired(system, event.po_number)
    return merged


def status_view(event: PoEvent, state: PurchaseOrder | None) -> StatusChange:
    """The status change a status-only target is told about, read off any event."""
    if event.status_change is not None:
        return event.status_change
    po = event.po
    if po is None:
        return StatusChange()
    return StatusChange(
        from_status=state.status if state else None,
        to_status=po.status,
        source_to_status=po.source_status,
        from_version=state.version if state else None,
        to_version=po.version,
        lines=[
            LineStatus(
                line_number=line.line_number,
                status=line.status or po.status,
                source_status=line.source_status,
                schedules=[
                    ScheduleStatus(number=s.number, status=s.status, source_status=s.source_status)
                    for s in line.schedules
                ],
            )
            for line in po.lines
        ],
    )
