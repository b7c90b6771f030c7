"""AppliQloud adapter: the document's rules, both readings of its contradictions, rendering
from other dialects, bulk handling and the reply envelopes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters.appliqloud import SYSTEM as DECLARED
from adapters.appliqloud.replies import ErrorReply, PoError, UpdateReply, accepted
from adapters.appliqloud.spec import Defaults
from core.adapter import RenderContext
from core.errors import CannotExpress, InvalidInput, MappingMissing, StateRequired
from core.mapping import parse_mapping
from core.mapping.tables import Mapping
from core.model import EventKind, Line, Party, PoEvent, PoStatus, PurchaseOrder, StatusChange

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "adapters" / "appliqloud" / "samples"
SAMPLE = SAMPLES / "update.json"


@pytest.fixture(scope="module")
def mapping() -> Mapping:
    text = (ROOT / "mappings" / "appliqloud.yaml").read_text()
    found, problems = parse_mapping(text, "appliqloud.yaml", DECLARED.adapter.spec, "appliqloud")
    assert not problems and found is not None, problems
    return found


def doc() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(SAMPLE.read_bytes())
    return data


def item_of(data: dict[str, Any], key: str = "items") -> dict[str, Any]:
    found: dict[str, Any] = data["inputs"][0][key][0]
    return found


def parse(data: Any, mapping: Mapping) -> list[PoEvent]:
    return DECLARED.adapter.parse(orjson.dumps(data), mapping, {})


def round_trip(data: Any, mapping: Mapping) -> Any:
    events = parse(data, mapping)
    return DECLARED.adapter.combine(
        [DECLARED.adapter.render(ev, RenderContext(mapping)) for ev in events]
    )


def refused(data: Any, mapping: Mapping) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as exc:
        parse(data, mapping)
    return [(e.path, e.rule) for e in exc.value.errors]


# round trips ---------------------------------------------------------------------------


def test_sample_round_trips(mapping: Mapping) -> None:
    assert round_trip(doc(), mapping) == doc()


def test_sample_reads_into_canonical_keys(mapping: Mapping) -> None:
    (event,) = parse(doc(), mapping)
    po = event.po
    assert po is not None and event.kind is EventKind.UPDATED
    assert (po.po_number, po.po_type, po.currency) == ("450000001", "IMPORT", "MXN")
    assert po.supplier == Party(code="Sachin123", ids={"appliqloud": "9715"})
    assert po.buyer == Party(code="neemka", ids={"appliqloud": "AE1"})
    assert (po.status, po.source_status) == (None, None)  # the update carries no status
    line = po.lines[0]
    assert (line.line_number, line.sku, line.location, line.storage) == (
        "10",
        "Shirt27",
        "MX-LOC",
        "123123",
    )
    assert (line.quantity, line.net_unit_price, line.unit) == (Decimal(1), Decimal(6000), "EA")
    assert line.unit_price is None  # netUnitPrice is net: the gross price is not in the update
    assert (line.item_type, line.ascription) == ("GOODS", "EXPENSE")
    assert line.required_delivery_date is not None
    assert line.required_delivery_date.date().isoformat() == "2024-07-22"


def test_details_reading_is_accepted_and_written_back(mapping: Mapping) -> None:
    """The table's ``details``: read, and written back under ``details``."""
    data = doc()
    data["inputs"][0]["details"] = data["inputs"][0].pop("items")
    assert round_trip(data, mapping) == data
    from_details, from_items = parse(data, mapping)[0].po, parse(doc(), mapping)[0].po
    assert from_details is not None and from_items is not None
    assert from_details.lines == from_items.lines


def test_items_is_written_for_other_sources(mapping: Mapping) -> None:
    rendered = DECLARED.adapter.render(uniware_event(), RenderContext(mapping)).body
    assert "items" in rendered["inputs"][0] and "details" not in rendered["inputs"][0]


def test_optional_item_fields_left_out_stay_out(mapping: Mapping) -> None:
    data = doc()
    for key in ("locationId", "storageId", "requiredDeliveryDate", "unitId"):
        del item_of(data)[key]
    assert round_trip(data, mapping) == data
    assert parse(data, mapping)[0].po.lines[0].unit is None  # type: ignore[union-attr]


