"""Issue 12: the simulators act like the real systems, which know nothing of Idempotency-Key.

No vendor document defines the header, so by default every simulator acts on a repeated
request with the same key a second time, as the real system would: AlphaAlpha makes a second
PO, EnKash refuses the repeat as STALE_VERSION (its version moved), Uniware, Leo and
AppliQloud apply the update again. The fault setting ``honour_keys`` turns key dedup on
(the first answer again, no second effect). ``drop_reply_rate`` applies the request and then
loses its reply: the caller sees a connection drop, the effect is there.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from adapters._http import Delivered
from adapters._sim import Faults
from adapters.appliqloud.schema import PATH as APPLIQLOUD_PATH
from adapters.enkash.schema import PATH as ENKASH_PATH
from adapters.leo.schema import PATH as LEO_PATH
from core.adapter import Call, Rendered
from core.errors import PermanentDelivery, RetryableDelivery
from tests.contract.cases import delivering, success_plan
from tests.servers import SimulatorServer, client_for
from tests.support import ROOT

pytestmark = pytest.mark.anyio
SAMPLES = ROOT / "adapters"
AA_ORDER = {"products": [{"productId": "P-1", "price": 2.5, "quantity": 4, "unit": "PCS"}],
            "subsidiaryId": "SUB-1"}  # fmt: skip


def _sample(system: str, name: str) -> Any:
    return orjson.loads((SAMPLES / system / "samples" / name).read_bytes())


def _enkash_body() -> dict[str, Any]:
    body: dict[str, Any] = _sample("enkash", "status-change-request.json")
    status = body["poStatus"]
    status.update(objectId="ENK-KEYS-1", buyerPONumber="PO-KEYS-1")
    status["objectVersion"] = {"currentVersion": 3, "newVersion": 4}
    status["poStatusTransition"] = {"currentStatus": "CREATED", "newStatus": "APPROVED"}
    return body


def _plan(system: str) -> Rendered:
    """One request per system that changes something there."""
    if system == "alphaalpha":
        call = Call("POST", "/api/v1/purchase-orders", AA_ORDER, step="create")
    elif system == "enkash":
        call = Call("POST", ENKASH_PATH, _enkash_body())
    elif system == "leo":
        body = {"documentNumber": "PO-KEYS-1", "status": "APPROVED", "lineInfo": []}
        call = Call("POST", LEO_PATH, body, {"event": "POStatusUpdate", "subtypeAppId": "pohub"})
    elif system == "appliqloud":
        call = Call("PUT", APPLIQLOUD_PATH, _sample("appliqloud", "update.json"))
    elif system == "uniware":
        call = Call("POST", "/approvedPurchaseOrder", _sample("uniware", "approved-po.json"))
    else:  # any other declared system: the plan its simulator accepts (the contract's)
        return success_plan(system)
    return Rendered(system, [call], "test")


def _effects(server: SimulatorServer, system: str) -> int:
    """How many times the system acted on the request (its own state where it has one)."""
    sim: Any = server.sims[system]
    if system == "alphaalpha":
        return len(sim.orders)
    if system == "uniware":
        return int(sim.pushes[_plan(system).calls[0].json["code"]])
    if system == "enkash":  # versioned: a change applies once, a repeat is stale
        held = sim.find("ENK-KEYS-1", "PO-KEYS-1")
        return 0 if held is None else int(held.version == 4 and held.status == "APPROVED")
    return len(sim.received)


async def _send(server: SimulatorServer, system: str, key: str) -> Delivered | Exception:
    async with client_for(server, system) as client:
        try:
            result: Delivered = await client.send(_plan(system), key)
        except (PermanentDelivery, RetryableDelivery) as exc:
            return exc
        return result


SYSTEMS = delivering()


@pytest.mark.parametrize("system", SYSTEMS)
async def test_by_default_a_repeated_key_is_acted_on_again(
    sim: SimulatorServer, system: str
) -> None:
    before = _effects(sim, system)
    first = await _send(sim, system, "same")
    assert isinstance(first, Delivered)
    again = await _send(sim, system, "same")
    simulator = sim.sims[system]
    assert simulator.duplicates == 0
    if system == "enkash":
        # acted on: its version moved with the first, so the repeat is stale (one effect)
        assert isinstance(again, PermanentDelivery) and "STALE_VERSION" in str(again)
        assert _effects(sim, system) - before == 1
    else:
        assert isinstance(again, Delivered)
        assert _effects(sim, system) - before == 2, "the repeat had no second effect"
    if system == "alphaalpha":
        assert isinstance(again, Delivered)
        assert again.remote_ids != first.remote_ids, "AlphaAlpha made no second PO"


@pytest.mark.parametrize("system", SYSTEMS)
async def test_honour_keys_dedups_a_repeated_key(sim: SimulatorServer, system: str) -> None:
    sim.sims[system].faults = Faults.parse({"honour_keys": True})
    before = _effects(sim, system)
    first = await _send(sim, system, "same")
    again = await _send(sim, system, "same")
    assert isinstance(first, Delivered) and isinstance(again, Delivered)
    assert again.body == first.body
    assert sim.sims[system].duplicates == 1
    assert _effects(sim, system) - before == 1


@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_dropped_reply_comes_after_the_effect(sim: SimulatorServer, system: str) -> None:
    simulator = sim.sims[system]
    simulator.faults = Faults.parse({"drop_reply_rate": 1})
    before = _effects(sim, system)
    lost = await _send(sim, system, "k")
    assert isinstance(lost, RetryableDelivery), lost
    assert "connection error" in str(lost)
    assert _effects(sim, system) - before == 1 and simulator.dropped == 1


def test_fault_settings_are_checked() -> None:
    assert Faults.parse({}).honour_keys is False
    assert Faults.parse({"honour_keys": True, "drop_reply_rate": 0.5}).drop_reply_rate == 0.5
    for bad in ({"drop_reply_rate": 2}, {"honour_keys": "yes"}, {"drop_reply": 1}):
        with pytest.raises(ValueError):
            Faults.parse(copy.deepcopy(bad))
