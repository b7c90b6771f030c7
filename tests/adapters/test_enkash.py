"""EnKash-specific readings: required envelope, integer versions, parties and statuses."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters import registry
from adapters.enkash.replies import Reply
from adapters.enkash.schema import PATH, StatusChangeRequest
from core.adapter import RemoteState, RenderContext
from core.errors import CannotExpress, IdentityMissing, InvalidInput, MappingMissing, StateRequired
from core.mapping.loader import parse_mapping
from core.mapping.tables import Mapping
from core.model import (
    EventKind,
    LineStatus,
    Party,
    PoEvent,
    PoStatus,
    PurchaseOrder,
    StatusChange,
)
from gateway.mappings.files import load_mapping

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = registry.samples_dir("enkash")
SAMPLE = SAMPLES / "status-change-request.json"
REPLY = SAMPLES / "replies" / "status-change-response.json"
ADAPTER = registry.get("enkash")
KNOWN = RemoteState("OBJ-7", "CREATED", 3)
"""What EnKash told the hub of PO0194: its objectId, current status and version."""


@cache
def mapping(system: str = "enkash") -> Mapping:
    return load_mapping(ROOT / "mappings", system)


def doc() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(SAMPLE.read_bytes())
    return data


def parse(d: Any, m: Mapping | None = None) -> PoEvent:
    return ADAPTER.parse(orjson.dumps(d), m or mapping())[0]


def render(event: PoEvent, **ctx: Any) -> Any:
    return ADAPTER.render(event, RenderContext(ctx.pop("m", None) or mapping(), **ctx)).body


def round_trip(d: dict[str, Any]) -> Any:
    return ADAPTER.combine([ADAPTER.render(parse(d), RenderContext(mapping()))])


def uniware_po() -> PurchaseOrder:
    body = (registry.samples_dir("uniware") / "approved-po.json").read_bytes()
    po = registry.get("uniware").parse(body, mapping("uniware"))[0].po
    assert po is not None
    return po


def errors_of(d: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as exc:
        parse(d)
    return [(e.path, e.rule) for e in exc.value.errors]


# -- reading ---------------------------------------------------------------------------


def test_sample_reads_into_a_status_change() -> None:
    event = parse(doc())
    assert event.kind is EventKind.STATUS_CHANGED and event.po is None
    assert (event.po_number, event.remote_ids) == ("string", {"enkash": "string"})
    change = event.status_change
    assert change is not None
    assert (change.from_status, change.to_status) == (PoStatus.CREATED, PoStatus.CREATED)
    assert (change.source_from_status, change.source_to_status) == ("CREATED", "CREATED")
    assert (change.from_version, change.to_version) == (0, 0)
    assert (event.action, event.remarks, event.occurred_at) == ("string", "string", None)
    ext = event.extensions["enkash"]
    assert ext["b2bIds"] == {"buyerB2BId": "string", "supplierB2BId": "string"}
    assert (ext["buyer"], ext["vendor"]) == ("neemka", "Sachin123")  # placeholders read back


def test_sample_round_trips_unchanged() -> None:
    assert round_trip(doc()) == doc()


def test_unknown_parties_are_kept_without_hub_keys() -> None:
    d = doc()
    d["b2bIds"] = {"buyerB2BId": "B-9", "supplierB2BId": "S-9"}
    ext = parse(d).extensions["enkash"]
    assert (ext["buyer"], ext["vendor"]) == (None, None)
    assert round_trip(d) == d


def test_sender_added_fields_at_every_level_round_trip() -> None:
    d = doc()
    d["extraTop"] = {"a": 1}
    d["device"]["os"] = "android"
    d["device"]["tag"]["accuracy"] = 5
    d["b2bIds"]["gstin"] = "29ABCDE"
    d["poStatus"]["reason"] = "x"
    d["poStatus"]["objectVersion"]["at"] = "t"
    d["poStatus"]["poStatusTransition"]["by"] = "u"
    d["additionalInfos"][0]["kind"] = "k"
    assert round_trip(d) == d


# -- the document's rules --------------------------------------------------------------

REQUIRED = [
    ("device",),
    ("device", "tag"),
    ("b2bIds",),
    ("b2bIds", "buyerB2BId"),
    ("b2bIds", "supplierB2BId"),
    ("poStatus",),
    ("poStatus", "objectId"),
    ("poStatus", "buyerPONumber"),
    ("poStatus", "objectVersion"),
    ("poStatus", "objectVersion", "currentVersion"),
    ("poStatus", "objectVersion", "newVersion"),
    ("poStatus", "buyerAction"),
    ("poStatus", "buyerRemarks"),
    ("poStatus", "poStatusTransition"),
    ("poStatus", "poStatusTransition", "currentStatus"),
    ("poStatus", "poStatusTransition", "newStatus"),
    ("additionalInfos",),
]


def _at(d: dict[str, Any], loc: tuple[str, ...]) -> dict[str, Any]:
    for part in loc[:-1]:
        d = d[part]
    return d


@pytest.mark.parametrize("loc", REQUIRED, ids=".".join)
def test_each_required_field_missing_is_refused_at_its_path(loc: tuple[str, ...]) -> None:
    d = doc()
    del _at(d, loc)[loc[-1]]
    assert ("$." + ".".join(loc), "missing") in errors_of(d)


@pytest.mark.parametrize("loc", REQUIRED, ids=".".join)
def test_required_field_null_is_refused(loc: tuple[str, ...]) -> None:
    d = doc()
    _at(d, loc)[loc[-1]] = None
    paths = [p for p, _ in errors_of(d)]
    assert "$." + ".".join(loc) in paths


@pytest.mark.parametrize(
    "path",
    [
        "$.b2bIds.buyerB2BId",
        "$.b2bIds.supplierB2BId",
        "$.poStatus.objectId",
        "$.poStatus.buyerPONumber",
        "$.poStatus.poStatusTransition.currentStatus",
        "$.poStatus.poStatusTransition.newStatus",
    ],
)
def test_blank_identifier_is_refused_as_required(path: str) -> None:
    d = doc()
    loc = tuple(path[2:].split("."))
    _at(d, loc)[loc[-1]] = "  "
    assert errors_of(d) == [(path, "required")]


def test_every_blank_identifier_is_listed() -> None:
    d = doc()
    d["b2bIds"] = {"buyerB2BId": "", "supplierB2BId": ""}
    d["poStatus"]["objectId"] = ""
    assert [p for p, _ in errors_of(d)] == [
        "$.b2bIds.buyerB2BId",
        "$.b2bIds.supplierB2BId",
        "$.poStatus.objectId",
    ]


@pytest.mark.parametrize("value", ["0", 1.5, True, None])
@pytest.mark.parametrize("name", ["currentVersion", "newVersion"])
def test_versions_are_integers(name: str, value: Any) -> None:
    d = doc()
    d["poStatus"]["objectVersion"][name] = value
    assert errors_of(d) == [(f"$.poStatus.objectVersion.{name}", "int_type")]


def test_additional_infos_must_be_an_array_of_objects() -> None:
    d = doc()
    d["additionalInfos"] = {"name": "a"}
    assert errors_of(d) == [("$.additionalInfos", "list_type")]
    d["additionalInfos"] = ["a"]
    assert errors_of(d)[0][0] == "$.additionalInfos[0]"
    d["additionalInfos"] = [{"name": 1}]
    assert errors_of(d) == [("$.additionalInfos[0].name", "string_type")]


@pytest.mark.parametrize("body", [b"", b"{", b"[]"])
def test_the_curl_samples_empty_body_is_refused_at_root(body: bytes) -> None:
    """The document's curl sends ``--data-raw ''``; the schema requires the envelope."""
    with pytest.raises(InvalidInput) as exc:
        ADAPTER.parse(body, mapping())
    assert exc.value.first.path == "$"


