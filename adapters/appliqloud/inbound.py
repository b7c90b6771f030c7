"""AppliQloud's drop-in inbound endpoint: ``PUT /pic/link/purchase-orders/update``.

Success is the document's 200 ``{"success": [...], "errors": []}``: each PO of the request
echoed with ``purchaseOrderStatus`` ``OPEN`` and its totals. Errors are the document's
``{traceId, cause, message}``, the cause named per status as the simulator names it.
"""

from __future__ import annotations

from typing import Any

import orjson

from adapters.appliqloud.replies import ErrorReply, UpdateReply, accepted, trace_id
from adapters.appliqloud.schema import PATH
from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundRoute, Reply
from core.model import PoEvent

OPEN = "OPEN"
"""The ``purchaseOrderStatus`` the document's 200 example shows after an update."""

CAUSES = {
    400: "ValidationException",
    401: "UnauthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    405: "MethodNotAllowedException",
    413: "PayloadTooLargeException",
    415: "UnsupportedMediaTypeException",
    429: "TooManyRequestsException",
    500: "InternalServerError",
    502: "BadGatewayException",
    503: "ServiceUnavailableException",
    504: "GatewayTimeoutException",
}
"""``cause`` per status: the document shows 401 and 500, the rest follow the simulator."""


class AppliqloudInbound:
    routes: list[InboundRoute] = [InboundRoute("PUT", PATH)]

    def prepare(self, request: InboundRequest) -> tuple[bytes, dict[str, str]]:
        return request.body, dict(request.headers)

    def accepted(
        self, request: InboundRequest, events: list[PoEvent], message_ids: list[str]
    ) -> Reply:
        data: dict[str, Any] = orjson.loads(request.body)
        success = [accepted(po_input, OPEN) for po_input in data.get("inputs") or []]
        reply = UpdateReply.of(success, [])
        return Reply(200, reply.model_dump(mode="json", exclude_unset=True))

    def refused(
        self, request: InboundRequest | None, status: int, message: str,
        error: InvalidInput | None = None,
    ) -> Reply:  # fmt: skip
        if error is not None and error.errors:
            message = str(error.first)
        cause = CAUSES.get(status, "InternalServerError" if status >= 500 else "BadRequest")
        body = ErrorReply(traceId=trace_id(), cause=cause, message=message)
        reply = Reply(status, body.model_dump(mode="json", exclude_unset=True))
        if status == 401:
            reply.headers["WWW-Authenticate"] = 'Basic realm="AppliQloud"'
        return reply


INBOUND = AppliqloudInbound()
