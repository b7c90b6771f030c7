"""Uniware's drop-in inbound endpoint: ``POST /approvedPurchaseOrder``.

Answers like the simulator (and the document) does: ``{"status": "Success", "message":
"Detail is updated successfully"}``, every error the same envelope with ``"Failed"`` and
``"<json path>: <what is wrong> (<rule>)"``.
"""

from __future__ import annotations

from adapters.uniware.render import PATH
from adapters.uniware.replies import Reply as UniwareReply
from adapters.uniware.replies import error_reply
from core.errors import InvalidInput
from core.inbound import InboundRequest, InboundRoute, Reply
from core.model import PoEvent


class UniwareInbound:
    routes: list[InboundRoute] = [InboundRoute("POST", PATH)]

    def prepare(self, request: InboundRequest) -> tuple[bytes, dict[str, str]]:
        return request.body, dict(request.headers)

    def accepted(
        self, request: InboundRequest, events: list[PoEvent], message_ids: list[str]
    ) -> Reply:
        return Reply(200, UniwareReply.success().model_dump())

    def refused(
        self, request: InboundRequest | None, status: int, message: str,
        error: InvalidInput | None = None,
    ) -> Reply:  # fmt: skip
        if error is not None and error.errors:
            first = error.first
            return error_reply(status, first.message, first.path, first.rule)
        return error_reply(status, message)


INBOUND = UniwareInbound()
