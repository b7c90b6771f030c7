"""EnKash status changes written by hand (adapters/enkash/samples/corpus/), not the
document's placeholder sample: a PO approved at object version 3 -> 4 with remarks.

Expected values follow the document (enkash-po-status-change-webhook.txt): every part of
``poStatus`` is required; ``objectId`` is EnKash's own id of the PO, ``objectVersion``
its current and new version (integers), ``poStatusTransition`` the current and new status.
The document is silent on how versions move: the hub sends ``currentVersion`` as the
version EnKash last reported and ``newVersion`` one more, and the simulator checks only
``currentVersion`` (``STALE_VERSION`` inside a 200).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from adapters import registry
from adapters.enkash.client import EnkashClient
from adapters.enkash.simulator import EnkashSimulator
from adapters.enkash.spec import Defaults
from core.adapter import Call, RemoteState, RenderContext, Rendered
from core.errors import IdentityMissing, InvalidInput, MappingMissing, PermanentDelivery
from core.mapping.tables import Mapping
from core.model import EventKind, Party, PoEvent, PoStatus, PurchaseOrder, StatusChange
from core.state import apply_event
from tests.servers import SimulatorServer, client_for
from tests.support import mappings

pytestmark = pytest.mark.anyio

CORPUS = registry.samples_dir("enkash") / "corpus"
ENKASH = registry.get("enkash")
OBJECT_ID = "6650f1c29b1e4a0012ab34cd"


def body() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((CORPUS / "approved-v3-v4.json").read_bytes())
    return data


def mapping() -> Mapping:
    """The shipped mapping plus the two parties of the corpus (an admin's crosswalk rows)."""
    file = mappings()["enkash"].file.model_copy(deep=True)
    file.crosswalks["vendor"]["V-ACME-FASTENERS"] = "ENKB2B-SUP-009231"
    file.crosswalks["buyer"]["BLR-WH1"] = "ENKB2B-BUY-000417"
    return Mapping(file, spec=ENKASH.spec)


def parse(data: dict[str, Any] | None = None, m: Mapping | None = None) -> PoEvent:
    (event,) = ENKASH.parse(orjson.dumps(data or body()), m or mapping())
    return event


def stored_po() -> PurchaseOrder:
    return PurchaseOrder(
        po_number="PO-2024-0193",
        status=PoStatus.PENDING_APPROVAL,
        buyer=Party(code="BLR-WH1"),
        supplier=Party(code="V-ACME-FASTENERS"),
    )


def leo_closed() -> PoEvent:
    """A later change from Leo: the PO is closed (Leo names no remarks)."""
    return PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number="PO-2024-0193",
        source_system="leo",
        action="POStatusUpdate",
        status_change=StatusChange(to_status=PoStatus.CLOSED, source_to_status="CLOSED"),
    )


def after_enkash() -> PurchaseOrder:
    """The hub's state once the corpus change from EnKash is applied."""
    state = apply_event(stored_po(), parse())
    assert state is not None
    return state


def render(
    event: PoEvent, state: PurchaseOrder | None, remote: RemoteState, m: Mapping | None = None
) -> Any:
    return ENKASH.render(event, RenderContext(m or mapping(), state, remote))


# reading ----------------------------------------------------------------------------------


def test_the_change_reads_with_versions_remarks_and_parties() -> None:
    event = parse()
    change = event.status_change
    assert change is not None
    assert (change.from_status, change.to_status) == (PoStatus.PENDING_APPROVAL, PoStatus.APPROVED)
    assert (change.from_version, change.to_version) == (3, 4)
    assert event.remote_ids == {"enkash": OBJECT_ID}
    assert (event.action, event.remarks) == (
        "APPROVE",
        "Approved after the revised price for line 20",
    )
    ext = event.extensions["enkash"]
    assert (ext["buyer"], ext["vendor"]) == ("BLR-WH1", "V-ACME-FASTENERS")
    assert ext["additionalInfos"] == [{"name": "costCentre", "value": "CC-BLR-12"}]


def test_the_change_round_trips_unchanged() -> None:
    assert render(parse(), None, RemoteState()).body == body()


@pytest.mark.parametrize("field", ["currentStatus", "newStatus"])
def test_an_unknown_status_code_is_refused_at_its_path(field: str) -> None:
    data = body()
    data["poStatus"]["poStatusTransition"][field] = "APPROVD"
    with pytest.raises(InvalidInput) as caught:
        parse(data)
    err = caught.value.first
    assert (err.path, err.rule) == (f"$.poStatus.poStatusTransition.{field}", "known_status")


# writing another system's change: identity learnt from EnKash, never invented -----------


