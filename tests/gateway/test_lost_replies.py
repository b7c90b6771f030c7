"""Issue 12: exactly one effect at targets that know nothing of Idempotency-Key.

End to end over loopback (gateway, store, worker, simulators). The simulators ignore
``Idempotency-Key`` (their default, as the real systems), and the fault ``drop_reply_rate``
loses a reply *after* the request took effect. The hub must not simply send again: it reads
the target back and goes on from what the target already did.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters._sim import Faults
from core.model import utc_now
from gateway.delivery.worker import RETURNED, _attempt, lost_reply
from gateway.observe import metrics
from gateway.store.base import LEASE_EXPIRED
from gateway.store.records import Attempt, Delivery, Message
from tests.gateway.harness import Gateway, gateway, store_url_for
from tests.gateway.test_e2e import push, sample
from tests.gateway.test_identity import enkash_names_the_po, uniware_po
from tests.gateway.test_poller import on_hub
from tests.servers import SimulatorServer

AA = "alphaalpha"
PO = "PO-LOST-1"


@pytest.fixture(params=["sqlite", "redis"])
def gw(request: pytest.FixtureRequest, sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path, store_url_for(request, "l")) as g:
        yield g


def _reconciled(target: str, outcome: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "pohub_reconciled_total", {"target": target, "outcome": outcome}
    )
    return value or 0.0


def _uniware_po(gw: Gateway, code: str = PO) -> str:
    doc = orjson.loads(sample("uniware")[0])
    doc["code"] = code
    reply = push(gw, "uniware", orjson.dumps(doc))
    assert reply.status_code == 200, reply.text
    return str(reply.headers["X-Pohub-Message-Id"])


def _delivery(gw: Gateway, message_id: str, target: str) -> dict[str, Any]:
    with gw.client() as c:
        got = c.get(f"/api/v1/messages/{message_id}").json()
    return next(d for d in got["deliveries"] if d["target"] == target)


def _exchanges(delivery: dict[str, Any]) -> list[dict[str, Any]]:
    return [x for a in delivery["attempts"] for x in a.get("exchanges") or []]


def test_a_create_whose_reply_was_lost_makes_one_alphaalpha_po(gw: Gateway) -> None:
    aa = gw.sims.sims[AA]
    aa.faults = Faults.parse(
        {"drop_reply_rate": 1, "drop_reply_match": "POST /api/v1/purchase-orders",
         "drop_reply_limit": 1}
    )  # fmt: skip
    adopted = _reconciled(AA, "already_done")
    message_id = _uniware_po(gw)
    gw.wait(message_id, ("delivered",), timeout=30, target=AA)
    assert aa.faults.dropped == 1, "the create's reply was not dropped"
    assert len(aa.orders) == 1, f"{len(aa.orders)} AlphaAlpha POs for one hub PO"
    (order,) = aa.orders.values()
    assert order["status"] == "APPROVED_INTERNALLY"
    state = on_hub(gw, gw.hub.store.get_po(PO))
    assert state is not None and state.remote_ids[AA] == order["id"]
    assert on_hub(gw, gw.hub.store.find_remote(AA, order["id"])) == PO
    creates = [r for r in aa.received if r["path"] == "/api/v1/purchase-orders"]
    assert len(creates) == 1, "the create was sent again"
    delivery = _delivery(gw, message_id, AA)
    found = [x for x in _exchanges(delivery) if x.get("reconciled")]
    assert [x["name"] for x in found] == ["find-created"]
    assert found[0]["reconciled"] == "already_done"
    assert _reconciled(AA, "already_done") == adopted + 1


def test_an_action_whose_reply_was_lost_is_not_a_dead_409(gw: Gateway) -> None:
    aa = gw.sims.sims[AA]
    aa.faults = Faults.parse(
        {"drop_reply_rate": 1, "drop_reply_match": "approve-internal", "drop_reply_limit": 1}
    )
    message_id = _uniware_po(gw, "PO-LOST-2")
    done = gw.wait(message_id, ("delivered", "dead"), timeout=30, target=AA)
    delivery = next(d for d in done["deliveries"] if d["target"] == AA)
    assert delivery["state"] == "delivered", delivery["reason"]
    assert aa.faults.dropped == 1
    (order,) = aa.orders.values()
    assert order["status"] == "APPROVED_INTERNALLY"
    approvals = [e for e in order["events"] if e["type"] == "APPROVE_INTERNAL"]
    assert len(approvals) == 1
    read_backs = [x for x in _exchanges(_delivery(gw, message_id, AA)) if x.get("reconciled")]
    assert [(x["name"], x["reconciled"]) for x in read_backs] == [("read", "already_done")]


def test_an_enkash_change_whose_reply_was_lost_is_delivered_once(gw: Gateway) -> None:
    enkash = gw.sims.sims["enkash"]
    uniware_po(gw)  # PO-2025-0042, parked at EnKash until EnKash names it
    enkash.faults = Faults.parse(
        {"drop_reply_rate": 1, "drop_reply_match": "req-status-change", "drop_reply_limit": 1}
    )
    before = _reconciled("enkash", "already_done")
    enkash_names_the_po(gw, "ENK-OBJ-LOST", (1, 2))  # the hub's change: 2 -> 3, reply lost
    assert enkash.faults.dropped == 1
    record = enkash.find("ENK-OBJ-LOST", "PO-2025-0042")
    assert record is not None and record.version == 3
    applied = [
        r for r in enkash.received
        if r["json"]["poStatus"]["objectVersion"] == {"currentVersion": 2, "newVersion": 3}
    ]  # fmt: skip
    # one effect: the resend after the lost reply was refused as STALE_VERSION, which
    # changed nothing and so is not in EnKash's log of effects
    assert len(applied) == 1, "applied once"
    assert _reconciled("enkash", "already_done") == before + 1
    message_id = gw.uniware_message  # type: ignore[attr-defined]
    found = [x for x in _exchanges(_delivery(gw, message_id, "enkash")) if x.get("reconciled")]
    assert [x["reconciled"] for x in found] == ["already_done"]


def test_which_deliveries_are_unsure() -> None:
    """An earlier sending got no reply (its call may have landed) or nobody knows."""
    message = Message(id="m", system="uniware", po_number="PO")

    def delivery(*attempts: tuple[str, int | None], reason: str | None = None) -> Delivery:
        tries = [Attempt(at=utc_now(), target="t", outcome=o, status=s) for o, s in attempts]
        return Delivery(id="d", message_id="m", target="t", po_number="PO", seq=1,
                        attempts=tries, reason=reason)  # fmt: skip

    assert lost_reply(delivery(), message) is None
    assert lost_reply(delivery(("retry", 503)), message) is None  # answered: not applied
    for status in (None, 408, 502, 504):
        found = lost_reply(delivery(("retry", status)), message)
        assert found is not None and found.since == message.received_at
    # the read-back of the second attempt failed: the first call is still unsettled
    assert lost_reply(delivery(("retry", None), ("retry", 500)), message) is not None
    assert lost_reply(delivery(("retry", None), ("dead", 409)), message) is None  # a new round
    for reason in (LEASE_EXPIRED, RETURNED):
        assert lost_reply(delivery(reason=reason), message) is not None
    assert lost_reply(delivery(("parked", None)), message) is None, "a parking sent nothing"


def test_the_doubt_of_a_swept_attempt_outlives_a_later_failure() -> None:
    """Chaos (full run, EnKash dead STALE_VERSION): a worker stopped mid-call (swept:
    reason LEASE_EXPIRED), the next attempt failed with a 500 before settling it, which
    replaced the reason; the attempt after that sent the change again as if sure, and the
    STALE_VERSION that showed it already there was taken for a refusal."""
    message = Message(id="m", system="uniware", po_number="PO")
    swept = Delivery(id="d", message_id="m", target="t", po_number="PO", seq=1,
                     reason=LEASE_EXPIRED)  # fmt: skip
    attempt = _attempt(swept, "retry", 500, error="enkash: 500 server error")
    assert attempt.unsure
    after = swept.model_copy(update={"attempts": [attempt], "reason": "enkash: 500 server error"})
    assert lost_reply(after, message) is not None
