"""AppliQloud's reply envelopes (appliqloud-purchase-orders-update.txt, "Responses").

- 200: ``{"success": [PO...], "errors": []}``; each PO is the request's header plus
  ``purchaseOrderStatus`` and ``netTotalPrice``, and its ``items`` each plus ``netTotalPrice``.
- 201 "with errors": the same envelope with ``errors: [{traceId, cause, message, context}]``
  (per-PO errors; the POs that did go through are in ``success``).
- 401 and 500: ``{traceId, cause, message}``.

The document's own 201/401/500 JSON lacks the comma after ``traceId``; see
``samples/replies/NOTES.md``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from pydantic import StrictFloat, StrictInt, StrictStr

from adapters._wire import Wire, dec
from adapters.appliqloud.schema import PurchaseOrderHeader, PurchaseOrderItem
from core.inbound import Reply as HttpReply

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
"""``cause`` per status, one table for the simulator and the drop-in endpoint. The document
shows only 401 ``UnauthorizedException`` and 500 ``InternalServerError``; the others are
the hub's own names in the same style."""


class ReplyHeader(PurchaseOrderHeader):
    purchaseOrderStatus: StrictStr
    """AppliQloud's status code (``OPEN``); ``statuses.document`` of the mapping."""
    netTotalPrice: StrictInt | StrictFloat


class ReplyItem(PurchaseOrderItem):
    netTotalPrice: StrictInt | StrictFloat


class ReplyPurchaseOrder(Wire):
    header: ReplyHeader
    items: list[ReplyItem]


class ErrorContext(Wire):
    backendId: StrictStr | None = None
    purchaseOrderId: StrictStr | None = None


class PoError(Wire):
    """One PO the update could not apply (201)."""

    traceId: StrictStr
    cause: StrictStr
    message: StrictStr
    context: ErrorContext | None = None

    @classmethod
    def not_found(cls, purchase_order_id: str, backend_id: str) -> PoError:
        return cls.of(
            "PurchaseOrderNotFoundException",
            f"Purchase order {purchase_order_id} not found in backend {backend_id}",
            purchase_order_id,
            backend_id,
        )

    @classmethod
    def of(cls, cause: str, message: str, purchase_order_id: str, backend_id: str) -> PoError:
        """A per-PO error in the shape of the document's 201 example."""
        return cls(
            traceId=trace_id(),
            cause=cause,
            message=message,
            context=ErrorContext(backendId=backend_id, purchaseOrderId=purchase_order_id),
        )


class UpdateReply(Wire):
    """200 when every PO went through, 201 when ``errors`` is not empty."""

    success: list[ReplyPurchaseOrder]
    errors: list[PoError]

    @property
    def http_status(self) -> int:
        return 201 if self.errors else 200

    @classmethod
    def of(cls, success: list[ReplyPurchaseOrder], errors: list[PoError]) -> UpdateReply:
        return cls(success=success, errors=errors)


class ErrorReply(Wire):
    """401 and 500 body."""

    traceId: StrictStr
    cause: StrictStr
    message: StrictStr

    @classmethod
    def unauthorized(cls) -> ErrorReply:
        return cls(
            traceId=trace_id(), cause="UnauthorizedException", message="Authorization required"
        )

    @classmethod
    def internal(cls) -> ErrorReply:
        return cls(traceId=trace_id(), cause="InternalServerError", message="Internal server error")


def error_reply(
    status: int, message: str, field: str | None = None, rule: str | None = None
) -> HttpReply:
    """``{traceId, cause, message}``: the document's 401/500 body, used for every status, the
    field named the way a validation error names it (``path: message (rule)``); a 401 asks
    for Basic auth."""
    cause = CAUSES.get(status, "InternalServerError" if status >= 500 else "BadRequest")
    text = f"{field}: {message}" if field else message
    text = f"{text} ({rule})" if rule else text
    body = ErrorReply(traceId=trace_id(), cause=cause, message=text)
    reply = HttpReply(status, body.model_dump(mode="json", exclude_unset=True))
    if status == 401:
        reply.headers["WWW-Authenticate"] = 'Basic realm="AppliQloud"'
    return reply


def trace_id() -> str:
    """32 hex digits, the shape of the document's ``traceId``."""
    return uuid.uuid4().hex


def accepted(po_input: dict[str, Any], status_code: str) -> ReplyPurchaseOrder:
    """The ``success`` entry for one request PO (a plain dict of the wire, ``items`` or
    ``details``): prices as floats with totals, as in the 200 example."""
    lines = po_input.get("items")
    if lines is None:
        lines = po_input.get("details") or []
    items = [_reply_item(item) for item in lines]
    total = sum((Decimal(repr(i["netTotalPrice"])) for i in items), Decimal(0))
    header = {
        **po_input["header"],
        "purchaseOrderStatus": status_code,
        "netTotalPrice": float(total),
    }
    return ReplyPurchaseOrder.model_validate({"header": header, "items": items})


def _reply_item(item: dict[str, Any]) -> dict[str, Any]:
    price = dec(item["netUnitPrice"]) or Decimal(0)
    total = price * Decimal(item["quantity"])
    return {**item, "netUnitPrice": float(price), "netTotalPrice": float(total)}
