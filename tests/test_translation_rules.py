"""The rules of issue 10 that live in core: defaults only from the file, many-to-one
crosswalks, unit conversion and integer-only targets, statuses refused when unknown, and
what events do to the PO's state (no status = no change, unknown lines refused, receipts)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import CannotExpress, InvalidInput, MappingMissing
from core.mapping.tables import Mapping
from core.model import (
    EventKind,
    Line,
    LineReceipt,
    LineStatus,
    PoEvent,
    PoStatus,
    PurchaseOrder,
    StatusChange,
)
from core.state import apply_event


def _mapping(**extra: object) -> Mapping:
    return Mapping.from_dict({"system": "t", **extra})


def test_a_default_comes_only_from_the_file() -> None:
    m = _mapping(defaults={"lob": "RETAIL", "note": None})
    assert m.default("lob") == "RETAIL"
    assert m.default("note") is None  # the admin chose: send null
    with pytest.raises(MappingMissing) as err:
        m.default("subType", "$.subType")
    assert err.value.table == "defaults" and err.value.path == "$.subType"


def test_explicit_reverse_table_wins_for_many_to_one() -> None:
    m = _mapping(
        crosswalks={"po_type": {"Manual": "LOCAL", "Auto": "LOCAL"}},
        reverse={"po_type": {"LOCAL": "Manual"}},
    )
    assert m.reverse("po_type", "LOCAL") == "Manual"
    assert m.reverse("po_type", "IMPORT") is None


def test_fraction_into_integer_only_target_is_refused_not_truncated() -> None:
    m = _mapping()
    with pytest.raises(CannotExpress) as err:
        m.quantity_out(Decimal("25.5"), "KG", "$.items[0].quantity", integer=True)
    assert err.value.path == "$.items[0].quantity" and "25.5" in err.value.reason
    assert m.quantity_out(Decimal("3"), "KG", "$", integer=True) == (Decimal(3), "KG", None)


def test_unit_conversion_rescales_quantity_and_price() -> None:
    m = _mapping(units={"map": {"G": "GRM"}, "convert": {"KG": {"to": "G", "factor": 1000}}})
    qty, unit, price = m.quantity_out(
        Decimal("25.5"), "KG", "$", integer=True, price=Decimal("120")
    )
    assert (qty, unit, price) == (Decimal("25500.0"), "GRM", Decimal("0.12"))


def test_conversion_rounding_only_when_the_row_says_so() -> None:
    refuse = _mapping(units={"convert": {"BOX": {"to": "BOX", "factor": 1}}})
    with pytest.raises(CannotExpress):
        refuse.quantity_out(Decimal("2.5"), "BOX", "$", integer=True)
    rounds = _mapping(units={"convert": {"BOX": {"to": "BOX", "factor": 1, "rounding": "up"}}})
    assert rounds.quantity_out(Decimal("2.1"), "BOX", "$", integer=True)[0] == Decimal(3)


def test_unit_default_is_never_written_for_a_line_without_unit() -> None:
    m = _mapping(units={"default": "EA"})
    assert m.unit_out(None) is None
    assert m.unit_in(None) == "EA"  # what the system's own payloads mean


def test_unknown_status_code_is_refused_with_its_path() -> None:
    m = _mapping(statuses={"document": {"APPROVED": "APPROVED"}})
    assert m.status_in_checked("APPROVED", "$.status") is PoStatus.APPROVED
    assert m.status_in_checked(None, "$.status") is None
    with pytest.raises(InvalidInput) as err:
        m.status_in_checked("TYPO_APPROVD", "$.status")
    assert err.value.first.path == "$.status" and err.value.first.rule == "known_status"


def _po(**kw: object) -> PurchaseOrder:
    lines = [
        Line(line_number="1", sku="A", quantity=Decimal(10), unit="EA"),
        Line(line_number="2", sku="B", quantity=Decimal(40), unit="EA"),
    ]
    return PurchaseOrder.model_validate(
        {"po_number": "PO-1", "status": PoStatus.SENT, "lines": lines, **kw}
    )


def test_a_full_po_without_status_changes_no_status() -> None:
    state = _po()
    update = _po(status=None)
    event = PoEvent(kind=EventKind.UPDATED, po_number="PO-1", source_system="x", po=update)
    after = apply_event(state, event)
    assert after is not None and after.status is PoStatus.SENT


def test_unknown_line_number_is_refused_at_its_path() -> None:
    change = StatusChange(
        lines=[LineStatus(line_number="9", status=PoStatus.CANCELLED, path="$.lineInfo[0]")]
    )
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED, po_number="PO-1", source_system="leo", status_change=change
    )
    with pytest.raises(InvalidInput) as err:
        apply_event(_po(), event)
    assert err.value.first.path == "$.lineInfo[0]" and err.value.first.rule == "known_line"


def test_line_status_only_change_keeps_document_status() -> None:
    change = StatusChange(lines=[LineStatus(line_number="2", status=PoStatus.CANCELLED)])
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED, po_number="PO-1", source_system="leo", status_change=change
    )
    after = apply_event(_po(), event)
    assert after is not None and after.status is PoStatus.SENT
    assert after.lines[1].status is PoStatus.CANCELLED


def _receipt(*parts: tuple[str, str]) -> PoEvent:
    return PoEvent(
        kind=EventKind.GOODS_RECEIVED, po_number="PO-1", source_system="alphaalpha",
        receipts=[LineReceipt(line_number=n, accepted=Decimal(q)) for n, q in parts],
    )  # fmt: skip


def test_partial_receipt_then_the_rest() -> None:
    first = apply_event(_po(), _receipt(("2", "15")))
    assert first is not None and first.status is PoStatus.PARTIALLY_RECEIVED
    assert first.lines[1].accepted_quantity == Decimal(15)
    rest = apply_event(first, _receipt(("1", "10"), ("2", "25")))
    assert rest is not None and rest.status is PoStatus.RECEIVED
    assert [ln.accepted_quantity for ln in rest.lines] == [Decimal(10), Decimal(40)]


def test_over_receipt_is_refused() -> None:
    first = apply_event(_po(), _receipt(("1", "10")))
    with pytest.raises(InvalidInput) as err:
        apply_event(first, _receipt(("1", "10")))
    assert err.value.first.rule == "not_above_ordered"


def test_received_totals_survive_a_resent_full_po() -> None:
    first = apply_event(_po(), _receipt(("2", "15")))
    again = PoEvent(kind=EventKind.UPDATED, po_number="PO-1", source_system="x", po=_po())
    after = apply_event(first, again)
    assert after is not None and after.lines[1].accepted_quantity == Decimal(15)