# -- both readings of what the document leaves open ------------------------------------


def test_optional_names_and_values_may_be_absent_or_null_and_stay_so() -> None:
    d = doc()
    d["device"]["tag"] = {}
    d["additionalInfos"] = [{}, {"name": "only"}, {"value": None}]
    assert round_trip(d) == d


def test_empty_texts_and_empty_additional_infos_are_accepted() -> None:
    d = doc()
    d["poStatus"].update(buyerAction="", buyerRemarks="")
    d["additionalInfos"] = []
    assert round_trip(d) == d


def test_unknown_status_codes_are_refused_at_their_paths() -> None:
    d = doc()
    d["poStatus"]["poStatusTransition"] = {"currentStatus": "ON_HOLD", "newStatus": "PAID"}
    assert errors_of(d) == [
        ("$.poStatus.poStatusTransition.currentStatus", "known_status"),
        ("$.poStatus.poStatusTransition.newStatus", "known_status"),
    ]


def test_unmapped_code_names_itself_when_another_system_needs_it() -> None:
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO1",
        source_system="leo",
        status_change=StatusChange(to_status=None, source_to_status="WEIRD"),
    )
    with pytest.raises(MappingMissing) as exc:
        render(event, state=uniware_po(), remote=KNOWN)
    assert (exc.value.table, exc.value.key) == ("statuses.document", "WEIRD")
    assert exc.value.path == "$.poStatus.poStatusTransition.newStatus"