def test_nulls_stay_null(mapping: Mapping) -> None:
    data = doc()
    for key in ("locationId", "storageId", "requiredDeliveryDate", "unitId"):
        item_of(data)[key] = None
    assert round_trip(data, mapping) == data


def test_float_price_and_int_price_both_read(mapping: Mapping) -> None:
    data = doc()
    item_of(data)["netUnitPrice"] = 12.34
    assert parse(data, mapping)[0].po.lines[0].net_unit_price == Decimal("12.34")  # type: ignore[union-attr]
    assert round_trip(data, mapping) == data


def test_unknown_fields_are_carried(mapping: Mapping) -> None:
    data = doc()
    data["batch"] = "b1"
    data["inputs"][0]["note"] = {"a": 1}
    data["inputs"][0]["header"]["plant"] = "P1"
    item_of(data)["taxCode"] = "V0"
    assert round_trip(data, mapping) == data


def test_unmapped_ids_round_trip(mapping: Mapping) -> None:
    """Ids with no crosswalk row still come back as sent (kept in ids / extensions)."""
    data = doc()
    header = data["inputs"][0]["header"]
    header.update(vendorBusinessPartnerId="X1", accountingEntityId="E9", purchaseOrderType="LOCAL")
    item_of(data).update(productId="P9", productGroupId="G9", locationId="L9")
    (event,) = parse(data, mapping)
    assert event.po is not None and event.po.supplier.code is None
    assert event.po.lines[0].sku is None and event.po.lines[0].location is None
    assert event.po.po_type == "Manual"  # po_type row Manual -> LOCAL read back
    assert round_trip(data, mapping) == data


def test_bulk_gives_one_event_per_po_and_combines_back(mapping: Mapping) -> None:
    data = doc()
    second = orjson.loads(orjson.dumps(data["inputs"][0]))
    second["header"]["purchaseOrderId"] = "450000002"
    data["inputs"].append(second)
    events = parse(data, mapping)
    assert [e.po_number for e in events] == ["450000001", "450000002"]
    assert round_trip(data, mapping) == data


# the document's rules --------------------------------------------------------------------


@pytest.mark.parametrize("key", ["items", "details"])
def test_service_with_inventory_is_refused(mapping: Mapping, key: str) -> None:
    """INVENTORY only with GOODS / SERVICE must be EXPENSE: one pair forbidden."""
    data = doc()
    data["inputs"][0][key] = data["inputs"][0].pop("items")
    item_of(data, key).update(itemType="SERVICE", ascriptionType="INVENTORY")
    assert refused(data, mapping) == [
        (f"$.inputs[0].{key}[0].ascriptionType", "inventory_requires_goods")
    ]


@pytest.mark.parametrize(
    ("item_type", "ascription"),
    [("GOODS", "INVENTORY"), ("GOODS", "EXPENSE"), ("SERVICE", "EXPENSE")],
)
def test_allowed_pairs(mapping: Mapping, item_type: str, ascription: str) -> None:
    data = doc()
    item_of(data).update(itemType=item_type, ascriptionType=ascription)
    assert round_trip(data, mapping) == data


@pytest.mark.parametrize("location", [None, "", "absent"])
def test_inventory_line_needs_location(mapping: Mapping, location: str | None) -> None:
    """The document says "unless the itemType field is INVENTORY"; INVENTORY is an
    ascriptionType, so the rule is applied to ascriptionType INVENTORY."""
    data = doc()
    item_of(data)["ascriptionType"] = "INVENTORY"
    if location == "absent":
        del item_of(data)["locationId"]
    else:
        item_of(data)["locationId"] = location
    assert refused(data, mapping) == [("$.inputs[0].items[0].locationId", "location_required")]


def test_expense_line_may_omit_location(mapping: Mapping) -> None:
    data = doc()
    item_of(data)["locationId"] = None
    assert parse(data, mapping)[0].po.lines[0].location is None  # type: ignore[union-attr]


@pytest.mark.parametrize("value", ["22-07-2024", "20240722", "2024-02-30", "2024-07-22T10:00"])
def test_delivery_date_must_be_a_date(mapping: Mapping, value: str) -> None:
    data = doc()
    item_of(data)["requiredDeliveryDate"] = value
    assert refused(data, mapping) == [("$.inputs[0].items[0].requiredDeliveryDate", "date_format")]


