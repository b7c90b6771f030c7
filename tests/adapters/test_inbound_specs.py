"""Each system's drop-in inbound spec answers in that system's own envelopes (no server)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import orjson
import pytest

from adapters import registry
from adapters.alphaalpha import inbound as aa_inbound
from adapters.alphaalpha.lifecycle import Action
from adapters.appliqloud.replies import ErrorReply, UpdateReply
from adapters.enkash.replies import Reply as EnkashReply
from adapters.leo.replies import Reply as LeoReply
from adapters.uniware.replies import Reply as UniwareReply
from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundSpec, Reply
from core.mapping.tables import Mapping
from core.model import PoEvent
from gateway.mappings.files import load_mapping

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = [s.name for s in registry.systems() if s.inbound is not None]
SAMPLE = {
    "uniware": "approved-po.json",
    "leo": "process-async.json",
    "appliqloud": "update.json",
    "enkash": "status-change-request.json",
    "canonical": "status-event.json",
}
ERROR = InvalidInput.one("x", "$.items[0].quantity", "greater_than", "must be above 0")
BASE = "/api/v1/purchase-orders"


@cache
def mapping(system: str) -> Mapping:
    return load_mapping(ROOT / "mappings", system)


def spec(system: str) -> InboundSpec:
    found = registry.system(system).inbound
    assert found is not None
    return found


def request(
    system: str,
    body: bytes = b"{}",
    name: str | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> InboundRequest:
    routes = spec(system).routes
    route = routes[0] if name is None else next(r for r in routes if r.name == name)
    head = {"content-type": "application/json", **(headers or {})}
    return InboundRequest(route, params or {}, head, body)


def sample(system: str) -> bytes:
    return (registry.samples_dir(system) / SAMPLE[system]).read_bytes()


def parsed(system: str, req: InboundRequest) -> list[PoEvent]:
    body, headers = spec(system).prepare(req)
    return registry.get(system).parse(body, mapping(system), headers)


def invalid(system: str) -> Reply:
    return spec(system).refused(request(system), 400, "invalid body", ERROR)


# -- shared ---------------------------------------------------------------------------------
@pytest.mark.parametrize("system", [s for s in SYSTEMS if s != "alphaalpha"])
def test_prepare_is_identity(system: str) -> None:
    req = request(system, b'{"a": 1}', headers={"authorization": "t"})
    assert spec(system).prepare(req) == (b'{"a": 1}', dict(req.headers))


# -- uniware --------------------------------------------------------------------------------
def test_uniware() -> None:
    assert [(r.method, r.path) for r in spec("uniware").routes] == [
        ("POST", "/approvedPurchaseOrder")
    ]
    req = request("uniware", sample("uniware"))
    ok = spec("uniware").accepted(req, parsed("uniware", req), ["m1"])
    assert (ok.status, ok.json) == (
        200,
        {"status": "Success", "message": "Detail is updated successfully"},
    )
    bad = invalid("uniware")
    assert bad.status == 400
    assert bad.json == {
        "status": "Failed",
        "message": "$.items[0].quantity: must be above 0 (greater_than)",
    }
    for status in (401, 413, 415, 503):
        reply = spec("uniware").refused(None, status, "nope")
        assert reply.status == status
        assert UniwareReply.model_validate(reply.json) == UniwareReply.failed("nope")


# -- leo ------------------------------------------------------------------------------------
def test_leo() -> None:
    routes = spec("leo").routes
    assert [(r.method, r.path) for r in routes] == [
        ("POST", "/leo-order-domaingateway-api/api/v2/Order/processAsync")
    ]
    req = request("leo", sample("leo"))
    ok = spec("leo").accepted(req, parsed("leo", req), ["msg-1"])
    assert ok.status == 200
    envelope = LeoReply.model_validate(ok.json)
    assert not envelope.failed and envelope.hasData
    assert envelope.data["documentNumber"] == "string"
    assert envelope.data["messageId"] == "msg-1"
    bad = invalid("leo")
    assert bad.status == 400
    assert bad.json["hasException"] is True and bad.json["hasData"] is False
    assert bad.json["exception"] == {
        "code": "BadRequest",
        "message": "must be above 0",
        "field": "$.items[0].quantity",
        "rule": "greater_than",
    }
    unauthorized = spec("leo").refused(None, 401, "missing bearer token")
    assert unauthorized.json["exception"]["code"] == "Unauthorized"
    assert unauthorized.headers["WWW-Authenticate"].startswith("Bearer")
    for status, code in ((413, "RequestEntityTooLarge"), (415, "UnsupportedMediaType"),
                         (503, "ServiceUnavailable")):  # fmt: skip
        reply = spec("leo").refused(None, status, "nope")
        assert reply.status == status
        assert LeoReply.model_validate(reply.json).failed
        assert reply.json["exception"]["code"] in (code, "ContentTooLarge")


# -- appliqloud -----------------------------------------------------------------------------
def test_appliqloud() -> None:
    assert [(r.method, r.path) for r in spec("appliqloud").routes] == [
        ("PUT", "/pic/link/purchase-orders/update")
    ]
    req = request("appliqloud", sample("appliqloud"))
    ok = spec("appliqloud").accepted(req, parsed("appliqloud", req), ["m1"])
    assert ok.status == 200
    UpdateReply.model_validate(ok.json)
    assert ok.json["errors"] == []
    (po,) = ok.json["success"]
    assert po["header"]["purchaseOrderId"] == "450000001"
    assert po["header"]["purchaseOrderStatus"] == "OPEN"
    assert po["header"]["netTotalPrice"] == 6000.0
    assert po["items"][0]["netTotalPrice"] == 6000.0
    bad = invalid("appliqloud")
    assert bad.status == 400
    ErrorReply.model_validate(bad.json)
    assert bad.json["cause"] == "ValidationException"
    assert bad.json["message"] == "$.items[0].quantity: must be above 0 (greater_than)"
    assert len(bad.json["traceId"]) == 32
    causes = {
        401: "UnauthorizedException",
        413: "PayloadTooLargeException",
        415: "UnsupportedMediaTypeException",
        503: "ServiceUnavailableException",
    }
    for status, cause in causes.items():
        reply = spec("appliqloud").refused(None, status, "nope")
        assert reply.status == status
        assert set(reply.json) == {"traceId", "cause", "message"}
        assert reply.json["cause"] == cause
    assert "WWW-Authenticate" in spec("appliqloud").refused(None, 401, "x").headers


# -- enkash ---------------------------------------------------------------------------------
def test_enkash() -> None:
    assert [(r.method, r.path) for r in spec("enkash").routes] == [
        ("POST", "/api/v0/purchase-order/req-status-change")
    ]
    req = request("enkash", sample("enkash"))
    ok = spec("enkash").accepted(req, parsed("enkash", req), ["msg-7"])
    assert ok.status == 200
    envelope = EnkashReply.model_validate(ok.json)
    assert envelope.succeeded
    assert envelope.payload.resp.reqMsgId == "msg-7"
    assert envelope.payload.poStatus.buyerPONumber == "string"
    bad = invalid("enkash")
    assert bad.status == 400
    resp = EnkashReply.model_validate(bad.json).payload.resp
    assert resp.result == "FAILURE"
    assert resp.errorCd == "VALIDATION_FAILED"
    assert resp.errorField == "$.items[0].quantity"
    assert resp.errorDtl == "must be above 0 (greater_than)"
    codes = {
        401: "UNAUTHORIZED",
        413: "PAYLOAD_TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
        503: "SERVICE_UNAVAILABLE",
    }
    for status, code in codes.items():
        reply = spec("enkash").refused(None, status, "nope")
        assert reply.status == status
        failed = EnkashReply.model_validate(reply.json)
        assert not failed.succeeded
        assert failed.payload.resp.errorCd == code
        assert failed.payload.resp.errorDtl == "nope"


# -- canonical ------------------------------------------------------------------------------
def test_canonical() -> None:
    assert [(r.method, r.path) for r in spec("canonical").routes] == [("POST", BASE)]
    req = request("canonical", sample("canonical"))
    events = parsed("canonical", req)
    ok = spec("canonical").accepted(req, events, ["m1"])
    assert ok.status == 202
    assert ok.json == {"message_ids": ["m1"], "po_number": events[0].po_number}
    bad = invalid("canonical")
    assert bad.status == 400
    assert bad.json == {
        "error": {
            "status": 400,
            "message": "must be above 0",
            "path": "$.items[0].quantity",
            "rule": "greater_than",
        }
    }
    for status in (401, 413, 415, 503):
        reply = spec("canonical").refused(None, status, "nope")
        assert reply.json == {
            "error": {"status": status, "message": "nope", "path": None, "rule": None}
        }


# -- alphaalpha -----------------------------------------------------------------------------
def aa_sample(*parts: str) -> bytes:
    return registry.samples_dir("alphaalpha").joinpath(*parts).read_bytes()


def test_alphaalpha_routes() -> None:
    routes = {r.name: (r.method, r.path) for r in spec("alphaalpha").routes}
    assert routes["create"] == ("POST", BASE)
    assert routes["update"] == ("PATCH", f"{BASE}/{{id}}")
    for action in Action:
        method = "POST" if action in (Action.MARK_AS_SENT, Action.RECEIVE_GOODS) else "PATCH"
        assert routes[action.value] == (method, f"{BASE}/{{id}}/{action.value}")
    assert routes["comment"] == ("POST", f"{BASE}/{{id}}/comment")
    assert len(routes) == 13


def test_alphaalpha_create() -> None:
    req = request("alphaalpha", aa_sample("requests", "create.json"), "create")
    body, headers = spec("alphaalpha").prepare(req)
    assert body == req.body
    assert headers["x-pohub-path"] == BASE
    assert headers["x-pohub-id"].startswith("AA-HUB-") and len(headers["x-pohub-id"]) == 19
    events = registry.get("alphaalpha").parse(body, mapping("alphaalpha"), headers)
    ok = spec("alphaalpha").accepted(req, events, ["m1"])
    assert ok.status == 201
    assert ok.json["id"] == headers["x-pohub-id"]
    assert ok.json["status"] == "DRAFT"
    assert ok.json["subsidiaryId"] == "string"
    assert ok.json["products"][0]["productId"] == "string"


def test_alphaalpha_prepare_overrides_sender_headers() -> None:
    req = request(
        "alphaalpha",
        aa_sample("requests", "update.json"),
        "update",
        {"id": "PO-1"},
        {"x-pohub-path": "/evil", "x-pohub-id": "forged"},
    )
    _, headers = spec("alphaalpha").prepare(req)
    assert headers["x-pohub-path"] == f"{BASE}/PO-1"
    assert "x-pohub-id" not in headers
    events = parsed("alphaalpha", req)
    ok = spec("alphaalpha").accepted(req, events, ["m1"])
    assert ok.status == 200
    assert ok.json["id"] == "PO-1"


@pytest.mark.parametrize(
    ("action", "body", "status"),
    [
        (Action.CANCEL, b'"string"', "CANCELLED"),
        (Action.APPROVE_INTERNAL, b"", "APPROVED_INTERNALLY"),
        (Action.REQUEST_INTERNAL_APPROVAL, b"", "PENDING_INTERNAL_APPROVAL"),
        (Action.RECEIVE_GOODS, b"", None),  # goods, no status: the hub's totals decide it
        (Action.REINSTATE, b"", "DRAFT"),
    ],
)
def test_alphaalpha_actions(action: Action, body: bytes, status: str | None) -> None:
    if action is Action.RECEIVE_GOODS:
        body = aa_sample("receive-goods.json")
    req = request("alphaalpha", body, action.value, {"id": "PO-9"})
    events = parsed("alphaalpha", req)
    ok = spec("alphaalpha").accepted(req, events, ["m1"])
    assert ok.status == 200
    assert ok.json["id"] == "PO-9"
    assert ok.json.get("status") == status
    if action is Action.CANCEL:
        assert ok.json["cancellationReason"] == "string"


MULTIPART = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="pdf"; filename="po-1.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n"
    b"%PDF-1.4 binary\r\n"
    b"--XyZ--\r\n"
)


@pytest.mark.parametrize(
    ("body", "content_type", "pdf"),
    [
        (b'{"pdf": "string"}', "application/json", "string"),
        (b"pdf=PO-1", "application/x-www-form-urlencoded", "PO-1"),
        (b"pdf=PO-1", "text/plain", "PO-1"),
        (MULTIPART, "multipart/form-data; boundary=XyZ", "po-1.pdf"),
        (
            MULTIPART.replace(b'; filename="po-1.pdf"', b"").replace(b"%PDF-1.4 binary", b"PO-2"),
            "multipart/form-data; boundary=XyZ",
            "PO-2",
        ),
    ],
)
def test_alphaalpha_mark_as_sent_form(body: bytes, content_type: str, pdf: str) -> None:
    req = request(
        "alphaalpha", body, Action.MARK_AS_SENT.value, {"id": "PO-3"},
        {"content-type": content_type},
    )  # fmt: skip
    prepared, headers = spec("alphaalpha").prepare(req)
    assert orjson.loads(prepared) == {"pdf": pdf}
    assert headers["x-pohub-path"] == f"{BASE}/PO-3/mark-as-sent"
    events = parsed("alphaalpha", req)
    ok = spec("alphaalpha").accepted(req, events, ["m1"])
    assert (ok.status, ok.json["id"], ok.json["status"]) == (200, "PO-3", "SENT")


def test_alphaalpha_errors() -> None:
    bad = invalid("alphaalpha")
    assert bad.status == 400
    assert set(bad.json) == {"detail", "time", "title"}
    assert bad.json["title"] == "Bad Request"
    assert bad.json["detail"] == "$.items[0].quantity: must be above 0 (greater_than)"
    assert bad.json["time"].endswith("Z")
    titles = {401: "Unauthorized", 415: "Unsupported Media Type", 503: "Service Unavailable"}
    for status, title in titles.items():
        reply = spec("alphaalpha").refused(None, status, "nope")
        assert (reply.status, reply.json["title"], reply.json["detail"]) == (status, title, "nope")
    assert spec("alphaalpha").refused(None, 413, "nope").json["title"] in (
        "Request Entity Too Large",
        "Content Too Large",
    )


def test_alphaalpha_invalid_body_is_refused_by_parse() -> None:
    req = request("alphaalpha", b'{"products": "no"}', "create")
    with pytest.raises(InvalidInput) as caught:
        parsed("alphaalpha", req)
    reply = spec("alphaalpha").refused(req, 400, "invalid", caught.value)
    assert reply.json["detail"].startswith("$.products")


def test_new_ids_differ() -> None:
    assert aa_inbound.new_id() != aa_inbound.new_id()
