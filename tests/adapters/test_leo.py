"""Leo ``processAsync`` adapter: validation rules, both header spellings, render, replies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters.leo import SYSTEM as DECLARED
from adapters.leo.replies import Reply, read_reply
from core.adapter import RenderContext
from core.errors import InvalidInput, MappingMissing
from core.mapping.loader import parse_mapping
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

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "adapters" / "leo" / "samples"
SAMPLE = SAMPLES / "process-async.json"
PATH = "/leo-order-domaingateway-api/api/v2/Order/processAsync"


def _mapping(**changes: Any) -> Mapping:
    import yaml

    data = yaml.safe_load((ROOT / "mappings" / "leo.yaml").read_text())
    data.update(changes)
    mapping, problems = parse_mapping(
        orjson.dumps(data).decode(), "leo.yaml", DECLARED.adapter.spec, "leo"
    )
    assert mapping is not None, problems
    return mapping


MAPPING = _mapping()


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(SAMPLE.read_bytes())
    body.update(changes)
    return body


def _parse(body: Any, headers: dict[str, str] | None = None) -> PoEvent:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    events = DECLARED.adapter.parse(raw, MAPPING, headers)
    assert len(events) == 1
    return events[0]


def _render(event: PoEvent, state: PurchaseOrder | None = None, mapping: Mapping = MAPPING) -> Any:
    return DECLARED.adapter.render(event, RenderContext(mapping, state))


def _round_trip(body: Any, headers: dict[str, str] | None = None) -> Any:
    return DECLARED.adapter.combine(
        [_render(ev) for ev in DECLARED.adapter.parse(orjson.dumps(body), MAPPING, headers)]
    )


# mapping ----------------------------------------------------------------------------------


def test_mapping_writes_every_status_at_every_level() -> None:
    for level in ("document", "line", "schedule"):
        for status in PoStatus:
            assert MAPPING.status_out(status, level)
        assert MAPPING.status_in("string", level) is PoStatus.IN_PROGRESS


# the sample -------------------------------------------------------------------------------


def test_sample_round_trips_with_its_headers() -> None:
    headers = orjson.loads((SAMPLES / "headers" / SAMPLE.name).read_bytes())
    events = DECLARED.adapter.parse(SAMPLE.read_bytes(), MAPPING, headers)
    rendered = [_render(ev) for ev in events]
    assert DECLARED.adapter.combine(rendered) == orjson.loads(SAMPLE.read_bytes())
    call = rendered[0].calls[0]
    assert (call.method, call.path, call.headers) == ("POST", PATH, headers)


def test_sample_reads_as_a_status_change() -> None:
    event = _parse(SAMPLE.read_bytes(), {"event": "POStatusUpdate", "subtypeAppId": "app"})
    assert event.kind is EventKind.STATUS_CHANGED
    assert (event.po_number, event.action, event.error_message) == (
        "string",
        "POStatusUpdate",
        "string",
    )
    assert event.remote_ids == {"erp": "string"}
    assert event.po is None
    change = event.status_change
    assert change is not None
    assert (change.to_status, change.source_to_status) == (PoStatus.IN_PROGRESS, "string")
    line = change.lines[0]
    assert (line.line_number, line.status, line.source_status) == (
        "string",
        PoStatus.IN_PROGRESS,
        "string",
    )
    sched = line.schedules[0]
    assert (sched.number, sched.status, sched.source_status) == (
        "string",
        PoStatus.IN_PROGRESS,
        "string",
    )
    assert event.extensions["leo"] == {"lob": "string", "subType": "string", "subtypeAppId": "app"}


# validation -------------------------------------------------------------------------------

_LINE = {"lineNumber": "1", "status": "SENT", "scheduleInfo": [{"scheduleNumber": "1"}]}


@pytest.mark.parametrize(
    ("body", "path", "rule"),
    [
        ({"status": "SENT"}, "$.documentNumber", "missing"),
        (_body(documentNumber=12), "$.documentNumber", "string_type"),
        (_body(status=3), "$.status", "string_type"),
        (_body(lob=1), "$.lob", "string_type"),
        (_body(errorMessage=False), "$.errorMessage", "string_type"),
        (_body(erpNumber=42), "$.erpNumber", "string_type"),
        (_body(subType=[]), "$.subType", "string_type"),
        (_body(lineInfo={"lineNumber": "1"}), "$.lineInfo", "list_type"),
        (_body(lineInfo=[{"status": "SENT"}]), "$.lineInfo[0].lineNumber", "missing"),
        (_body(lineInfo=[{"lineNumber": 1}]), "$.lineInfo[0].lineNumber", "string_type"),
        (_body(lineInfo=[{"lineNumber": "1", "status": 2}]), "$.lineInfo[0].status", "string_type"),
        (
            _body(lineInfo=[{"lineNumber": "1", "scheduleInfo": "x"}]),
            "$.lineInfo[0].scheduleInfo",
            "list_type",
        ),
        (
            _body(lineInfo=[{"lineNumber": "1", "scheduleInfo": [{"status": "SENT"}]}]),
            "$.lineInfo[0].scheduleInfo[0].scheduleNumber",
            "missing",
        ),
        (
            _body(
                lineInfo=[
                    {"lineNumber": "1", "scheduleInfo": [{"scheduleNumber": "1", "status": 1}]}
                ]
            ),
            "$.lineInfo[0].scheduleInfo[0].status",
            "string_type",
        ),
        (_body(documentNumber=" "), "$.documentNumber", "not_blank"),
        (_body(status=""), "$.status", "known_status"),
        (_body(status="HOLD"), "$.status", "known_status"),
        (
            _body(lineInfo=[{"lineNumber": "1", "status": "X"}]),
            "$.lineInfo[0].status",
            "known_status",
        ),
        (_body(lineInfo=[{"lineNumber": ""}]), "$.lineInfo[0].lineNumber", "not_blank"),
        (
            _body(lineInfo=[{"lineNumber": "1", "scheduleInfo": [{"scheduleNumber": " "}]}]),
            "$.lineInfo[0].scheduleInfo[0].scheduleNumber",
            "not_blank",
        ),
        (_body(lineInfo=[_LINE, _LINE]), "$.lineInfo[1].lineNumber", "unique_line_number"),
        (
            _body(lineInfo=[{"lineNumber": "1", "scheduleInfo": [{"scheduleNumber": "A"}] * 2}]),
            "$.lineInfo[0].scheduleInfo[1].scheduleNumber",
            "unique_schedule_number",
        ),
        (b"{not json", "$", "json_invalid"),
        ([], "$", "model_type"),
    ],
)
def test_invalid_payloads_name_path_and_rule(body: Any, path: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _parse(body)
    assert (caught.value.first.path, caught.value.first.rule) == (path, rule)


def test_every_broken_rule_is_reported() -> None:
    body = _body(documentNumber="", lineInfo=[_LINE, _LINE])
    with pytest.raises(InvalidInput) as caught:
        _parse(body)
    assert [(e.path, e.rule) for e in caught.value.errors] == [
        ("$.documentNumber", "not_blank"),
        ("$.lineInfo[1].lineNumber", "unique_line_number"),
    ]


# contradictions and optional fields -------------------------------------------------------


@pytest.mark.parametrize("name", ["subtypeAppId", "subtypeApplId", "SUBTYPEAPPID", "subtypeapplid"])
def test_both_spellings_of_the_subtype_header_are_read(name: str) -> None:
    event = _parse(_body(), {name: "app-7", "Event": "Cmd"})
    assert event.extensions["leo"]["subtypeAppId"] == "app-7"
    assert event.action == "Cmd"
    headers = _render(event).calls[0].headers
    assert headers == {"event": "Cmd", "subtypeAppId": "app-7"}


def test_the_curl_spelling_wins_when_both_are_sent() -> None:
    event = _parse(_body(), {"subtypeApplId": "table", "subtypeAppId": "curl"})
    assert event.extensions["leo"]["subtypeAppId"] == "curl"


def test_without_headers_render_uses_the_mapping_defaults() -> None:
    headers = _render(_parse(_body())).calls[0].headers
    assert headers == {"event": "POStatusUpdate", "subtypeAppId": "pohub"}


@pytest.mark.parametrize(
    "body",
    [
        {"documentNumber": "PO1", "status": "SENT"},
        {
            "documentNumber": "PO1",
            "status": "SENT",
            "lob": None,
            "errorMessage": None,
            "erpNumber": None,
            "subType": None,
            "lineInfo": None,
        },
        {"documentNumber": "PO1", "status": "SENT", "lineInfo": []},
        {
            "documentNumber": "PO1",
            "status": "SENT",
            "erpNumber": "",
            "errorMessage": "",
            "lineInfo": [
                {"lineNumber": "1"},
                {"lineNumber": "2", "status": None, "scheduleInfo": None},
                {"lineNumber": "3", "scheduleInfo": [{"scheduleNumber": "1"}]},
                {
                    "lineNumber": "4",
                    "status": "CANCELLED",
                    "scheduleInfo": [{"scheduleNumber": "1", "status": None}],
                },
            ],
        },
        {
            "documentNumber": "PO1",
            "status": "IN_PROGRESS",
            "vendorNote": {"a": 1},
            "lineInfo": [
                {
                    "lineNumber": "1",
                    "status": "string",
                    "qty": 3,
                    "scheduleInfo": [
                        {"scheduleNumber": "1", "status": "RECEIVED", "date": "2024-01-01"}
                    ],
                }
            ],
        },
        {"documentNumber": "PO1", "lineInfo": [{"lineNumber": "1", "status": "CANCELLED"}]},
        {"documentNumber": "PO1", "status": None, "errorMessage": "ERP down"},
    ],
)
def test_absent_null_and_unknown_keys_round_trip(body: dict[str, Any]) -> None:
    assert _round_trip(body) == body


def test_unknown_codes_are_refused_at_every_level_all_at_once() -> None:
    line = {
        "lineNumber": "1",
        "status": "HOLD",
        "scheduleInfo": [{"scheduleNumber": "1", "status": "ODD"}],
    }
    with pytest.raises(InvalidInput) as caught:
        _parse(_body(status="HOLD", lineInfo=[line]))
    assert [(e.path, e.rule) for e in caught.value.errors] == [
        ("$.status", "known_status"),
        ("$.lineInfo[0].status", "known_status"),
        ("$.lineInfo[0].scheduleInfo[0].status", "known_status"),
    ]


# render from other systems ----------------------------------------------------------------


def _full_po(
    status: PoStatus | None = PoStatus.APPROVED, source: str | None = "APPROVED"
) -> PoEvent:
    po = PurchaseOrder(
        po_number="PO0194",
        supplier=Party(code="Sachin123"),
        status=status,
        source_status=source,
        remote_ids={"uniware": "PO0194"},
        lines=[
            Line(line_number="1", sku="Shirt27"),
            Line(
                line_number="2",
                status=PoStatus.PARTIALLY_RECEIVED,
                schedules=[Schedule(number="S1"), Schedule(number="S2", status=PoStatus.RECEIVED)],
            ),
        ],
    )
    return PoEvent(kind=EventKind.APPROVED, po_number="PO0194", source_system="uniware", po=po)


def test_render_a_full_po_from_another_system() -> None:
    rendered = _render(_full_po())
    assert rendered.body == {
        "documentNumber": "PO0194",
        "lob": "DEFAULT",
        "status": "APPROVED",
        "errorMessage": None,
        "erpNumber": "PO0194",
        "subType": "PO",
        "lineInfo": [
            {"lineNumber": "1", "status": "APPROVED", "scheduleInfo": []},
            {
                "lineNumber": "2",
                "status": "PARTIALLY_RECEIVED",
                "scheduleInfo": [
                    {"scheduleNumber": "S1", "status": "PARTIALLY_RECEIVED"},
                    {"scheduleNumber": "S2", "status": "RECEIVED"},
                ],
            },
        ],
    }
    call = rendered.calls[0]
    assert (call.method, call.path) == ("POST", PATH)
    assert call.headers == {"event": "POStatusUpdate", "subtypeAppId": "pohub"}


def test_render_a_status_event_from_another_system_with_the_erp_number_of_the_state() -> None:
    state = _full_po().po
    assert state is not None
    state.remote_ids["erp"] = "ERP-9"
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO0194",
        source_system="enkash",
        action="approve",
        error_message="late",
        status_change=StatusChange(
            to_status=PoStatus.CLOSED,
            source_to_status="CLOSED_BY_BUYER",
            lines=[LineStatus(line_number="1", status=PoStatus.CLOSED)],
        ),
    )
    body = _render(event, state).body
    assert (body["status"], body["erpNumber"], body["errorMessage"]) == ("CLOSED", "ERP-9", "late")
    assert body["lineInfo"] == [{"lineNumber": "1", "status": "CLOSED", "scheduleInfo": []}]
    # another system's action is not a Leo command
    assert _render(event, state).calls[0].headers["event"] == "POStatusUpdate"


def test_event_erp_number_wins_over_the_state() -> None:
    state = _full_po().po
    assert state is not None
    state.remote_ids["erp"] = "OLD"
    event = _parse(_body(erpNumber="NEW"))
    assert _render(event, state).body["erpNumber"] == "NEW"


def test_a_change_without_a_status_keeps_the_stored_one() -> None:
    state = _full_po(PoStatus.SENT, "SENT").po
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO0194",
        source_system="enkash",
        status_change=StatusChange(lines=[LineStatus(line_number="1", status=PoStatus.RECEIVED)]),
    )
    assert _render(event, state).body["status"] == "SENT"


def test_an_unmapped_status_of_another_system_is_a_missing_mapping_named_by_its_code() -> None:
    with pytest.raises(MappingMissing) as caught:
        _render(_full_po(status=None, source="ON_HOLD"))
    err = caught.value
    assert (err.table, err.key, err.path) == ("statuses.document", "ON_HOLD", "$.status")


def test_a_status_missing_from_the_table_names_table_key_and_path() -> None:
    statuses = {"document": {"APPROVED": "APPROVED"}, "line": {}, "schedule": {}}
    mapping = _mapping(statuses=statuses)
    with pytest.raises(MappingMissing) as caught:
        _render(_full_po(), mapping=mapping)
    err = caught.value
    assert (err.table, err.key, err.path) == ("statuses.line", "APPROVED", "$.lineInfo[0].status")


def test_a_missing_default_is_a_missing_mapping() -> None:
    mapping = Mapping.from_dict({"system": "leo", "statuses": {"document": {"APPROVED": "A"}}})
    with pytest.raises(MappingMissing) as caught:
        _render(_full_po(), mapping=mapping)
    assert (caught.value.table, caught.value.key) == ("defaults", "lob")


def test_no_status_anywhere_is_left_out_not_guessed() -> None:
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO1",
        source_system="enkash",
        status_change=StatusChange(),
    )
    assert "status" not in _render(event).body


# replies ----------------------------------------------------------------------------------


def test_reply_sample_parses() -> None:
    for file in sorted((SAMPLES / "replies").glob("*.json")):
        reply = read_reply(file.read_bytes())
        assert not reply.failed


def test_reply_constructors_and_reading() -> None:
    ok = Reply.accepted({"id": "1"})
    assert (ok.hasData, ok.hasException, ok.failed) == (True, False, False)
    bad = Reply.error("no such document")
    assert bad.failed and bad.hasException and not bad.hasData
    assert read_reply(bad.model_dump_json().encode()) == bad
    assert read_reply(b"") == Reply.accepted()
    assert read_reply(b'{"exception": {"m": 1}, "hasData": false, "hasException": false}').failed
    with pytest.raises(ValueError):
        read_reply(b'{"hasData": "yes", "hasException": false}')