def test_a_later_change_uses_enkashs_id_version_and_status() -> None:
    remote = RemoteState(None, "APPROVED", 4)  # as EnKash last reported it
    out = render(leo_closed(), after_enkash(), remote).body
    assert out["b2bIds"] == {
        "buyerB2BId": "ENKB2B-BUY-000417",
        "supplierB2BId": "ENKB2B-SUP-009231",
    }
    assert out["poStatus"] == {
        "objectId": OBJECT_ID,
        "buyerPONumber": "PO-2024-0193",
        "objectVersion": {"currentVersion": 4, "newVersion": 5},
        "buyerAction": "POStatusUpdate",
        "buyerRemarks": "",
        "poStatusTransition": {"currentStatus": "APPROVED", "newStatus": "CLOSED"},
    }
    assert out["device"] == {"tag": {}}


def test_an_object_id_never_learnt_is_identity_missing_not_the_po_number() -> None:
    with pytest.raises(IdentityMissing) as caught:
        render(leo_closed(), stored_po(), RemoteState(None, "APPROVED", 4))
    err = caught.value
    assert (err.what, err.path, err.po_number) == (
        "objectId",
        "$.poStatus.objectId",
        "PO-2024-0193",
    )


def test_an_object_id_from_enkashs_reply_is_used() -> None:
    out = render(leo_closed(), stored_po(), RemoteState(OBJECT_ID, "APPROVED", 4)).body
    assert out["poStatus"]["objectId"] == OBJECT_ID


def test_a_version_never_reported_is_identity_missing_not_the_hubs_version() -> None:
    with pytest.raises(IdentityMissing) as caught:
        render(leo_closed(), after_enkash(), RemoteState(None, "APPROVED", None))
    err = caught.value
    assert (err.what, err.path) == ("objectVersion", "$.poStatus.objectVersion.currentVersion")


def test_current_status_is_what_enkash_holds_never_a_default() -> None:
    state = after_enkash()
    state.status = PoStatus.CLOSED  # the worker renders from the state after the event
    out = render(leo_closed(), state, RemoteState(None, "APPROVED", 4)).body
    assert out["poStatus"]["poStatusTransition"]["currentStatus"] == "APPROVED"
    with pytest.raises(IdentityMissing) as caught:
        render(leo_closed(), state, RemoteState(None, None, 4))
    assert caught.value.path == "$.poStatus.poStatusTransition.currentStatus"


def test_no_default_is_in_code_and_a_missing_one_parks() -> None:
    assert Defaults().model_dump() == {
        "buyerB2BId": None,
        "buyerAction": None,
        "buyerRemarks": None,
    }
    shipped = mappings()["enkash"]
    assert not shipped.has_default("buyerB2BId")  # the operator's own id: not shipped
    state = after_enkash()
    state.buyer = Party(code="SOMEONE-ELSE")
    with pytest.raises(MappingMissing) as caught:
        render(leo_closed(), state, RemoteState(None, "APPROVED", 4))
    assert (caught.value.table, caught.value.path) == ("defaults", "$.b2bIds.buyerB2BId")


# end to end against the simulator ---------------------------------------------------------


@pytest.fixture
def enkash(sim: SimulatorServer) -> Iterator[EnkashSimulator]:
    simulator = sim.sims["enkash"]
    assert isinstance(simulator, EnkashSimulator)
    simulator.forget()
    yield simulator
    simulator.forget()


async def test_a_change_at_the_version_enkash_reported_is_taken_and_learnt(
    sim: SimulatorServer, enkash: EnkashSimulator
) -> None:
    async with client_for(sim, "enkash") as client:
        assert isinstance(client, EnkashClient)
        # EnKash's own change 3 -> 4: after it, EnKash holds the PO at version 4, APPROVED.
        await client.send(render(parse(), None, RemoteState()), "enkash-own")
        record = enkash.find(OBJECT_ID, "PO-2024-0193")
        assert record is not None and (record.version, record.status) == (4, "APPROVED")
        plan = render(leo_closed(), after_enkash(), RemoteState(None, "APPROVED", 4))
        done = await client.send(plan, "hub-close")
        assert client.remote_version(done.body) == 5
        assert client.remote_status(done.body) == "CLOSED"
        assert done.remote_ids == {"enkash": OBJECT_ID}
        # a version EnKash has moved past is refused inside a 200, as before
        with pytest.raises(PermanentDelivery) as stale:
            await client.send(plan, "hub-close-again")
        assert stale.value.status == 200 and "STALE_VERSION" in str(stale.value)


async def test_the_po_number_in_place_of_enkashs_id_is_refused(
    sim: SimulatorServer, enkash: EnkashSimulator
) -> None:
    async with client_for(sim, "enkash") as client:
        await client.send(render(parse(), None, RemoteState()), "enkash-own")
        plan = render(leo_closed(), after_enkash(), RemoteState(None, "APPROVED", 4))
        invented = orjson.loads(orjson.dumps(plan.calls[0].json))
        invented["poStatus"]["objectId"] = "PO-2024-0193"
        with pytest.raises(PermanentDelivery) as caught:
            forged = Rendered("enkash", [Call("POST", plan.calls[0].path, invented)], "t")
            await client.send(forged, "k")
        assert "UNKNOWN_OBJECT" in str(caught.value) and "$.poStatus.objectId" in str(caught.value)
