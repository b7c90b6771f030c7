"""pohub's own inbound endpoint: ``POST /api/v1/purchase-orders`` (a canonical event).

Success is ``202 {"message_ids": [...], "po_number": ...}``; errors
``{"error": {"status", "message", "path", "rule"}}``.
"""

from __future__ import annotations

from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundRoute, Reply
from core.model import PoEvent

PATH = "/api/v1/purchase-orders"


class CanonicalInbound:
    routes: list[InboundRoute] = [InboundRoute("POST", PATH)]

    def prepare(self, request: InboundRequest) -> tuple[bytes, dict[str, str]]:
        return request.body, dict(request.headers)

    def accepted(
        self, request: InboundRequest, events: list[PoEvent], message_ids: list[str]
    ) -> Reply:
        po_number = events[0].po_number if events else None
        return Reply(202, {"message_ids": list(message_ids), "po_number": po_number})

    def refused(
        self, request: InboundRequest | None, status: int, message: str,
        error: InvalidInput | None = None,
    ) -> Reply:  # fmt: skip
        if error is not None and error.errors:
            first = error.first
            return error_reply(status, first.message, first.path, first.rule)
        return error_reply(status, message)


def error_reply(
    status: int, message: str, field: str | None = None, rule: str | None = None
) -> Reply:
    """``{"error": {status, message, path, rule}}``: the hub's own error envelope."""
    return Reply(status, {"error": {"status": status, "message": message, "path": field,
                                    "rule": rule}})  # fmt: skip


INBOUND = CanonicalInbound()