# -- writing ---------------------------------------------------------------------------


def test_full_po_renders_the_status_view_with_crosswalked_parties() -> None:
    po = uniware_po()
    event = PoEvent(kind=EventKind.APPROVED, po_number=po.po_number, source_system="uniware", po=po)
    call = ADAPTER.render(event, RenderContext(mapping(), remote=KNOWN)).calls[0]
    assert (call.method, call.path, PATH) == (
        "POST",
        PATH,
        "/api/v0/purchase-order/req-status-change",
    )
    assert call.json == {
        "device": {"tag": {}},
        "b2bIds": {"buyerB2BId": "string", "supplierB2BId": "string"},
        "poStatus": {
            "objectId": "OBJ-7",
            "buyerPONumber": "PO0194",
            "objectVersion": {"currentVersion": 3, "newVersion": 4},
            "buyerAction": "STATUS_CHANGE",
            "buyerRemarks": "",
            "poStatusTransition": {"currentStatus": "CREATED", "newStatus": "APPROVED"},
        },
        "additionalInfos": [{"name": "string", "value": "string"}],
    }
    StatusChangeRequest.model_validate(call.json)  # what we write, we can read


def test_status_only_event_takes_parties_and_id_from_state_and_version_from_enkash() -> None:
    state = uniware_po().model_copy(
        update={"version": 9, "remote_ids": {"enkash": "OBJ-7"}, "status": PoStatus.CANCELLED}
    )
    state.supplier = Party(code="Sachin123", ids={"enkash": "SUP-1"})
    state.buyer = Party(code="unknown-buyer")
    own_id = mapping().file.model_dump()
    own_id["defaults"]["buyerB2BId"] = "ENK-OPERATOR"
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO0194",
        source_system="leo",
        status_change=StatusChange(to_status=PoStatus.CANCELLED),
        action="cancel",
        remarks="no stock",
    )
    m = Mapping.from_dict(own_id, spec=ADAPTER.spec)
    body = render(event, m=m, state=state, remote=RemoteState(None, "APPROVED", 3))
    assert body["b2bIds"] == {"buyerB2BId": "ENK-OPERATOR", "supplierB2BId": "SUP-1"}
    status = body["poStatus"]
    assert status["objectId"] == "OBJ-7"
    assert status["objectVersion"] == {"currentVersion": 3, "newVersion": 4}  # not the hub's 9
    assert status["poStatusTransition"] == {"currentStatus": "APPROVED", "newStatus": "CANCELLED"}
    assert (status["buyerAction"], status["buyerRemarks"]) == ("cancel", "no stock")


def test_versions_follow_what_the_hub_saw_inside_enkash() -> None:
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO0194",
        source_system="canonical",
        status_change=StatusChange(to_status=PoStatus.SENT, from_version=1, to_version=2),
    )
    body = render(event, state=uniware_po(), remote=RemoteState("OBJ-1", "CONFIRMED", 5))
    # another system's own versions (1 -> 2) are not EnKash's
    assert body["poStatus"]["objectVersion"] == {"currentVersion": 5, "newVersion": 6}
    assert body["poStatus"]["poStatusTransition"]["currentStatus"] == "CONFIRMED"
    assert body["poStatus"]["objectId"] == "OBJ-1"


def test_a_full_po_without_enkash_status_takes_the_previous_stored_one() -> None:
    po = uniware_po()
    state = po.model_copy(update={"version": 3, "status": PoStatus.CREATED})
    event = PoEvent(kind=EventKind.APPROVED, po_number=po.po_number, source_system="uniware", po=po)
    status = render(event, state=state, remote=RemoteState("OBJ-7", None, 6))["poStatus"]
    assert status["objectVersion"] == {"currentVersion": 6, "newVersion": 7}
    assert status["poStatusTransition"] == {"currentStatus": "CREATED", "newStatus": "APPROVED"}


def test_nothing_learnt_from_enkash_is_identity_missing() -> None:
    po = uniware_po()
    event = PoEvent(kind=EventKind.APPROVED, po_number=po.po_number, source_system="uniware", po=po)
    with pytest.raises(IdentityMissing) as exc:
        render(event)
    assert (exc.value.what, exc.value.path) == ("objectId", "$.poStatus.objectId")
    with pytest.raises(IdentityMissing) as exc:
        render(event, remote=RemoteState("OBJ-7", "CREATED", None))
    assert exc.value.what == "objectVersion"
    with pytest.raises(IdentityMissing) as exc:
        render(event, remote=RemoteState("OBJ-7", None, 3))
    assert exc.value.path == "$.poStatus.poStatusTransition.currentStatus"


