"""AlphaAlpha's simulator and client: real HTTP on loopback, plus the client's classification.

The integration half sends plans through ``AlphaalphaClient`` to ``AlphaalphaSimulator``
(served by ``gateway.cli.simulate`` in a uvicorn thread): the whole lifecycle, cancel and
reinstate, refused transitions, a plan resumed at its failed step, bad auth, invalid bodies
and dynamic-search paging. The unit half feeds the client canned replies through
``httpx.MockTransport``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
import respx

from adapters import registry
from adapters._http import Credentials, Delivered
from adapters._sim import Faults
from adapters.alphaalpha.client import AlphaalphaClient
from adapters.alphaalpha.schema import PageDoc, PurchaseOrderDoc
from adapters.alphaalpha.simulator import AlphaalphaSimulator
from core.adapter import Call, RemoteState, RenderContext, Rendered
from core.errors import AuthFailure, PermanentDelivery, RetryableDelivery
from core.mapping.tables import Mapping
from core.model import PoStatus
from tests.servers import SimulatorServer, client_for
from tests.support import mappings, parse_sample

pytestmark = pytest.mark.anyio

SYSTEM = "alphaalpha"
BASE = "/api/v1/purchase-orders"
ID = f"{BASE}/{{id}}"
ORDER = {"products": [{"productId": "P-1", "price": 2.5, "quantity": 4, "unit": "PCS"}],
         "subsidiaryId": "SUB-1"}  # fmt: skip
GOODS = {"acceptedGoods": [{"productId": "P-1", "uomSplit": [{"productId": "P-1", "quantity": 4}]}]}


@pytest.fixture
def aa(sim: SimulatorServer) -> AlphaalphaSimulator:
    simulator = sim.sims[SYSTEM]
    assert isinstance(simulator, AlphaalphaSimulator)
    return simulator


# helpers ------------------------------------------------------------------------------------
def create() -> Call:
    return Call("POST", BASE, ORDER, step="create")


def action(name: str, json: Any = None, form: dict[str, str] | None = None) -> Call:
    method = "POST" if name in ("mark-as-sent", "receive-goods") else "PATCH"
    return Call(method, f"{ID}/{name}", json, step=name, form=form)


def plan(*calls: Call) -> Rendered:
    return Rendered(SYSTEM, list(calls), "test")


async def deliver(server: SimulatorServer, rendered: Rendered, key: str, **kw: Any) -> Delivered:
    async with client_for(server, SYSTEM) as client:
        result: Delivered = await client.send(rendered, key, **kw)
        return result


async def created(server: SimulatorServer, key: str) -> str:
    result = await deliver(server, plan(create()), key)
    return result.remote_ids[SYSTEM]


# the simulator over loopback --------------------------------------------------------------
async def test_full_lifecycle_through_one_plan(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    result = await deliver(
        sim,
        plan(
            create(),
            action("approve-internal"),
            action("approve-supplier"),
            action("mark-as-sent", form={"pdf": "PO-1"}),
            action("receive-goods", GOODS),
            action("close"),
        ),
        "life",
    )
    po_id = result.remote_ids[SYSTEM]
    assert result.steps == 6 and result.body["status"] == "CLOSED"
    PurchaseOrderDoc.model_validate(result.body)
    order = aa.orders[po_id]
    assert [e["type"] for e in order["events"]] == [
        "CREATE", "APPROVE_INTERNAL", "APPROVE_SUPPLIER", "MARK_AS_SENT", "RECEIVE_GOODS", "CLOSE"
    ]  # fmt: skip
    assert order["pdf"]["name"] == "PO-1" and order["total"] == 10.0
    assert [r["path"] for r in aa.received][1] == f"{BASE}/{po_id}/approve-internal"


async def test_a_rendered_plan_is_accepted(sim: SimulatorServer, aa: AlphaalphaSimulator) -> None:
    (event,) = parse_sample("uniware", registry.samples_dir("uniware") / "approved-po.json")
    rendered = registry.get(SYSTEM).render(event, RenderContext(mappings()[SYSTEM]))
    result = await deliver(sim, rendered, "rendered")
    assert result.steps == len(rendered.calls)
    assert aa.orders[result.remote_ids[SYSTEM]]["status"] == result.body["status"]


async def test_create_find_and_patch(sim: SimulatorServer, aa: AlphaalphaSimulator) -> None:
    po_id = await created(sim, "c")
    patch = {"products": [{"productId": "P-2", "price": 1, "quantity": 3}]}
    found = await deliver(
        sim, plan(Call("PATCH", ID, patch), Call("GET", f"{BASE}/find/{{id}}")), "p",
        remote_ids={SYSTEM: po_id},
    )  # fmt: skip
    assert found.body["products"][0]["productId"] == "P-2" and found.body["total"] == 3.0
    assert found.body["status"] == "DRAFT"


async def test_cancel_then_reinstate(sim: SimulatorServer, aa: AlphaalphaSimulator) -> None:
    po_id = await created(sim, "c")
    result = await deliver(
        sim, plan(action("cancel", "no longer needed")), "x", remote_ids={SYSTEM: po_id}
    )
    assert result.body["status"] == "CANCELLED"
    assert result.body["cancellationReason"] == "no longer needed"
    result = await deliver(sim, plan(action("reinstate")), "r", remote_ids={SYSTEM: po_id})
    assert result.body["status"] == "DRAFT" and "cancellationReason" not in result.body


@pytest.mark.parametrize(
    ("before", "refused"),
    [
        (["cancel"], "approve-internal"),
        (["approve-internal"], "mark-as-sent"),
        ([], "close"),
    ],
)
async def test_a_refused_transition_is_a_permanent_409(
    sim: SimulatorServer, aa: AlphaalphaSimulator, before: list[str], refused: str
) -> None:
    po_id = await created(sim, "c")
    calls = [action(name) for name in before]
    form = {"pdf": "x"} if refused == "mark-as-sent" else None
    with pytest.raises(PermanentDelivery) as caught:
        await deliver(
            sim, plan(*calls, action(refused, form=form)), "t", remote_ids={SYSTEM: po_id}
        )
    err = caught.value
    assert type(err) is PermanentDelivery and err.status == 409 and err.step == len(before)
    assert f"Conflict: cannot {refused} purchase order {po_id}" in str(err)
    assert set(orjson.loads(err.body or "")) == {"detail", "time", "title"}


async def test_a_retry_resumes_at_the_failed_step_with_the_learned_id(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    full = plan(create(), action("approve-internal"), action("approve-supplier"))
    first = await deliver(sim, plan(*full.calls[:1]), "resume")
    aa.faults = Faults.parse({"fail_rate": 1.0, "status": 500})
    with pytest.raises(RetryableDelivery) as caught:
        await deliver(sim, full, "resume", start_step=1, remote_ids=first.remote_ids)
    err = caught.value
    assert err.step == 1 and err.remote_ids == first.remote_ids
    assert "Internal Server Error: injected fault" in str(err)
    aa.faults = Faults()
    done = await deliver(sim, full, "resume", start_step=err.step, remote_ids=err.remote_ids)
    assert done.steps == 3 and done.body["status"] == "APPROVED"
    assert done.remote_ids == first.remote_ids and len(aa.orders) == 1
    assert [r["headers"]["idempotency-key"] for r in aa.received] == [
        "resume:create", "resume:approve-internal", "resume:approve-supplier"
    ]  # fmt: skip


async def test_bad_token_is_an_auth_failure(sim: SimulatorServer, aa: AlphaalphaSimulator) -> None:
    token = aa.secrets["token"]
    wrong = Credentials.token("not-" + token, scheme="Bearer")
    async with AlphaalphaClient(sim.base_url(SYSTEM), wrong) as client:
        with pytest.raises(AuthFailure) as caught:
            await client.send(plan(create()), "auth")
    assert caught.value.status == 401 and "Unauthorized" in str(caught.value)
    assert token not in str(caught.value) and aa.orders == {} and aa.received == []


@pytest.mark.parametrize(
    ("body", "path", "rule"),
    [
        ({"subsidiaryId": "S"}, "$.products", "missing"),
        ({"products": [{"price": 1}]}, "$.products[0].productId", "missing"),
        ({"products": [{"productId": "P", "price": "1"}]}, "$.products[0].price", "float_type"),
    ],
)
async def test_invalid_create_body_is_permanent_naming_the_path(
    sim: SimulatorServer, aa: AlphaalphaSimulator, body: dict[str, Any], path: str, rule: str
) -> None:
    with pytest.raises(PermanentDelivery) as caught:
        await deliver(sim, plan(Call("POST", BASE, body)), "bad")
    err = caught.value
    assert err.status == 400 and "Bad Request" in str(err)
    assert path in str(err) and f"({rule})" in str(err)
    assert aa.orders == {}


async def test_unknown_id_is_a_permanent_404(sim: SimulatorServer, aa: AlphaalphaSimulator) -> None:
    with pytest.raises(PermanentDelivery, match="404 refused: Not Found: purchase order nope"):
        await deliver(sim, plan(action("close")), "404", remote_ids={SYSTEM: "nope"})


async def test_dynamic_search_pages_and_sorts_by_updated(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    ids = [await created(sim, f"s{n}") for n in range(5)]
    await deliver(sim, plan(action("approve-internal")), "touch", remote_ids={SYSTEM: ids[0]})
    updated = [aa.orders[i]["updated"] for i in ids]
    assert len(set(updated)) == 5
    search = f"{BASE}/dynamic-search"
    desc = await deliver(sim, plan(Call("GET", f"{search}?page=0&size=2&sort=updated,desc")), "d")
    body = {"page": 1, "size": 2, "sort": [{"field": "updated", "ascending": True}]}
    asc = await deliver(sim, plan(Call("POST", search, body)), "a")
    stats = (await deliver(sim, plan(Call("GET", f"{BASE}/stats")), "st")).body
    first = PageDoc.model_validate(desc.body).root
    assert [po["id"] for po in first["content"]] == [ids[0], ids[4]]
    assert (first["totalElements"], first["totalPages"], first["first"]) == (5, 3, True)
    second = asc.body
    assert [po["id"] for po in second["content"]] == [ids[3], ids[4]]
    assert second["number"] == 1 and second["last"] is False
    assert stats["totalOrders"] == 5 and stats["numberByStatus"] == {
        "DRAFT": 4, "APPROVED_INTERNALLY": 1
    }  # fmt: skip
    assert stats["totalValue"] == 50.0 and stats["averageValue"] == 10.0


# the client alone: httpx.MockTransport -------------------------------------------------------
def envelope(title: str, detail: str) -> dict[str, str]:
    return {"detail": detail, "time": "2019-08-24T14:15:22Z", "title": title}


def answering(status: int, body: Any = None, **kw: Any) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, **kw)
        return httpx.Response(status, json=body, **kw)

    return httpx.MockTransport(handler)


async def send_via(transport: httpx.MockTransport, calls: list[Call] | None = None) -> Delivered:
    creds = Credentials.token("tok", scheme="Bearer")
    async with AlphaalphaClient("http://aa.test", creds, transport=transport) as client:
        return await client.send(plan(*(calls or [create()])), "unit")


async def test_client_learns_the_id_and_fills_it_in() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "AA-9", "status": "DRAFT"})

    result = await send_via(httpx.MockTransport(handler), [create(), action("approve-internal")])
    assert result.remote_ids == {SYSTEM: "AA-9"}
    assert seen[1].url.path == f"{BASE}/AA-9/approve-internal"
    assert seen[0].headers["authorization"] == "Bearer tok"


async def test_401_is_an_auth_failure() -> None:
    with pytest.raises(AuthFailure, match="401 authentication refused: Unauthorized: bad"):
        await send_via(answering(401, envelope("Unauthorized", "bad")))


async def test_404_is_permanent() -> None:
    with pytest.raises(PermanentDelivery) as caught:
        await send_via(answering(404, envelope("Not Found", "no such PO")))
    assert type(caught.value) is PermanentDelivery
    assert str(caught.value) == "alphaalpha: 404 refused: Not Found: no such PO"


async def test_409_is_permanent() -> None:
    with pytest.raises(PermanentDelivery) as caught:
        await send_via(answering(409, envelope("Conflict", "cannot close")))
    assert type(caught.value) is PermanentDelivery and caught.value.status == 409
    assert "Conflict: cannot close" in str(caught.value)


async def test_429_is_retryable_after_its_retry_after() -> None:
    with pytest.raises(RetryableDelivery) as caught:
        await send_via(
            answering(429, envelope("Too Many Requests", "slow"), headers={"Retry-After": "7"})
        )
    assert caught.value.status == 429 and caught.value.retry_after == 7
    assert "rate limited: Too Many Requests: slow" in str(caught.value)


async def test_500_without_envelope_is_retryable() -> None:
    with pytest.raises(RetryableDelivery) as caught:
        await send_via(answering(500, text="upstream down"))
    assert caught.value.status == 500 and "server error" in str(caught.value)


# -- issue 10: what was seen ----------------------------------------------------------------
def render(
    event: Any, remote: RemoteState | None = None, state: Any = None, **defaults: Any
) -> Rendered:
    m = mappings()[SYSTEM]
    if defaults:
        data = m.file.model_dump()
        data["defaults"] = {**data["defaults"], **defaults}
        m = Mapping.from_dict(data, spec=registry.get(SYSTEM).spec)
    ctx = RenderContext(m, state, remote or RemoteState())
    return registry.get(SYSTEM).render(event, ctx)


def uniware_at(status: PoStatus) -> Any:
    (event,) = parse_sample("uniware", registry.samples_dir("uniware") / "approved-po.json")
    event.po.status = status
    event.occurred_at = datetime(2024, 3, 1, tzinfo=UTC)
    return event


@pytest.mark.parametrize("status", [PoStatus.CONFIRMED, PoStatus.SENT])
async def test_a_po_past_the_supplier_s_step_stops_at_approved_internally(
    sim: SimulatorServer, aa: AlphaalphaSimulator, status: PoStatus
) -> None:
    rendered = render(uniware_at(status))
    with pytest.raises(PermanentDelivery) as stopped:
        await deliver(sim, rendered, "stop")
    err = stopped.value
    assert err.step == 2 and "hubMayApproveForSupplier" in str(err)
    assert err.last_reply["status"] == "APPROVED_INTERNALLY"  # the worker learns where it is
    (order,) = aa.orders.values()
    assert order["status"] == "APPROVED_INTERNALLY"
    assert [r["path"].rsplit("/", 1)[-1] for r in aa.received] == [
        "purchase-orders", "approve-internal"
    ]  # fmt: skip
    allowed = render(uniware_at(PoStatus.CONFIRMED), hubMayApproveForSupplier=True)
    done = await deliver(sim, allowed, "allowed")
    assert done.body["status"] == "APPROVED"


async def test_remarks_go_as_the_raw_text_the_document_shows(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    po_id = await created(sim, "c")
    text = 'vendor said "no"; cancel'
    cancel = Call("PATCH", f"{ID}/cancel", step="cancel", text=text,
                  headers={"Content-Type": "application/json"})  # fmt: skip
    comment = Call("POST", f"{ID}/comment", step="comment", text="called them twice",
                   headers={"Content-Type": "application/json"})  # fmt: skip
    done = await deliver(sim, plan(comment, cancel), "raw", remote_ids={SYSTEM: po_id})
    assert done.body["cancellationReason"] == text and done.body["status"] == "CANCELLED"
    # sent raw, not JSON-quoted (a raw body that is not JSON is recorded as its text)
    assert aa.received[-1]["json"] == text
    assert aa.received[-1]["headers"]["content-type"] == "application/json"
    assert [e["description"] for e in done.body["events"] if e["type"] == "COMMENT"] == [
        "called them twice"
    ]
    with pytest.raises(PermanentDelivery) as refused:
        empty = Call("POST", f"{ID}/comment", step="comment")
        await deliver(sim, plan(empty), "empty", remote_ids={SYSTEM: po_id})
    assert refused.value.status == 400 and "body*string" in str(refused.value)


async def test_the_simulator_never_receives_above_ordered_nor_nothing(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    po_id = await created(sim, "c")
    to_sent = [action("approve-internal"), action("approve-supplier"),
               action("mark-as-sent", form={"pdf": "PO-1"})]  # fmt: skip
    await deliver(sim, plan(*to_sent), "s", remote_ids={SYSTEM: po_id})
    three = {
        "acceptedGoods": [{"productId": "P-1", "uomSplit": [{"productId": "P-1", "quantity": 3}]}]
    }
    rejected = {
        "rejectedGoods": [{"productId": "P-1", "uomSplit": [{"productId": "P-1", "quantity": 1}]}]
    }
    done = await deliver(
        sim, plan(action("receive-goods", three)), "r1", remote_ids={SYSTEM: po_id}
    )
    assert done.body["status"] == "PARTIALLY_RECEIVED"
    for body, rule in ((three, "not_above_ordered"), ({}, "not_empty")):
        with pytest.raises(PermanentDelivery) as refused:
            await deliver(
                sim, plan(action("receive-goods", body)), rule, remote_ids={SYSTEM: po_id}
            )
        assert refused.value.status == 400 and rule in str(refused.value)
    done = await deliver(
        sim, plan(action("receive-goods", rejected)), "r2", remote_ids={SYSTEM: po_id}
    )
    assert done.body["status"] == "RECEIVED"  # 3 accepted + 1 rejected of 4 ordered
    assert done.body["rejectedProducts"] == [{"productId": "P-1", "quantity": 1.0}]


async def test_a_stale_plan_reads_back_and_replans_from_what_it_reads(
    sim: SimulatorServer, aa: AlphaalphaSimulator
) -> None:
    po_id = await created(sim, "c")
    # someone approved it inside AlphaAlpha: the hub still thinks it is DRAFT, from long ago
    await deliver(sim, plan(action("approve-internal")), "behind", remote_ids={SYSTEM: po_id})
    stale = RemoteState(po_id, "DRAFT", 1)
    rendered = render(uniware_at(PoStatus.CONFIRMED), stale, hubMayApproveForSupplier=True)
    assert [c.step for c in rendered.calls] == [
        "read", "update", "approve-internal", "approve-supplier"
    ]  # fmt: skip
    aa.received.clear()
    done = await deliver(sim, rendered, "stale", remote_ids={SYSTEM: po_id})
    assert done.body["status"] == "APPROVED" and done.steps == len(rendered.calls)
    assert [r["method"] + " " + r["path"].rsplit("/", 1)[-1] for r in aa.received] == [
        f"GET {po_id}",
        f"PATCH {po_id}",
        "PATCH approve-supplier",
    ]  # approve-internal was not sent again: AlphaAlpha was past it


def reading(status: str, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reached = status if request.method == "GET" else request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"id": "A1", "status": reached})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(("read", "sent"), [
    ("DRAFT", ["find", "approve-internal", "approve-supplier"]),
    ("PENDING_INTERNAL_APPROVAL", ["find", "approve-internal", "approve-supplier"]),
    ("APPROVED_INTERNALLY", ["find", "approve-supplier"]),
    ("APPROVED", ["find"]),
])  # fmt: skip
async def test_client_replans_after_the_read(read: str, sent: list[str]) -> None:
    rendered = render(uniware_at(PoStatus.CONFIRMED), RemoteState("A1"),
                      hubMayApproveForSupplier=True)  # fmt: skip
    calls = [c for c in rendered.calls if c.step != "update"]
    seen: list[httpx.Request] = []
    creds = Credentials.token("tok", scheme="Bearer")
    async with AlphaalphaClient("http://aa.test", creds, transport=reading(read, seen)) as client:
        done = await client.send(plan(*calls), "k", remote_ids={SYSTEM: "A1"})
    assert [r.url.path.rsplit("/", 1)[-1] if r.method != "GET" else "find" for r in seen] == sent
    assert done.steps == len(calls)


@respx.mock
async def test_client_refuses_a_read_status_the_plan_cannot_lead_from() -> None:
    respx.get("http://aa.test/api/v1/purchase-orders/find/A1").respond(
        200, json={"id": "A1", "status": "CANCELLED", "updated": "2024-03-02T10:00:00Z"}
    )
    rendered = render(uniware_at(PoStatus.CONFIRMED), RemoteState("A1"))
    creds = Credentials.token("tok", scheme="Bearer")
    async with AlphaalphaClient("http://aa.test", creds) as client:
        with pytest.raises(PermanentDelivery) as caught:
            await client.send(rendered, "k", remote_ids={SYSTEM: "A1"})
    err = caught.value
    assert "CANCELLED (read back)" in str(err) and err.step == 1
    assert err.last_reply["status"] == "CANCELLED"
    assert AlphaalphaClient.remote_version(client, err.last_reply) == 1709373600000