@pytest.mark.parametrize(
    ("where", "field"),
    [("header", "purchaseOrderType"), ("item", "itemType"), ("item", "ascriptionType")],
)
def test_unknown_enum_value_is_refused(mapping: Mapping, where: str, field: str) -> None:
    data = doc()
    target = data["inputs"][0]["header"] if where == "header" else item_of(data)
    target[field] = "OTHER"
    path = f"$.inputs[0].header.{field}" if where == "header" else f"$.inputs[0].items[0].{field}"
    assert refused(data, mapping) == [(path, "literal_error")]


@pytest.mark.parametrize("value", [1.5, "1", True])
def test_quantity_is_an_int(mapping: Mapping, value: Any) -> None:
    data = doc()
    item_of(data)["quantity"] = value
    assert refused(data, mapping) == [("$.inputs[0].items[0].quantity", "int_type")]


def test_lines_in_both_keys_are_refused(mapping: Mapping) -> None:
    data = doc()
    data["inputs"][0]["details"] = data["inputs"][0]["items"]
    assert refused(data, mapping) == [("$.inputs[0].details", "items_or_details")]


def test_lines_missing_are_refused(mapping: Mapping) -> None:
    data = doc()
    del data["inputs"][0]["items"]
    assert refused(data, mapping) == [("$.inputs[0].items", "missing")]


def test_empty_bulk_is_refused(mapping: Mapping) -> None:
    assert refused({"inputs": []}, mapping) == [("$.inputs", "too_short")]


def test_every_po_of_the_bulk_is_checked(mapping: Mapping) -> None:
    data = doc()
    second = orjson.loads(orjson.dumps(data["inputs"][0]))
    second["items"][0]["ascriptionType"] = "INVENTORY"
    second["items"][0]["locationId"] = None
    data["inputs"].append(second)
    assert refused(data, mapping) == [("$.inputs[1].items[0].locationId", "location_required")]


# rendering from other dialects -------------------------------------------------------------


def uniware_po(**changes: Any) -> PurchaseOrder:
    """What Uniware's sample reads into (with the currency Uniware's mapping gives it): type
    Manual, no AppliQloud ids."""
    po = PurchaseOrder(
        po_number="PO0194",
        po_type="Manual",
        currency="INR",
        buyer=Party(code="neemka", name="neemka"),
        supplier=Party(code="Sachin123", name="Sachin Enterprise", ids={"uniware": "Sachin123"}),
        status=PoStatus.APPROVED,
        lines=[
            Line(
                line_number="1",
                sku="Shirt27",
                quantity=Decimal(6),
                unit="EA",
                unit_price=Decimal(100),
            )
        ],
    )
    return po.model_copy(update=changes)


def uniware_event(po: PurchaseOrder | None = None) -> PoEvent:
    po = po or uniware_po()
    return PoEvent(kind=EventKind.APPROVED, po_number=po.po_number, source_system="uniware", po=po)


def with_defaults(mapping: Mapping, **defaults: Any) -> Mapping:
    """The shipped mapping plus defaults an admin wrote."""
    data = mapping.file.model_dump()
    data["defaults"].update(defaults)
    return Mapping.from_dict(data, spec=DECLARED.adapter.spec)


def render(po: PurchaseOrder, mapping: Mapping) -> dict[str, Any]:
    body: dict[str, Any] = DECLARED.adapter.render(uniware_event(po), RenderContext(mapping)).body
    return body


def test_uniware_po_renders_through_crosswalks(mapping: Mapping) -> None:
    plan = DECLARED.adapter.render(uniware_event(), RenderContext(mapping))
    (call,) = plan.calls
    assert (call.method, call.path) == ("PUT", "/pic/link/purchase-orders/update")
    assert call.json == {
        "inputs": [
            {
                "header": {
                    "purchaseOrderId": "PO0194",
                    "purchaseOrderType": "LOCAL",
                    "accountingEntityId": "AE1",
                    "vendorBusinessPartnerId": "9715",
                    "currencyId": "INR",
                },
                "items": [
                    {
                        "itemId": "1",
                        "itemType": "GOODS",
                        "ascriptionType": "EXPENSE",
                        "productGroupId": "1",
                        "productId": "101",
                        "locationId": None,
                        "storageId": None,
                        "requiredDeliveryDate": None,
                        "quantity": 6,
                        "unitId": "EA",
                        "netUnitPrice": 100,
                    }
                ],
            }
        ]
    }


