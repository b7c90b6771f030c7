"""template's drop-in inbound endpoint: ``POST /status-updates``, answered in its envelope
(``replies``): success with the hub's message id, every error the shared error table."""

from __future__ import annotations

from adapters._template.replies import accepted, error_reply
from adapters._template.schema import PATH
from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundRoute, Reply
from core.model import PoEvent


class TemplateInbound:
    routes: list[InboundRoute] = [InboundRoute("POST", PATH)]

    def prepare(self, request: InboundRequest) -> tuple[bytes, dict[str, str]]:
        return request.body, dict(request.headers)

    def accepted(
        self, request: InboundRequest, events: list[PoEvent], message_ids: list[str]
    ) -> Reply:
        po_number = events[0].po_number if events else ""
        return Reply(200, accepted(po_number, messageIds=list(message_ids)))

    def refused(
        self,
        request: InboundRequest | None,
        status: int,
        message: str,
        error: InvalidInput | None = None,
    ) -> Reply:
        if error is not None and error.errors:
            first = error.first
            return error_reply(status, first.message, first.path, first.rule)
        return error_reply(status, message)


INBOUND = TemplateInbound()
