"""A hand-written AppliQloud bulk (not the document's sample): two POs, one LOCAL in INR with
a SERVICE line (EXPENSE, no location) and a GOODS line to INVENTORY (with its location), one
IMPORT in USD. Expected values are read off the document by hand; the same-dialect round trip
is lossless; the simulator accepts it once its backend knows the corpus's own ids.

Kept under ``samples/corpus/`` on purpose: the generated golden suites read only
``samples/*.json`` (the document's samples), so the corpus is asserted here, field by field.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from adapters import registry
from adapters.appliqloud import SYSTEM as DECLARED
from adapters.appliqloud.schema import PATH, SYSTEM
from adapters.appliqloud.simulator import AppliqloudSimulator
from core.adapter import Call, RenderContext, Rendered
from core.errors import PermanentDelivery
from core.model import EventKind, Party, PoEvent, PoStatus
from core.state import apply_event
from tests.servers import SimulatorServer, client_for
from tests.support import mappings

CORPUS = (
    registry.samples_dir(SYSTEM) / "corpus" / "bulk-local-service-inventory-and-import-usd.json"
)
IST = ZoneInfo("Asia/Kolkata")


def body() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(CORPUS.read_bytes())
    return data


def events() -> list[PoEvent]:
    return DECLARED.adapter.parse(CORPUS.read_bytes(), mappings()[SYSTEM], {})


def test_one_updated_event_per_po_with_no_status() -> None:
    local, imported = events()
    assert [e.kind for e in (local, imported)] == [EventKind.UPDATED, EventKind.UPDATED]
    assert [e.po_number for e in (local, imported)] == ["PO-LOC-2024-0042", "PO-IMP-2024-0007"]
    for event in (local, imported):
        assert event.po is not None
        assert (event.po.status, event.po.source_status) == (None, None)


def test_headers() -> None:
    local, imported = (e.po for e in events())
    assert local is not None and imported is not None
    # LOCAL reads back through the po_type row Manual -> LOCAL; IMPORT has no row: itself
    assert (local.po_type, local.currency) == ("Manual", "INR")
    assert (imported.po_type, imported.currency) == ("IMPORT", "USD")
    for po in (local, imported):
        assert po.buyer == Party(code="neemka", ids={SYSTEM: "AE1"})
        assert po.supplier == Party(code="Sachin123", ids={SYSTEM: "9715"})
        assert po.remote_ids == {SYSTEM: po.po_number}


def test_service_line_is_an_expense_without_location() -> None:
    po = events()[0].po
    assert po is not None
    service = po.lines[0]
    assert (service.line_number, service.item_type, service.ascription) == (
        "10",
        "SERVICE",
        "EXPENSE",
    )
    assert service.sku is None  # SRV-INSTALL has no product row: kept as AppliQloud's id
    assert service.product_ids == {SYSTEM: "SRV-INSTALL"}
    assert (service.location, service.storage) == (None, None)
    assert (service.quantity, service.unit) == (Decimal(3), "HR")
    assert (service.net_unit_price, service.unit_price) == (Decimal("1250.5"), None)
    assert service.required_delivery_date == datetime(2024, 9, 2, tzinfo=IST)


def test_inventory_line_has_its_location() -> None:
    po = events()[0].po
    assert po is not None
    goods = po.lines[1]
    assert (goods.line_number, goods.item_type, goods.ascription) == ("20", "GOODS", "INVENTORY")
    assert (goods.sku, goods.location, goods.storage) == ("Shirt27", "MX-LOC", "A-01")
    assert (goods.quantity, goods.unit) == (Decimal(40), "EA")
    assert (goods.net_unit_price, goods.unit_price) == (Decimal("412.75"), None)
    assert goods.extensions[SYSTEM]["productGroupId"] == "1"


def test_import_line_in_usd() -> None:
    po = events()[1].po
    assert po is not None
    (line,) = po.lines
    assert (line.item_type, line.ascription, line.location) == ("GOODS", "EXPENSE", None)
    assert (line.quantity, line.net_unit_price) == (Decimal(12), Decimal("89.9"))
    assert line.extensions[SYSTEM]["absent"] == ["storageId"]


def test_round_trip_is_lossless() -> None:
    mapping = mappings()[SYSTEM]
    rendered = [DECLARED.adapter.render(e, RenderContext(mapping)) for e in events()]
    assert DECLARED.adapter.combine(rendered) == body()


def test_stored_status_survives_the_update() -> None:
    local = events()[0]
    assert local.po is not None
    stored = local.po.model_copy(update={"status": PoStatus.CONFIRMED, "source_status": "x"})
    after = apply_event(stored, local)
    assert after is not None and after.status is PoStatus.CONFIRMED


@pytest.mark.anyio
async def test_simulator_accepts_the_corpus_with_its_ids_known(sim: SimulatorServer) -> None:
    simulator = sim.sims[SYSTEM]
    assert isinstance(simulator, AppliqloudSimulator)
    simulator.reset()
    try:
        plan = Rendered(SYSTEM, [Call("PUT", PATH, body())], "corpus")
        async with client_for(sim, SYSTEM) as client:
            simulator.master.products["SRV-INSTALL"] = "SRV"
            done = await client.send(plan, uuid.uuid4().hex)
        assert done.status == 200
        totals = [po["header"]["netTotalPrice"] for po in done.body["success"]]
        assert totals == [20261.5, 1078.8]  # 3 x 1250.5 + 40 x 412.75; 12 x 89.9, in decimal
    finally:
        simulator.reset()


@pytest.mark.anyio
async def test_simulator_refuses_a_service_product_it_does_not_know(sim: SimulatorServer) -> None:
    simulator = sim.sims[SYSTEM]
    assert isinstance(simulator, AppliqloudSimulator)
    simulator.reset()
    plan = Rendered(SYSTEM, [Call("PUT", PATH, body())], "corpus")
    async with client_for(sim, SYSTEM) as client:
        with pytest.raises(PermanentDelivery) as caught:
            await client.send(plan, uuid.uuid4().hex)
    assert "product SRV-INSTALL (item 10)" in caught.value.message
