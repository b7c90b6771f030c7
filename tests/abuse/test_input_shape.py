"""Input shape at the border (issue 11, "Lose nothing, block nothing"): an object that names a
key twice, and a PO number no URL, store key or partner can carry, are refused with a 4xx in
the sender's own envelope naming the JSON path and the rule, for every system; nothing of
them is stored or delivered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from core.errors import InvalidInput, json_path
from core.model import PoEvent
from core.validation import duplicate_keys
from tests import support
from tests.fuzz.test_inbound_fuzz import ENVELOPES, SYSTEMS, _route_samples
from tests.gateway.harness import Gateway, gateway
from tests.servers import SimulatorServer
from tests.support import ROOT

UNIWARE = (ROOT / "adapters/uniware/samples/approved-po.json").read_bytes()


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(simulators, tmp_path_factory.mktemp("shape"), workers=0) as g:
        yield g


def _send(gw: Gateway, system: str, method: str, path: str, body: bytes,
          headers: dict[str, str]) -> httpx.Response:  # fmt: skip
    h = {**gw.inbound_headers(system), "Content-Type": "application/json", **headers}
    with httpx.Client(base_url=gw.url, timeout=10) as c:
        return c.request(method, f"/inbound/{system}{path}", content=body, headers=h)


def _refused(system: str, reply: httpx.Response, path: str, rule: str) -> None:
    assert reply.status_code == 400, (system, reply.status_code, reply.text)
    body = reply.json()
    is_envelope, path_text = ENVELOPES[system]
    assert is_envelope(body), (system, body)
    assert path in path_text(body), (system, path, body)
    assert rule in reply.text, (system, rule, body)


def _first_object(doc: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...]:
    """Where the document's first object is (the document itself, or its first item)."""
    if isinstance(doc, list):
        return _first_object(doc[0], (*loc, 0))
    return loc


def _with_duplicate(body: bytes) -> tuple[bytes, str]:
    """The body with its first object's first key written again at the object's end (a
    parser keeping the last one would silently take the second value), and its JSON path."""
    doc = orjson.loads(body)
    loc = _first_object(doc)
    target = doc
    for part in loc:
        target = target[part]
    key = next(iter(target))
    target["__again__"] = True  # placeholder, renamed in the text below
    text = orjson.dumps(doc).decode()
    assert text.count('"__again__":true') == 1
    return text.replace('"__again__":true', f'"{key}":"again"').encode(), json_path((*loc, key))


# --- duplicate keys -----------------------------------------------------------------------------
ROUTES = [(s, *r) for s in SYSTEMS for r in _route_samples(s)[:1]]


@pytest.mark.parametrize(("system", "method", "path", "sample", "headers"), ROUTES,
                         ids=[r[0] for r in ROUTES])  # fmt: skip
def test_a_duplicate_key_is_refused_in_the_senders_envelope(
    gw: Gateway, system: str, method: str, path: str, sample: Path, headers: dict[str, str]
) -> None:
    body, where = _with_duplicate(sample.read_bytes())
    reply = _send(gw, system, method, path, body, headers)
    _refused(system, reply, where, "duplicate")


def test_a_nested_duplicate_key_is_named_by_its_path(gw: Gateway) -> None:
    text = UNIWARE.decode().replace('"quantity": 6,', '"quantity": 6, "quantity": 60,', 1)
    assert text != UNIWARE.decode()
    reply = _send(gw, "uniware", "POST", "/approvedPurchaseOrder", text.encode(), {})
    _refused("uniware", reply, "$.purchaseOrderItems[0].quantity", "duplicate_key")


def test_duplicate_detection_is_exact() -> None:
    """The cheap check (colon count) never refuses a document without duplicates, even with
    colons in keys and strings or escaped ones, and finds every duplicate."""
    fine = [
        b'{"a": "10:30", "b:c": {"d": ["x:y", ":"]}, "e": 1}',
        b'{"a": "\\u003a", "b": "t:t", "c": {"\\u003a": 1, "::": 2}}',
        b'[{"a": 1}, {"a": 1}]',
        b'{"a": {"a": {"a": 1}}}',
        UNIWARE,
    ]
    for raw in fine:
        assert duplicate_keys(raw, orjson.loads(raw)) == [], raw
    broken = {
        b'{"code": "A", "code": "B"}': ["$.code"],
        b'{"a": "x", "a": "\\u003a"}': ["$.a"],
        b'{"a": "x:y", "b": [{"c": 1, "d": {"e": 1, "e": 2}}], "a": 1}': ["$.a", "$.b[0].d.e"],
        b'{"\\u0061": 1, "a": 2}': ["$.a"],
        b'{"c": {"\\u003a": 1, ":": 2}}': ["$.c.:"],
    }
    for raw, paths in broken.items():
        found = duplicate_keys(raw, orjson.loads(raw))
        assert [e.path for e in found] == paths, (raw, found)
        assert {e.rule for e in found} == {"duplicate_key"}