def test_rendered_output_is_valid_appliqloud(mapping: Mapping) -> None:
    body = render(uniware_po(), mapping)
    assert parse(body, mapping)[0].po_number == "PO0194"


@pytest.mark.parametrize(
    ("po_type", "written"),
    [("IMPORT", "IMPORT"), ("LOCAL", "LOCAL"), ("Manual", "LOCAL")],
)
def test_po_type(mapping: Mapping, po_type: str, written: str) -> None:
    header = render(uniware_po(po_type=po_type), mapping)["inputs"][0]["header"]
    assert header["purchaseOrderType"] == written


def test_unknown_buyer_parks_unless_an_admin_wrote_a_default(mapping: Mapping) -> None:
    """Issue 10: no invented buyer (the shipped file had AE1 as a default entity)."""
    po = uniware_po(buyer=Party(code="elsewhere"))
    with pytest.raises(MappingMissing) as exc:
        render(po, mapping)
    assert (exc.value.table, exc.value.key) == ("crosswalks.buyer", "elsewhere")
    assert exc.value.path == "$.inputs[0].header.accountingEntityId"
    admin = with_defaults(mapping, accountingEntityId="AE7")
    assert render(po, admin)["inputs"][0]["header"]["accountingEntityId"] == "AE7"


def test_unknown_vendor_is_mapping_missing(mapping: Mapping) -> None:
    with pytest.raises(MappingMissing) as exc:
        render(uniware_po(supplier=Party(code="Nobody")), mapping)
    assert (exc.value.table, exc.value.key) == ("crosswalks.vendor", "Nobody")
    assert exc.value.path == "$.inputs[0].header.vendorBusinessPartnerId"


@pytest.mark.parametrize(
    ("table", "field"), [("product", "productId"), ("product_group", "productGroupId")]
)
def test_unknown_sku_is_mapping_missing(mapping: Mapping, table: str, field: str) -> None:
    data = mapping.file.model_dump()
    data["crosswalks"][table] = {"Other": "9"}
    narrowed = Mapping.from_dict(data, spec=DECLARED.adapter.spec)
    with pytest.raises(MappingMissing) as exc:
        render(uniware_po(), narrowed)
    assert (exc.value.table, exc.value.key) == (f"crosswalks.{table}", "Shirt27")
    assert exc.value.path == f"$.inputs[0].items[0].{field}"


def test_inventory_line_without_location_parks_unless_admin_default(mapping: Mapping) -> None:
    po = uniware_po()
    po.lines[0].ascription = "INVENTORY"
    with pytest.raises(MappingMissing) as exc:
        render(po, mapping)
    assert (exc.value.table, exc.value.key) == ("defaults", "locationId")
    assert exc.value.path == "$.inputs[0].items[0].locationId"
    admin = with_defaults(mapping, locationId="WH-1")
    assert render(po, admin)["inputs"][0]["items"][0]["locationId"] == "WH-1"


def test_unknown_location_is_mapping_missing(mapping: Mapping) -> None:
    po = uniware_po()
    po.lines[0].location = "WH-9"
    with pytest.raises(MappingMissing) as exc:
        render(po, mapping)
    assert (exc.value.table, exc.value.key) == ("crosswalks.location", "WH-9")


def test_service_line_without_ascription_is_expense(mapping: Mapping) -> None:
    data = mapping.file.model_dump()
    data["crosswalks"].pop("ascription")
    data["defaults"]["ascriptionType"] = "INVENTORY"
    inventory_default = Mapping.from_dict(data, spec=DECLARED.adapter.spec)
    po = uniware_po()
    po.lines[0].item_type = "SERVICE"
    item = render(po, inventory_default)["inputs"][0]["items"][0]
    assert (item["itemType"], item["ascriptionType"]) == ("SERVICE", "EXPENSE")


def test_line_date_falls_back_to_po_delivery_date(mapping: Mapping) -> None:
    when = parse(doc(), mapping)[0].po.lines[0].required_delivery_date  # type: ignore[union-attr]
    item = render(uniware_po(delivery_date=when), mapping)["inputs"][0]["items"][0]
    assert item["requiredDeliveryDate"] == "2024-07-22"


