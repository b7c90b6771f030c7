"""Issue 12 at the AlphaAlpha client: read back instead of sending again (loopback HTTP).

AlphaAlpha acts on every request (its simulator ignores Idempotency-Key by default): a
create sent twice is two POs, an action sent twice is a 409. The client reads back first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters._http import Crosswalk, Delivered, Exchange, Unsure
from adapters.alphaalpha.simulator import AlphaalphaSimulator
from core.adapter import Call, Rendered
from core.errors import PermanentDelivery, RetryableDelivery
from tests.servers import SimulatorServer, client_for

pytestmark = pytest.mark.anyio

SYSTEM = "alphaalpha"
BASE = "/api/v1/purchase-orders"
ID = f"{BASE}/{{id}}"
ORDER = {"products": [{"productId": "P-1", "price": 2.5, "quantity": 4, "unit": "PCS"}],
         "subsidiaryId": "SUB-1"}  # fmt: skip


@pytest.fixture
def aa(sim: SimulatorServer) -> AlphaalphaSimulator:
    simulator = sim.sims[SYSTEM]
    assert isinstance(simulator, AlphaalphaSimulator)
    return simulator


def create(order: dict[str, Any] = ORDER) -> Call:
    return Call("POST", BASE, order, step="create")


def approve_internal() -> Call:
    return Call("PATCH", f"{ID}/approve-internal", step="approve-internal",
                reaches="APPROVED_INTERNALLY")  # fmt: skip


def approve_supplier() -> Call:
    return Call("PATCH", f"{ID}/approve-supplier", step="approve-supplier", reaches="APPROVED")


async def send(
    server: SimulatorServer, calls: list[Call], key: str, **kw: Any
) -> tuple[Delivered, list[Exchange]]:
    sent: list[Exchange] = []
    async with client_for(server, SYSTEM) as client:
        done = await client.send(Rendered(SYSTEM, calls, "t"), key, exchanges=sent, **kw)
    return done, sent


def unsure(**kw: Any) -> Unsure:
    return Unsure(since=datetime.now(UTC) - timedelta(seconds=5), **kw)


def crosswalk(po: str, holders: dict[str, str]) -> Crosswalk:
    """A crosswalk like the store's: ``holders`` maps remote id -> hub PO, first claim wins."""

    async def owner(remote_id: str) -> str | None:
        return holders.get(remote_id)

    async def claim(remote_id: str) -> bool:
        return holders.setdefault(remote_id, po) == po

    return Crosswalk(po, owner, claim)


