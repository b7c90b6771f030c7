"""The echo rule of ``gateway.identity`` on canonical events (no I/O)."""

from __future__ import annotations

from decimal import Decimal

from core.model import EventKind, Line, PoEvent, PoStatus, PurchaseOrder, StatusChange
from gateway import identity

AA = "alphaalpha"


def po(
    status: str = "APPROVED_INTERNALLY", quantity: str = "6", sku: str | None = "Shirt27"
) -> PurchaseOrder:
    line = Line(line_number="1", sku=sku, quantity=Decimal(quantity), unit_price=Decimal("100"))
    return PurchaseOrder(po_number="PO-1", status=PoStatus.APPROVED, source_status=status,
                         lines=[line])  # fmt: skip


def polled(order: PurchaseOrder) -> PoEvent:
    return PoEvent(kind=EventKind.UPDATED, po_number="AA-PO-1", source_system=AA, po=order)


def state_written_by_hub() -> PurchaseOrder:
    """The hub wrote PO-1 to AlphaAlpha, which answered APPROVED_INTERNALLY."""
    hub = PoEvent(kind=EventKind.CREATED, po_number="PO-1", source_system="uniware",
                  po=po(status="APPROVED").model_copy(update={"lines": [
                      Line(line_number="1", sku="Shirt27", quantity=Decimal("6.0"),
                           unit_price=Decimal("100.00"))]}))  # fmt: skip
    mark = identity.written_mark(hub, None, AA, "d-1", "APPROVED_INTERNALLY", None)
    return po().model_copy(update={"extensions": {identity.REMOTE: {AA: {"written": mark}}}})


def test_what_the_hub_left_there_is_an_echo_whatever_the_number_formatting() -> None:
    assert identity.echo_of(AA, polled(po()), state_written_by_hub()) == "d-1"


def test_another_status_or_other_lines_are_real_changes() -> None:
    state = state_written_by_hub()
    assert identity.echo_of(AA, polled(po(status="CANCELLED")), state) is None
    assert identity.echo_of(AA, polled(po(quantity="7")), state) is None


def test_a_line_no_crosswalk_names_is_routed() -> None:
    assert identity.echo_of(AA, polled(po(sku=None)), state_written_by_hub()) is None


def test_without_a_mark_or_from_another_system_nothing_is_an_echo() -> None:
    assert identity.echo_of(AA, polled(po()), po()) is None
    assert identity.echo_of("enkash", polled(po()), state_written_by_hub()) is None


def test_a_version_other_than_the_one_the_hub_left_is_a_real_change() -> None:
    hub = PoEvent(kind=EventKind.STATUS_CHANGED, po_number="PO-1", source_system="uniware",
                  status_change=StatusChange(to_status=PoStatus.APPROVED))  # fmt: skip
    mark = identity.written_mark(hub, po(), "enkash", "d-2", None, 3)
    state = po().model_copy(update={"extensions": {identity.REMOTE: {"enkash": {"written": mark}}}})

    def change(version: int) -> PoEvent:
        moved = StatusChange(to_status=PoStatus.APPROVED, source_to_status="APPROVED",
                             to_version=version)  # fmt: skip
        return PoEvent(kind=EventKind.STATUS_CHANGED, po_number="PO-1", source_system="enkash",
                       status_change=moved)  # fmt: skip

    assert identity.echo_of("enkash", change(3), state) == "d-2"
    assert identity.echo_of("enkash", change(4), state) is None


def test_a_real_change_clears_the_mark_and_becomes_the_known_status() -> None:
    after = identity.noted(state_written_by_hub(), AA, polled(po(status="CANCELLED")))
    assert after is not None
    assert after.extensions[identity.REMOTE][AA] == {"status": "CANCELLED"}
    assert identity.echo_of(AA, polled(po()), after) is None, "back to the old write: not an echo"


def test_a_late_report_of_an_older_version_does_not_move_the_known_version_back() -> None:
    """Chaos: EnKash's own event (version 0 -> 1) reached the hub after the hub had written
    version 2 -> 3 there (its sender retried it). Taking it as EnKash's version made the
    next change name currentVersion 1: STALE_VERSION, dead."""
    hub = PoEvent(kind=EventKind.STATUS_CHANGED, po_number="PO-1", source_system="leo",
                  status_change=StatusChange(to_status=PoStatus.APPROVED))  # fmt: skip
    mark = identity.written_mark(hub, po(), "enkash", "d-3", "APPROVED", 3)
    state = po().model_copy(update={"extensions": {identity.REMOTE: {"enkash": {
        "status": "APPROVED", "version": 3, "written": mark}}}})  # fmt: skip
    late = PoEvent(kind=EventKind.STATUS_CHANGED, po_number="PO-1", source_system="enkash",
                   status_change=StatusChange(to_status=PoStatus.PENDING_APPROVAL,
                                              source_to_status="PENDING_APPROVAL",
                                              to_version=1))  # fmt: skip
    after = identity.noted(state, "enkash", late)
    assert after is not None
    known = after.extensions[identity.REMOTE]["enkash"]
    assert (known["status"], known["version"]) == ("APPROVED", 3)
    newer = late.model_copy(update={"status_change": StatusChange(
        to_status=PoStatus.CONFIRMED, source_to_status="CONFIRMED", to_version=4)})  # fmt: skip
    moved = identity.noted(state, "enkash", newer)
    assert moved is not None
    assert moved.extensions[identity.REMOTE]["enkash"] == {"status": "CONFIRMED", "version": 4}