@pytest.mark.parametrize(
    ("field", "wire"), [("quantity", "quantity"), ("unit_price", "netUnitPrice")]
)
def test_missing_quantity_or_price_cannot_be_expressed(
    mapping: Mapping, field: str, wire: str
) -> None:
    """Both are required without null; no admin default can stand for a line's own number."""
    po = uniware_po()
    setattr(po.lines[0], field, None)
    with pytest.raises(CannotExpress) as exc:
        render(po, mapping)
    assert exc.value.path == f"$.inputs[0].items[0].{wire}"


def test_status_only_event_needs_state(mapping: Mapping) -> None:
    event = PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO0194",
        source_system="leo",
        status_change=StatusChange(to_status=PoStatus.SENT),
    )
    with pytest.raises(StateRequired):
        DECLARED.adapter.render(event, RenderContext(mapping))
    body = DECLARED.adapter.render(event, RenderContext(mapping, state=uniware_po())).body
    assert body["inputs"][0]["header"]["purchaseOrderId"] == "PO0194"


# mapping and spec --------------------------------------------------------------------------


def test_every_status_can_be_written(mapping: Mapping) -> None:
    assert {mapping.status_out(s) for s in PoStatus} <= {"OPEN", "CLOSED", "CANCELLED"}


@pytest.mark.parametrize(
    "bad",
    [
        {"itemType": "SERVICE", "ascriptionType": "INVENTORY", "locationId": "X"},
        {"itemType": "THING"},
        {"purchaseOrderType": "DOMESTIC"},
        {"currencyId": ""},
        {"purchaseOrderStatus": "OPEN"},  # the update has no status: nothing to default
    ],
)
def test_defaults_follow_the_document(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Defaults.model_validate(bad)


def test_spec_defaults_carry_no_values_from_code() -> None:
    """Issue 10: every field optional and only type-checked; nothing defaulted in code."""
    assert all(v is None for v in Defaults().model_dump().values())
    assert all(not f.is_required() and f.default is None for f in Defaults.model_fields.values())


def test_shipped_mapping_invents_no_business_values(mapping: Mapping) -> None:
    """No default buyer, currency, type, item type, ascription or location is shipped."""
    assert mapping.defaults == {}


def test_po_type_rows_are_document_values(mapping: Mapping) -> None:
    assert set(mapping.file.crosswalks["po_type"].values()) <= {"LOCAL", "IMPORT"}


# replies -----------------------------------------------------------------------------------


def reply(name: str) -> bytes:
    return (SAMPLES / "replies" / name).read_bytes()


def test_success_reply_parses() -> None:
    parsed = UpdateReply.model_validate_json(reply("200-success.json"))
    assert parsed.http_status == 200
    assert parsed.success[0].header.purchaseOrderStatus == "OPEN"
    assert parsed.success[0].items[0].netTotalPrice == 6000.0


def test_error_reply_parses() -> None:
    parsed = UpdateReply.model_validate_json(reply("201-errors.json"))
    assert parsed.http_status == 201 and not parsed.success
    error = parsed.errors[0]
    assert error.cause == "PurchaseOrderNotFoundException"
    assert error.context is not None and error.context.purchaseOrderId == "4500002"


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("401-unauthorized.json", "UnauthorizedException"),
        ("500-internal-error.json", "InternalServerError"),
    ],
)
def test_plain_error_replies_parse(name: str, cause: str) -> None:
    assert ErrorReply.model_validate_json(reply(name)).cause == cause


def test_constructors_build_the_document_shapes() -> None:
    request = doc()["inputs"][0]
    built = UpdateReply.of([accepted(request, "OPEN")], [])
    assert built.model_dump(mode="json") == orjson.loads(reply("200-success.json"))
    error = PoError.not_found("4500002", "SAP_APQ")
    sample = orjson.loads(reply("201-errors.json"))["errors"][0]
    assert error.model_dump(mode="json") == {**sample, "traceId": error.traceId}
    assert len(error.traceId) == 32
    assert ErrorReply.unauthorized().message == "Authorization required"
    assert ErrorReply.internal().cause == "InternalServerError"
