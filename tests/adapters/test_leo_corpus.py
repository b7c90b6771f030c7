"""Leo status updates written by hand (adapters/leo/samples/corpus/), not the document's
placeholder sample: partial line and schedule statuses, an update with no document status,
an unknown line number, an unknown status code. Expected values follow the document
(leo-order-processAsync.txt): no field is required, statuses exist at document
(``status``), line (``lineInfo[].status``) and schedule (``scheduleInfo[].status``) level,
and the hub's mapping (mappings/leo.yaml) names the codes.

The corpus sits in ``samples/corpus/`` on purpose: the generated suites glob only
``samples/*.json``, and these payloads need a stored PO (or are meant to be refused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters import registry
from core.adapter import RemoteState, RenderContext
from core.errors import CannotExpress, InvalidInput, MappingMissing
from core.mapping.tables import Mapping
from core.model import (
    EventKind,
    Line,
    LineStatus,
    Party,
    PoEvent,
    PoStatus,
    PurchaseOrder,
    Schedule,
    StatusChange,
)
from core.state import apply_event
from tests.support import mappings

CORPUS = registry.samples_dir("leo") / "corpus"
LEO = registry.get("leo")
ENKASH = registry.get("enkash")


def body(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((CORPUS / f"{name}.json").read_bytes())
    return data


def headers(name: str) -> dict[str, str]:
    data: dict[str, str] = orjson.loads((CORPUS / "headers" / f"{name}.json").read_bytes())
    return data


def parse(data: dict[str, Any], name: str = "lines-only") -> PoEvent:
    (event,) = LEO.parse(orjson.dumps(data), mappings()["leo"], headers(name))
    return event


def parse_file(name: str) -> PoEvent:
    return parse(body(name), name)


def stored_po() -> PurchaseOrder:
    """PO-2024-0193 as the hub holds it: approved, from Uniware; line 20 delivers twice."""
    return PurchaseOrder(
        po_number="PO-2024-0193",
        status=PoStatus.APPROVED,
        source_status="APPROVED",
        buyer=Party(code="neemka"),
        supplier=Party(code="Sachin123"),
        remote_ids={"uniware": "PO-2024-0193"},
        lines=[
            Line(line_number="10", sku="SKU-BOLT-M8", status=PoStatus.APPROVED),
            Line(
                line_number="20",
                sku="SKU-NUT-M8",
                status=PoStatus.APPROVED,
                schedules=[
                    Schedule(number="1", status=PoStatus.APPROVED),
                    Schedule(number="2", status=PoStatus.APPROVED),
                ],
            ),
        ],
    )


def render_leo(event: PoEvent, state: PurchaseOrder | None, mapping: Mapping | None = None) -> Any:
    return LEO.render(event, RenderContext(mapping or mappings()["leo"], state))


# reading: partial statuses and their paths ------------------------------------------------


def test_partial_line_and_schedule_statuses_read_with_their_paths() -> None:
    event = parse_file("line-cancelled-schedule-delivered")
    change = event.status_change
    assert change is not None
    assert (change.to_status, change.source_to_status) == (PoStatus.PARTIALLY_RECEIVED,) * 2
    cancelled, delivering = change.lines
    assert (cancelled.line_number, cancelled.status, cancelled.path) == (
        "10",
        PoStatus.CANCELLED,
        "$.lineInfo[0]",
    )
    assert cancelled.schedules == []
    assert (delivering.line_number, delivering.status, delivering.path) == (
        "20",
        None,
        "$.lineInfo[1]",
    )
    (sched,) = delivering.schedules
    assert (sched.number, sched.status, sched.source_status, sched.path) == (
        "2",
        PoStatus.RECEIVED,
        "RECEIVED",
        "$.lineInfo[1].scheduleInfo[0]",
    )
    assert event.remote_ids == {"erp": "4500012345"}
    assert event.action == "POStatusUpdate"


def test_partial_statuses_reach_the_state_only_where_named() -> None:
    after = apply_event(stored_po(), parse_file("line-cancelled-schedule-delivered"))
    assert after is not None
    assert after.status is PoStatus.PARTIALLY_RECEIVED
    line10, line20 = after.lines
    assert line10.status is PoStatus.CANCELLED
    assert line20.status is PoStatus.APPROVED  # the update names no status for line 20
    assert [(s.number, s.status) for s in line20.schedules] == [
        ("1", PoStatus.APPROVED),
        ("2", PoStatus.RECEIVED),
    ]
    assert after.remote_ids["erp"] == "4500012345"


def test_an_update_without_document_status_is_accepted_and_changes_only_lines() -> None:
    event = parse_file("lines-only")
    change = event.status_change
    assert change is not None
    assert (change.to_status, change.source_to_status) == (None, None)
    after = apply_event(stored_po(), event)
    assert after is not None
    assert (after.status, after.source_status) == (PoStatus.APPROVED, "APPROVED")
    assert [ln.status for ln in after.lines] == [PoStatus.CANCELLED, PoStatus.APPROVED]
    assert after.lines[1].schedules[1].status is PoStatus.RECEIVED


def test_an_unknown_line_number_is_refused_at_its_path_by_the_core() -> None:
    event = parse_file("unknown-line")
    with pytest.raises(InvalidInput) as caught:
        apply_event(stored_po(), event)
    assert [(e.path, e.rule) for e in caught.value.errors] == [("$.lineInfo[1]", "known_line")]
    assert "'30'" in caught.value.errors[0].message


# unknown codes: refused at the border at every level --------------------------------------


def test_an_unknown_document_code_is_refused_at_its_path() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_file("unknown-code")
    err = caught.value.first
    assert (err.path, err.rule) == ("$.status", "known_status")
    assert "TYPO_APPROVD" in err.message


def test_unknown_line_and_schedule_codes_are_all_refused_at_their_paths() -> None:
    data = body("line-cancelled-schedule-delivered")
    data["status"] = "TYPO_APPROVD"
    data["lineInfo"][0]["status"] = "CANCELED"
    data["lineInfo"][1]["scheduleInfo"][0]["status"] = "DELIVERD"
    with pytest.raises(InvalidInput) as caught:
        parse(data)
    assert [(e.path, e.rule) for e in caught.value.errors] == [
        ("$.status", "known_status"),
        ("$.lineInfo[0].status", "known_status"),
        ("$.lineInfo[1].scheduleInfo[0].status", "known_status"),
    ]


# writing to Leo ---------------------------------------------------------------------------


def test_a_lines_only_update_round_trips_without_a_document_status() -> None:
    for state in (None, stored_po()):
        rendered = render_leo(parse_file("lines-only"), state)
        assert rendered.body == body("lines-only")
        assert rendered.calls[0].headers == headers("lines-only")


def test_a_lines_only_change_from_elsewhere_takes_the_stored_status_or_none() -> None:
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO-2024-0193",
        source_system="alphaalpha",
        status_change=StatusChange(lines=[LineStatus(line_number="10", status=PoStatus.CANCELLED)]),
    )
    assert render_leo(event, stored_po()).body["status"] == "APPROVED"
    nothing_known = render_leo(event, None).body
    assert "status" not in nothing_known  # nothing known: not guessed
    assert nothing_known["lineInfo"] == [
        {"lineNumber": "10", "status": "CANCELLED", "scheduleInfo": []}
    ]


def test_erp_number_is_leos_own_or_the_erp_of_records_never_the_bare_po_number() -> None:
    uniware = PoEvent(
        kind=EventKind.APPROVED, po_number="PO-2024-0193", source_system="uniware", po=stored_po()
    )
    assert render_leo(uniware, None).body["erpNumber"] == "PO-2024-0193"  # Uniware's number
    po = stored_po().model_copy(update={"remote_ids": {"appliqloud": "AQ-77"}})
    elsewhere = PoEvent(
        kind=EventKind.UPDATED, po_number="PO-2024-0193", source_system="appliqloud", po=po
    )
    assert render_leo(elsewhere, None).body["erpNumber"] is None
    po.remote_ids["erp"] = "4500012345"
    assert render_leo(elsewhere, None).body["erpNumber"] == "4500012345"


def test_leo_settings_come_from_the_event_or_the_operators_defaults() -> None:
    event = parse_file("line-cancelled-schedule-delivered")
    rendered = render_leo(event, stored_po())
    assert (rendered.body["lob"], rendered.body["subType"]) == ("RETAIL", "STANDARD")
    assert rendered.calls[0].headers == {
        "event": "POStatusUpdate",
        "subtypeAppId": "leo-po-interface",
    }
    data = {"system": "leo", "statuses": {"document": {"APPROVED": "APPROVED"}}}
    bare = Mapping.from_dict(data)
    uniware = PoEvent(
        kind=EventKind.APPROVED,
        po_number="PO-2024-0193",
        source_system="uniware",
        po=stored_po().model_copy(update={"lines": []}),
    )
    with pytest.raises(MappingMissing) as caught:
        render_leo(uniware, None, bare)
    assert (caught.value.table, caught.value.key, caught.value.path) == ("defaults", "lob", "$.lob")


# Leo's line-only change written to EnKash -------------------------------------------------


def test_a_line_only_change_cannot_be_said_to_enkash() -> None:
    event = parse_file("lines-only")
    state = apply_event(stored_po(), event)
    assert state is not None
    state.remote_ids["enkash"] = "6650f1c29b1e4a0012ab34cd"
    remote = RemoteState("6650f1c29b1e4a0012ab34cd", "APPROVED", 4)
    with pytest.raises(CannotExpress) as caught:
        ENKASH.render(event, RenderContext(mappings()["enkash"], state, remote))
    err = caught.value
    assert err.path == "$.poStatus.poStatusTransition"
    assert "line 10 CANCELLED" in err.reason and "no line field" in err.reason


def test_a_leo_update_with_a_document_status_is_said_to_enkash_without_its_lines() -> None:
    event = parse_file("line-cancelled-schedule-delivered")
    state = apply_event(stored_po(), event)
    assert state is not None
    state.remote_ids["enkash"] = "6650f1c29b1e4a0012ab34cd"
    remote = RemoteState(None, "APPROVED", 4)
    rendered = ENKASH.render(event, RenderContext(mappings()["enkash"], state, remote))
    status = rendered.body["poStatus"]
    assert status["objectId"] == "6650f1c29b1e4a0012ab34cd"
    assert status["objectVersion"] == {"currentVersion": 4, "newVersion": 5}
    assert status["poStatusTransition"] == {
        "currentStatus": "APPROVED",
        "newStatus": "PARTIALLY_RECEIVED",
    }
    assert (status["buyerAction"], status["buyerRemarks"]) == ("POStatusUpdate", "")


def test_corpus_files_are_not_picked_by_the_generated_suites() -> None:
    top = {p.name for p in registry.samples_dir("leo").glob("*.json")}
    assert not top & {p.name for p in CORPUS.glob("*.json")}
    assert Path(CORPUS / "headers").is_dir()
