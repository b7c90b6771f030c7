"""Leo's drop-in inbound endpoint: ``POST .../api/v2/Order/processAsync``.

Every reply is the document's envelope ``{exception, data, hasData, hasException}``, as the
simulator answers: success carries ``data`` (the document number and the hub's message id),
an error ``hasException: true`` with ``exception`` ``{code, message, field, rule}``.
"""

from __future__ import annotations

from typing import Any

import orjson

from adapters.leo.replies import Reply as LeoReply
from adapters.leo.replies import error_reply
from adapters.leo.schema import PATH
from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundRoute, Reply
from core.model import PoEvent


class LeoInbound:
    routes: list[InboundRoute] = [InboundRoute("POST", PATH)]

    def prepare(self, request: InboundRequest) -> tuple[bytes, dict[str, str]]:
        return request.body, dict(request.headers)

    def accepted(
        self, request: InboundRequest, events: list[PoEvent], message_ids: list[str]
    ) -> Reply:
        data: dict[str, Any] = {
            "documentNumber": _document_number(request.body, events),
            "messageId": message_ids[0] if message_ids else None,
            "accepted": True,
        }
        if len(message_ids) > 1:
            data["messageIds"] = list(message_ids)
        return Reply(200, LeoReply.accepted(data).model_dump())

    def refused(
        self, request: InboundRequest | None, status: int, message: str,
        error: InvalidInput | None = None,
    ) -> Reply:  # fmt: skip
        if error is not None and error.errors:
            first = error.first
            return error_reply(status, first.message, first.path, first.rule)
        return error_reply(status, message)


def _document_number(body: bytes, events: list[PoEvent]) -> str | None:
    """The request's ``documentNumber``, else the first event's PO number."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("documentNumber"), str):
        return str(data["documentNumber"])
    return events[0].po_number if events else None


INBOUND = LeoInbound()
