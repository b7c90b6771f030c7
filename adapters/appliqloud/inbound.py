"""AppliQloud's drop-in inbound endpoint: ``PUT /pic/link/purchase-orders/update``.

Success is the document's 200 ``{"success": [...], "errors": []}``: each PO of the request
echoed with ``purchaseOrderStatus`` ``OPEN`` and its totals. Errors are the document's
``{traceId, cause, message}``, the cause named per status (``replies.error_reply``, the
simulator's table too).
"""

from __future__ import annotations

from typing import Any

import orjson

from adapters.appliqloud.replies import UpdateReply, accepted, error_reply
from adapters.appliqloud.schema import PATH
from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundRoute, Reply
from core.model import PoEvent

OPEN = "OPEN"
"""The ``purchaseOrderStatus`` the document's 200 example shows after an update."""


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
            first = error.first
            return error_reply(status, first.message, first.path, first.rule)
        return error_reply(status, message)


INBOUND = AppliqloudInbound()