def test_every_canonical_status_can_be_written() -> None:
    for status in PoStatus:
        event = PoEvent(
            kind=EventKind.STATUS_CHANGED,
            po_number="PO0194",
            source_system="canonical",
            status_change=StatusChange(from_status=status, to_status=status),
        )
        body = render(event, state=uniware_po(), remote=KNOWN)
        transition = body["poStatus"]["poStatusTransition"]
        assert mapping().status_in(transition["newStatus"]) is status


def test_supplier_without_a_row_is_mapping_missing() -> None:
    po = uniware_po()
    po.supplier = Party(code="NOBODY")
    event = PoEvent(kind=EventKind.UPDATED, po_number=po.po_number, source_system="uniware", po=po)
    with pytest.raises(MappingMissing) as exc:
        render(event, remote=KNOWN)
    assert (exc.value.table, exc.value.key) == ("crosswalks.vendor", "NOBODY")
    assert exc.value.path == "$.b2bIds.supplierB2BId"


def test_a_change_without_a_document_status_cannot_be_said() -> None:
    lines = [LineStatus(line_number="1", status=PoStatus.CANCELLED)]
    for change, words in (
        (StatusChange(lines=lines), "line 1 CANCELLED"),
        (StatusChange(), "names no document status"),
    ):
        event = PoEvent(
            kind=EventKind.STATUS_CHANGED,
            po_number="PO0194",
            source_system="leo",
            status_change=change,
        )
        with pytest.raises(CannotExpress) as exc:
            render(event, state=uniware_po(), remote=KNOWN)
        assert exc.value.path == "$.poStatus.poStatusTransition" and words in exc.value.reason


def test_status_event_with_no_po_anywhere_needs_state() -> None:
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO9",
        source_system="leo",
        status_change=StatusChange(to_status=PoStatus.SENT),
    )
    with pytest.raises(StateRequired):
        render(event)


def test_enkash_event_without_state_reuses_its_own_b2b_ids() -> None:
    d = doc()
    d["b2bIds"] = {"buyerB2BId": "B-9", "supplierB2BId": "S-9"}
    assert render(parse(d), state=uniware_po())["b2bIds"] == d["b2bIds"]
    assert render(parse(d))["b2bIds"] == d["b2bIds"]


def test_status_missing_from_the_mapping_is_mapping_missing() -> None:
    data = mapping().file.model_dump()
    del data["statuses"]["document"]["SENT"]
    partial = Mapping.from_dict(data, spec=ADAPTER.spec)
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO0194",
        source_system="canonical",
        status_change=StatusChange(to_status=PoStatus.SENT),
    )
    with pytest.raises(MappingMissing) as exc:
        render(event, m=partial, state=uniware_po(), remote=KNOWN)
    assert (exc.value.table, exc.value.key) == ("statuses.document", PoStatus.SENT)


# -- mapping and replies ---------------------------------------------------------------


def test_shipped_mapping_covers_every_status_and_reads_placeholders_back() -> None:
    m = mapping()
    assert set(m.file.statuses.document) == set(PoStatus)
    assert m.reverse("vendor", "string") == "Sachin123"
    assert m.lookup("vendor", "Sachin123") == "string"


def test_mapping_without_vendor_table_is_refused() -> None:
    text = "system: enkash\ndefaults: {buyerB2BId: B}\n"
    m, problems = parse_mapping(text, "enkash.yaml", ADAPTER.spec, "enkash")
    assert m is None and any("crosswalks.vendor" in str(p) for p in problems)


def test_reply_sample_parses() -> None:
    reply = Reply.model_validate_json(REPLY.read_bytes())
    assert reply.response_code == 0 and reply.payload.resp.result == "string"
    assert not reply.succeeded
    assert reply.model_dump(mode="json", exclude_unset=True) == orjson.loads(REPLY.read_bytes())


def test_reply_constructors_echo_the_request() -> None:
    request = StatusChangeRequest.model_validate_json(SAMPLE.read_bytes())
    ok = Reply.success(request, "MSG-1")
    assert ok.succeeded and ok.payload.resp.reqMsgId == "MSG-1"
    assert ok.payload.poStatus == request.poStatus
    bad = Reply.failure(request, "INVALID", "blank", "$.poStatus.objectId")
    assert (bad.payload.resp.result, bad.payload.resp.errorField) == (
        "FAILURE",
        "$.poStatus.objectId",
    )
    unread = Reply.failure(None, "INVALID_JSON", "not JSON", "$")
    again = Reply.model_validate_json(unread.model_dump_json())
    assert not again.succeeded and again.payload.b2bIds.buyerB2BId == ""