# --- PO numbers ---------------------------------------------------------------------------------
BAD_NUMBERS = {
    "huge": "P" * 900_000,
    "129 characters": "P" * 129,
    "slash": "PO-1/approve-supplier",
    "question mark": "PO-1?x=1",
    "hash": "PO-1#frag",
    "control character": "PO-\u00071",
    "newline": "PO-1\nPO-2",
    "bidi override": "PO-\u202e1",
    "whitespace only": "   ",
    "empty": "",
}
"""Each a string the sender's schema accepts; the hub's rule (``core.model.check_po_number``)
does not."""

PO_FIELDS = {
    # system: (where the sample names its PO, route method, route path)
    "uniware": (("code",), "POST", "/approvedPurchaseOrder"),
    "leo": (("documentNumber",), "POST", "/leo-order-domaingateway-api/api/v2/Order/processAsync"),
    "appliqloud": (("inputs", 0, "header", "purchaseOrderId"), "PUT",
                   "/pic/link/purchase-orders/update"),
    "enkash": (("poStatus", "buyerPONumber"), "POST", "/api/v0/purchase-order/req-status-change"),
    "canonical": (("po_number",), "POST", "/api/v1/purchase-orders"),
}  # fmt: skip


def _sample_with(system: str, loc: tuple[str | int, ...], value: str) -> bytes:
    doc = orjson.loads(support.sample_paths(system)[0].read_bytes())
    target = doc
    for part in loc[:-1]:
        target = target[part]
    assert loc[-1] in target if isinstance(target, dict) else True, (system, loc)
    target[loc[-1]] = value
    return orjson.dumps(doc)


@pytest.mark.parametrize("system", sorted(PO_FIELDS))
@pytest.mark.parametrize("case", sorted(BAD_NUMBERS))
def test_a_po_number_breaking_the_rule_is_refused(gw: Gateway, system: str, case: str) -> None:
    loc, method, path = PO_FIELDS[system]
    reply = _send(gw, system, method, path, _sample_with(system, loc, BAD_NUMBERS[case]), {})
    where = json_path(loc)  # the sender's own path
    if case == "huge" and system != "canonical":
        _refused(system, reply, where, "string_length")  # the border's 64 KiB bound comes first
    elif case in ("empty", "whitespace only") and system != "canonical":
        _refused(system, reply, where, "")  # some schemas refuse a blank number themselves
    else:
        _refused(system, reply, where, "po_number")


def test_alphaalpha_path_id_breaking_the_rule_is_refused(gw: Gateway) -> None:
    """AlphaAlpha names the PO in the URL: an id with a control character (escaped there)."""
    sample = ROOT / "adapters/alphaalpha/samples/mark-as-sent.json"
    reply = _send(gw, "alphaalpha", "POST", "/api/v1/purchase-orders/AA-%07-1/mark-as-sent",
                  sample.read_bytes(), {})  # fmt: skip
    _refused("alphaalpha", reply, "po_number", "po_number")


def test_nothing_refused_was_stored_for_delivery(gw: Gateway) -> None:
    with gw.client("viewer") as c:
        page = c.get("/api/v1/messages", params={"limit": 500}).json()
    assert page["items"] and all(m["state"] == "rejected" for m in page["items"])


@pytest.mark.parametrize("number", ["PO0194", "450000001", "AA-PO-000856", "P" * 128,
                                    "Bestellung-Ä-12", "PO 12 A"])  # fmt: skip
def test_po_numbers_within_the_rule_pass(number: str) -> None:
    event = PoEvent(kind="created", po_number=number, source_system="canonical")  # type: ignore[arg-type]
    assert event.po_number == number


def test_every_sample_po_number_is_within_the_rule() -> None:
    for system, path in support.all_samples():
        try:
            events = support.parse_sample(system, path)
        except InvalidInput as exc:  # pragma: no cover - a sample the rule refuses
            raise AssertionError(f"{system} {path.name}: {exc}") from None
        assert events, path
