"""Bounded values at the border (issue 11, items 2-4): numbers that are not finite, out of
range or absurdly long, and dates no PO means, are refused by every dialect with a 4xx in
the sender's own envelope naming the JSON path and the rule; none is stored or rendered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.gateway.harness import Gateway, gateway
from tests.servers import SimulatorServer
from tests.support import ROOT

UNIWARE = (ROOT / "adapters/uniware/samples/approved-po.json").read_text()
CANONICAL_PO = '{"po_number": "PO-BOUNDS-C", "lines": [{"line_number": "1", "quantity": 1}]}'
APPLIQLOUD = next((ROOT / "adapters/appliqloud/samples").glob("*.json")).read_text()


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(simulators, tmp_path_factory.mktemp("bounds"), workers=0) as g:
        yield g


def _push(gw: Gateway, system: str, path: str, body: str, method: str = "POST") -> httpx.Response:
    headers = {**gw.inbound_headers(system), "Content-Type": "application/json"}
    with httpx.Client(base_url=gw.url, timeout=10) as c:
        return c.request(method, f"/inbound/{system}{path}", content=body.encode(),
                         headers=headers)  # fmt: skip


def _with(sample: str, key: str, raw: str) -> str:
    """The sample with the first value of ``key`` (at any depth) replaced by raw JSON text."""
    data = orjson.loads(sample)

    def put(node: object) -> bool:
        if isinstance(node, dict):
            if key in node:
                node[key] = "__RAW__"
                return True
            return any(put(v) for v in node.values())
        if isinstance(node, list):
            return any(put(v) for v in node)
        return False

    assert put(data), key
    return orjson.dumps(data).decode().replace('"__RAW__"', raw, 1)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("NaN", "finite_number"),
        ("1e400", "finite_number"),
        ("-1e400", "finite_number"),
        ("1e308", "number_range"),
        ("123456789012345678901", "number_range"),
        ('"1e200000"', "value_error"),
        ('"1e999999999"', "value_error"),
        ('"0.00000000000000000001"', "value_error"),
    ],
)
def test_uniware_quantity_out_of_bounds_is_refused(gw: Gateway, raw: str, rule: str) -> None:
    reply = _push(gw, "uniware", "/approvedPurchaseOrder", _with(UNIWARE, "quantity", raw))
    assert reply.status_code == 400, reply.text
    text = reply.text
    assert "$.purchaseOrderItems[0].quantity" in text and rule in text, text


@pytest.mark.parametrize(
    ("field", "raw"),
    [("unitPrice", "-2.2250738585072014e-308"), ("quantity", "1e-11"),
     ("unitPrice", "0.30000000000000004")],
)  # fmt: skip
def test_uniware_json_number_with_too_many_places_is_a_400(
    gw: Gateway, field: str, raw: str
) -> None:
    """A JSON float finer than 10 decimal places is the sender's error, named by its path
    (it was a 503 "could not store the message: OutOfRange": found by the inbound fuzzer)."""
    reply = _push(gw, "uniware", "/approvedPurchaseOrder", _with(UNIWARE, field, raw))
    assert reply.status_code == 400, reply.text
    assert f"$.purchaseOrderItems[0].{field}" in reply.text and "number_places" in reply.text


@pytest.mark.parametrize("raw", ["1e-12", "123.12345678901"])
def test_appliqloud_price_with_too_many_places_is_a_400(gw: Gateway, raw: str) -> None:
    reply = _push(gw, "appliqloud", "/pic/link/purchase-orders/update",
                  _with(APPLIQLOUD, "netUnitPrice", raw), "PUT")  # fmt: skip
    assert reply.status_code == 400, reply.text
    assert "netUnitPrice" in reply.text and "number_places" in reply.text


def test_uniware_loose_tax_field_cannot_hide_a_huge_number(gw: Gateway) -> None:
    reply = _push(gw, "uniware", "/approvedPurchaseOrder", _with(UNIWARE, "cgst", '"9e99999"'))
    assert reply.status_code == 400 and "$.purchaseOrderItems[0].cgst" in reply.text


def test_uniware_year_0001_is_refused(gw: Gateway) -> None:
    body = _with(UNIWARE, "deliveryDate", '"Mar 12, 0001 4:16:42 PM"')
    reply = _push(gw, "uniware", "/approvedPurchaseOrder", body)
    assert reply.status_code == 400 and "deliveryDate" in reply.text, reply.text


@pytest.mark.parametrize("raw", ["NaN", "1e400", "1e308", "99999999999999999999"])
def test_appliqloud_price_out_of_bounds_is_refused(gw: Gateway, raw: str) -> None:
    reply = _push(gw, "appliqloud", "/pic/link/purchase-orders/update",
                  _with(APPLIQLOUD, "netUnitPrice", raw), "PUT")  # fmt: skip
    assert reply.status_code == 400, reply.text
    assert "netUnitPrice" in reply.text


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("1e308", "number_range"),
        ("123456789012345678901", "number_range"),
        ('"1e400"', "value_error"),
        ('"1e200000"', "value_error"),
        ('"0.00000000000000000001"', "value_error"),
    ],
)
def test_canonical_quantity_out_of_bounds_is_refused(gw: Gateway, raw: str, rule: str) -> None:
    """Found by the state machine (tests/abuse/test_state_machine.py): the canonical
    endpoint took every one of these, a huge number to be rendered to every target."""
    body = _with(CANONICAL_PO, "quantity", raw)
    headers = {**gw.inbound_headers("canonical"), "Content-Type": "application/json"}
    reply = httpx.post(f"{gw.url}/api/v1/purchase-orders", content=body, headers=headers,
                       timeout=10)  # fmt: skip
    assert reply.status_code == 400, reply.text
    error = orjson.loads(reply.content)["error"]
    assert error["path"] == "$.lines[0].quantity" and error["rule"] == rule, error


def test_nothing_out_of_bounds_was_stored(gw: Gateway) -> None:
    with gw.client("viewer") as c:
        page = c.get("/api/v1/messages", params={"limit": 200}).json()
    assert all(m["state"] == "rejected" for m in page["items"]), [m["state"] for m in page["items"]]


def test_in_range_values_still_pass(gw: Gateway, tmp_path: Path) -> None:
    body = orjson.loads(_with(UNIWARE, "quantity", '"999999999999.5"'))
    body["code"] = "PO-BOUNDS-OK"
    reply = _push(gw, "uniware", "/approvedPurchaseOrder", orjson.dumps(body).decode())
    assert reply.status_code == 200, reply.text


def test_a_remote_id_is_data_never_url_syntax() -> None:
    """Issue 11, item 7: a remote id like ``AA-PO-000856/approve-supplier?x=`` (set through
    the canonical endpoint or returned by a target) must name one order, not act on another."""
    from adapters import registry
    from core.adapter import RemoteState, RenderContext
    from tests import support

    event = support.parse_sample("uniware", ROOT / "adapters/uniware/samples/approved-po.json")[0]
    evil = "AA-PO-000856/approve-supplier?x="
    mapping = support.mappings()["alphaalpha"]
    plan = registry.get("alphaalpha").render(
        event, RenderContext(mapping, event.po, RemoteState(evil, "DRAFT", 4102444800000))
    )
    for call in plan.calls:
        assert "/approve-supplier?" not in call.path and "?" not in call.path, call.path
        assert "AA-PO-000856%2Fapprove-supplier%3Fx%3D" in call.path
