"""EnKash's drop-in inbound endpoint: ``POST /api/v0/purchase-order/req-status-change``.

Every reply is the document's envelope (``adapters.enkash.replies``): success echoes the
request with ``resp.result`` SUCCESS and ``reqMsgId`` the hub's message id; an error is
FAILURE with ``errorCd`` per status, ``errorDtl`` and ``errorField`` (the JSON path).
"""

from __future__ import annotations

from typing import Any

from adapters.enkash.replies import Reply as EnkashReply
from adapters.enkash.replies import error_reply
from adapters.enkash.schema import PATH, SYSTEM, StatusChangeRequest
from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundRoute, Reply
from core.model import PoEvent
from core.validation import validate_json


class EnkashInbound:
    routes: list[InboundRoute] = [InboundRoute("POST", PATH)]

    def prepare(self, request: InboundRequest) -> tuple[bytes, dict[str, str]]:
        return request.body, dict(request.headers)

    def accepted(
        self, request: InboundRequest, events: list[PoEvent], message_ids: list[str]
    ) -> Reply:
        wire = validate_json(StatusChangeRequest, request.body, SYSTEM)
        req_msg_id = message_ids[0] if message_ids else ""
        return _reply(200, EnkashReply.success(wire, req_msg_id))

    def refused(
        self, request: InboundRequest | None, status: int, message: str,
        error: InvalidInput | None = None,
    ) -> Reply:  # fmt: skip
        echo = _echo(request)
        if error is not None and error.errors:
            first = error.first
            return error_reply(status, first.message, first.path, first.rule, request=echo)
        return error_reply(status, message, request=echo)


def _echo(request: InboundRequest | None) -> StatusChangeRequest | None:
    """The request to echo in a failure, when it can be read at all."""
    if request is None or not request.body:
        return None
    try:
        return validate_json(StatusChangeRequest, request.body, SYSTEM)
    except InvalidInput:
        return None


def _reply(status: int, reply: EnkashReply) -> Reply:
    body: dict[str, Any] = reply.model_dump(mode="json", exclude_unset=True)
    return Reply(status, body)


INBOUND = EnkashInbound()