async def test_an_unsure_create_adopts_the_po_the_lost_create_made(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    lost, _ = await send(sim, [create()], "k")  # its reply "lost": the hub learnt nothing
    done, sent = await send(sim, [create(), approve_internal()], "k", unsure=unsure())
    assert len(aa.orders) == 1
    assert done.remote_ids == lost.remote_ids and done.body["status"] == "APPROVED_INTERNALLY"
    assert [(x.name, x.reconciled) for x in sent] == [
        ("find-created", "already_done"), ("approve-internal", None)
    ]  # fmt: skip


async def test_an_unsure_create_with_nothing_there_is_sent(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    other = {"products": [{"productId": "P-2", "price": 1, "quantity": 1}], "subsidiaryId": "SUB-1"}
    await send(sim, [create(other)], "other")  # a different PO: not ours
    done, sent = await send(sim, [create()], "k", unsure=unsure())
    assert len(aa.orders) == 2 and done.body["products"][0]["productId"] == "P-1"
    assert [(x.name, x.reconciled) for x in sent] == [
        ("find-created", "not_done"),
        ("create", None),
    ]


async def test_a_po_held_by_another_hub_po_is_not_adopted(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    first, _ = await send(sim, [create()], "k")
    taken = first.remote_ids[SYSTEM]

    holders = {taken: "PO-OTHER"}
    done, _ = await send(
        sim, [create()], "k2", unsure=unsure(), crosswalk=crosswalk("PO-1", holders)
    )
    assert len(aa.orders) == 2 and done.remote_ids[SYSTEM] != taken


async def test_an_order_another_delivery_claims_first_is_not_adopted_twice(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    """Two identical orders, two deliveries that lost their create replies: the claim is
    atomic (the crosswalk), so each adopts a different one and nothing is created again."""
    await send(sim, [create()], "k1")
    await send(sim, [create()], "k2")
    holders: dict[str, str] = {}
    a, _ = await send(sim, [create()], "k3", unsure=unsure(), crosswalk=crosswalk("PO-A", holders))
    b, _ = await send(sim, [create()], "k4", unsure=unsure(), crosswalk=crosswalk("PO-B", holders))
    assert len(aa.orders) == 2  # both adopted, neither created a third
    assert a.remote_ids[SYSTEM] != b.remote_ids[SYSTEM]
    assert holders == {a.remote_ids[SYSTEM]: "PO-A", b.remote_ids[SYSTEM]: "PO-B"}


async def test_an_unsure_create_takes_the_order_its_po_already_claimed(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    """Full chaos run (issue 12, 3 orders no hub PO held): a delivery claimed the order its
    lost create made, then its worker was killed before the PO state learnt the id. Its next
    sending searched again and took the *oldest* unclaimed identical order (another lost
    create's), leaving the one it had claimed held by nobody's state. An order the crosswalk
    already gives this hub PO is its own: it is taken before any unclaimed one, even when
    later updates changed its products."""
    older, _ = await send(sim, [create()], "other")  # another hub PO's lost create
    mine, _ = await send(sim, [create()], "k")
    ours = mine.remote_ids[SYSTEM]
    changed = {**ORDER, "products": [{**ORDER["products"][0], "quantity": 9}]}
    await send(sim, [Call("PATCH", ID, changed, step="update")], "k", remote_ids=mine.remote_ids)
    holders = {ours: "PO-1"}  # claimed, then the worker died before learning it
    done, sent = await send(
        sim, [create(), approve_internal()], "k", unsure=unsure(),
        crosswalk=crosswalk("PO-1", holders),
    )  # fmt: skip
    assert done.remote_ids[SYSTEM] == ours and len(aa.orders) == 2
    assert older.remote_ids[SYSTEM] not in holders  # left for the hub PO whose it is
    assert [(x.name, x.reconciled) for x in sent] == [
        ("find-created", "already_done"), ("approve-internal", None)
    ]  # fmt: skip


async def test_a_created_po_is_claimed_before_anything_else_is_sent_to_it(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    """The id a create's reply names is taken in the crosswalk at once: until then another
    hub PO whose create reply was lost could adopt the (identical) order."""
    holders: dict[str, str] = {}
    seen: list[tuple[str, str]] = []
    walk = crosswalk("PO-1", holders)

    async def claim(remote_id: str) -> bool:
        seen.append((remote_id, aa.orders[remote_id]["status"]))
        return await walk.claim(remote_id)

    done, _ = await send(sim, [create(), approve_internal()], "k",
                         crosswalk=Crosswalk("PO-1", walk.owner, claim))  # fmt: skip
    po_id = done.remote_ids[SYSTEM]
    assert holders == {po_id: "PO-1"}
    assert seen == [(po_id, "DRAFT")]  # claimed while still as created: before approve
    assert done.body["status"] == "APPROVED_INTERNALLY"


async def test_a_created_po_another_hub_po_adopted_first_is_left_to_it(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    """Between AlphaAlpha making the PO and this reply, another hub PO's lost-reply search
    adopted it (identical content): this delivery creates its own instead of approving an
    order another hub PO holds."""
    holders: dict[str, str] = {}
    walk = crosswalk("PO-1", holders)
    stolen: list[str] = []

    async def claim(remote_id: str) -> bool:
        if not stolen:  # the other delivery's claim lands first
            stolen.append(remote_id)
            holders[remote_id] = "PO-OTHER"
        return await walk.claim(remote_id)

    done, sent = await send(sim, [create(), approve_internal()], "k",
                            crosswalk=Crosswalk("PO-1", walk.owner, claim))  # fmt: skip
    mine = done.remote_ids[SYSTEM]
    assert mine != stolen[0] and holders == {stolen[0]: "PO-OTHER", mine: "PO-1"}
    assert aa.orders[stolen[0]]["status"] == "DRAFT"  # the other hub PO's: untouched
    assert aa.orders[mine]["status"] == "APPROVED_INTERNALLY"
    keys = [x.request.headers.get("idempotency-key") for x in sent]
    assert keys == ["k:create", "k:find-created", "k.again1:create", "k:approve-internal"]


async def test_a_created_po_adopted_first_takes_the_order_the_adopter_left(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    """Hub PO B lost its create's reply, its search took A's fresh (identical) order, and
    B's own order is nobody's: A's claim is refused and A adopts B's order instead of
    creating a third (chaos: an order no hub PO holds)."""
    left, _ = await send(sim, [create()], "b")  # B's create: made, reply lost
    holders: dict[str, str] = {}
    walk = crosswalk("PO-A", holders)
    walk = Crosswalk("PO-A", walk.owner, walk.claim, since=datetime.now(UTC) - timedelta(seconds=5))
    stolen: list[str] = []

    async def claim(remote_id: str) -> bool:
        if not stolen:  # B's search claims A's order first
            stolen.append(remote_id)
            holders[remote_id] = "PO-B"
        return await walk.claim(remote_id)

    done, _ = await send(sim, [create(), approve_internal()], "a",
                         crosswalk=Crosswalk("PO-A", walk.owner, claim, since=walk.since))  # fmt: skip
    assert len(aa.orders) == 2, "no third order"
    assert done.remote_ids[SYSTEM] == left.remote_ids[SYSTEM]
    assert holders == {stolen[0]: "PO-B", left.remote_ids[SYSTEM]: "PO-A"}
    assert aa.orders[left.remote_ids[SYSTEM]]["status"] == "APPROVED_INTERNALLY"


async def test_a_delivery_whose_creates_are_all_taken_retries_later(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    async def claim(remote_id: str) -> bool:
        return False

    async def owner(remote_id: str) -> str | None:
        return "PO-OTHER"

    with pytest.raises(RetryableDelivery, match="adopted first by another hub PO"):
        await send(sim, [create(), approve_internal()], "k",
                   crosswalk=Crosswalk("PO-1", owner, claim))  # fmt: skip
    assert all(o["status"] == "DRAFT" for o in aa.orders.values())


async def test_a_409_to_an_action_that_took_effect_reads_back_and_goes_on(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    """A killed worker's approve-internal landed; nothing recorded it. Sent again: 409."""
    first, _ = await send(sim, [create(), approve_internal()], "k")
    ids = first.remote_ids
    calls = [create(), approve_internal(), approve_supplier()]
    sent: list[Exchange] = []
    async with client_for(sim, SYSTEM) as client:
        done = await client.send(Rendered(SYSTEM, calls, "t"), "k", 1, ids, sent)
    assert done.body["status"] == "APPROVED" and done.steps == 3
    assert [(x.name, x.reply.status if x.reply else None, x.reconciled) for x in sent] == [
        ("approve-internal", 409, None), ("read-back", 200, "already_done"),
        ("approve-supplier", 200, None),
    ]  # fmt: skip
    assert len(aa.orders) == 1


async def test_a_409_the_po_cannot_go_on_from_stands(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    first, _ = await send(sim, [create()], "k")
    cancel = Call("PATCH", f"{ID}/cancel", step="cancel", reaches="CANCELLED")
    async with client_for(sim, SYSTEM) as client:
        await client.send(Rendered(SYSTEM, [cancel], "t"), "c", 0, first.remote_ids)
        sent: list[Exchange] = []
        with pytest.raises(PermanentDelivery) as caught:
            plan = Rendered(SYSTEM, [approve_internal()], "t")
            await client.send(plan, "k", 0, first.remote_ids, sent)
    assert caught.value.status == 409
    assert "read back: the PO is CANCELLED" in str(caught.value)
    assert [(x.name, x.reconciled) for x in sent] == [
        ("approve-internal", None), ("read-back", "conflict")
    ]  # fmt: skip


def comment(text: str) -> Call:
    return Call("POST", f"{ID}/comment", text=text, step="comment",
                headers={"Content-Type": "application/json"})  # fmt: skip


async def test_an_unsure_comment_already_posted_is_not_posted_again(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    first, _ = await send(sim, [create()], "k")
    po_id = first.remote_ids[SYSTEM]
    last_seen = int(datetime.fromisoformat(first.body["updated"]).timestamp() * 1000)
    async with client_for(sim, SYSTEM) as client:  # the comment lands, its reply is lost
        await client.send(Rendered(SYSTEM, [comment("late by 2 days")], "t"), "c", 0,
                          first.remote_ids)  # fmt: skip
    read = Call("GET", f"{BASE}/find/{po_id}", step="read", reaches="DRAFT")
    plan = [read, comment("late by 2 days"), comment("a second remark")]
    sent: list[Exchange] = []
    async with client_for(sim, SYSTEM) as client:
        done = await client.send(Rendered(SYSTEM, plan, "t"), "c", 0, first.remote_ids, sent,
                                 unsure=unsure(status="DRAFT", version=last_seen))  # fmt: skip
    texts = [e["description"] for e in aa.orders[po_id]["events"] if e["type"] == "COMMENT"]
    assert texts == ["late by 2 days", "a second remark"]
    assert done.steps == 3
    assert [(x.name, x.reconciled) for x in sent] == [("read", "already_done"), ("comment.2", None)]


async def test_an_unsure_comment_with_an_older_twin_is_posted(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    """The same text said by an earlier event, before the last reply the hub saw: not ours."""
    first, _ = await send(sim, [create()], "k")
    po_id = first.remote_ids[SYSTEM]
    async with client_for(sim, SYSTEM) as client:
        said = await client.send(Rendered(SYSTEM, [comment("ok")], "t"), "c1", 0,
                                 first.remote_ids)  # fmt: skip
    last_seen = int(datetime.fromisoformat(said.body["updated"]).timestamp() * 1000)
    read = Call("GET", f"{BASE}/find/{po_id}", step="read", reaches="DRAFT")
    sent: list[Exchange] = []
    async with client_for(sim, SYSTEM) as client:
        await client.send(Rendered(SYSTEM, [read, comment("ok")], "t"), "c2", 0,
                          first.remote_ids, sent,
                          unsure=unsure(status="DRAFT", version=last_seen))  # fmt: skip
    texts = [e["description"] for e in aa.orders[po_id]["events"] if e["type"] == "COMMENT"]
    assert texts == ["ok", "ok"]
    assert [(x.name, x.reconciled) for x in sent] == [("read", "not_done"), ("comment", None)]


def test_an_unsure_comment_is_rendered_after_a_read() -> None:
    from adapters import registry
    from core.adapter import RemoteState, RenderContext
    from core.model import EventKind, PoEvent
    from tests.support import mappings

    event = PoEvent(kind=EventKind.COMMENTED, po_number="PO-1", source_system="leo",
                    remarks="late")  # fmt: skip
    render = registry.get(SYSTEM).render
    mapping = mappings()[SYSTEM]
    sure = RenderContext(mapping, remote=RemoteState("AA-PO-1", "DRAFT", 1))
    assert [c.step for c in render(event, sure).calls] == ["comment"]
    unsure_ctx = RenderContext(mapping, remote=RemoteState("AA-PO-1", "DRAFT", 1, unsure=True))
    calls = render(event, unsure_ctx).calls
    assert [(c.step, c.method, c.path) for c in calls] == [
        ("read", "GET", f"{BASE}/find/AA-PO-1"), ("comment", "POST", f"{BASE}/AA-PO-1/comment")
    ]  # fmt: skip


def receive(quantity: int) -> Call:
    goods = {"acceptedGoods": [{"productId": "P-1", "uomSplit": [
        {"productId": "P-1", "quantity": quantity, "unit": "PCS"}]}],
        "rejectedGoods": [], "shortageGoods": []}  # fmt: skip
    return Call("POST", f"{ID}/receive-goods", goods, step="receive-goods",
                reaches="PARTIALLY_RECEIVED")  # fmt: skip


def read(reaches: str) -> Call:
    return Call("GET", f"{BASE}/find/{{id}}", step="read", reaches=reaches)


async def partly_received(sim: SimulatorServer, aa: AlphaalphaSimulator) -> tuple[str, int]:
    """A PO of 4 x P-1 with 1 received; the ``updated`` (ms) of the last reply the hub saw."""
    from adapters.alphaalpha import rules

    made, _ = await send(sim, [create()], "k")
    po_id = made.remote_ids[SYSTEM]
    order = aa.orders[po_id]
    order["status"], order["acceptedProducts"] = (
        "PARTIALLY_RECEIVED",
        [{"productId": "P-1", "quantity": 1.0}],
    )
    since = rules.millis(order["updated"])
    assert since is not None
    return po_id, since


async def test_a_partial_receipt_whose_reply_was_lost_is_not_booked_twice(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    """Receiving part of an order leaves it PARTIALLY_RECEIVED: the status cannot tell that
    the lost receive-goods was booked, the PO's totals can."""
    po_id, since = await partly_received(sim, aa)
    plan = [read("PARTIALLY_RECEIVED"), receive(2)]
    await send(sim, plan, "r", remote_ids={SYSTEM: po_id})  # booked; its reply "lost"
    assert aa.orders[po_id]["acceptedProducts"] == [{"productId": "P-1", "quantity": 3.0}]
    was = unsure(status="PARTIALLY_RECEIVED", version=since)
    done, sent = await send(sim, plan, "r", remote_ids={SYSTEM: po_id}, unsure=was)
    assert aa.orders[po_id]["acceptedProducts"] == [{"productId": "P-1", "quantity": 3.0}]
    assert [(x.name, x.reconciled) for x in sent] == [("read", "already_done")]
    assert done.body["status"] == "PARTIALLY_RECEIVED"


async def test_a_partial_receipt_that_was_not_booked_is_sent(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    po_id, since = await partly_received(sim, aa)
    was = unsure(status="PARTIALLY_RECEIVED", version=since)
    plan = [read("PARTIALLY_RECEIVED"), receive(2)]
    _, sent = await send(sim, plan, "r", remote_ids={SYSTEM: po_id}, unsure=was)
    assert aa.orders[po_id]["acceptedProducts"] == [{"productId": "P-1", "quantity": 3.0}]
    assert [(x.name, x.reconciled) for x in sent] == [("read", "not_done"), ("receive-goods", None)]


async def test_a_store_failure_at_the_claim_leaves_the_delivery_unsure_not_creating_again(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    """The create took effect and the crosswalk could not be written (a Redis failover): the
    attempt ends without a reply status, so the next sending is unsure, finds the order and
    adopts it instead of making a second."""
    holders: dict[str, str] = {}
    walk = crosswalk("PO-1", holders)

    async def broken(remote_id: str) -> bool:
        raise ConnectionError("store unavailable")

    with pytest.raises(RetryableDelivery, match="could not claim") as caught:
        await send(sim, [create()], "k", crosswalk=Crosswalk("PO-1", walk.owner, broken))
    assert caught.value.status is None, "no reply status: the worker treats it as a lost reply"
    (made,) = aa.orders
    done, sent = await send(sim, [create()], "k", unsure=unsure(), crosswalk=walk)
    assert len(aa.orders) == 1 and done.remote_ids[SYSTEM] == made
    assert holders == {made: "PO-1"}
    assert [(x.name, x.reconciled) for x in sent] == [("find-created", "already_done")]


async def test_the_search_goes_back_to_the_window_however_many_orders_came_since(
    sim: SimulatorServer, aa: AlphaalphaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full chaos run: the lost create's order lay behind more than 10 pages of newer
    identical orders (all held by other hub POs); the search stopped at 10 pages and the
    delivery created a second order. Pages of 2 here stand for pages of 100."""
    from adapters.alphaalpha import client as aa_client

    monkeypatch.setattr(aa_client, "SEARCH_PAGE", 2)
    mine, _ = await send(sim, [create()], "mine")  # made; its reply lost
    holders: dict[str, str] = {}
    for n in range(5):  # newer identical orders, each another hub PO's
        other, _ = await send(sim, [create()], f"o{n}")
        holders[other.remote_ids[SYSTEM]] = f"PO-OTHER-{n}"
    done, _ = await send(sim, [create()], "mine", unsure=unsure(),
                         crosswalk=crosswalk("PO-1", holders))  # fmt: skip
    assert done.remote_ids == mine.remote_ids and len(aa.orders) == 6
    monkeypatch.setattr(aa_client, "SEARCH_PAGES", 2)
    with pytest.raises(PermanentDelivery, match="cannot tell whether the unanswered create"):
        await send(sim, [create()], "lost", unsure=unsure(), crosswalk=crosswalk("PO-9", holders))
    assert len(aa.orders) == 6, "never a second order when it cannot tell"
