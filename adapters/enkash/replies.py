"""EnKash's reply envelope to the status-change webhook (the document's 200 response).

``{response_message, response_code, payload: {b2bIds, resp, poStatus, additionalInfos}}``:
the payload echoes the request's parties, PO status and additional infos, and ``resp``
says whether it was taken (``result`` ``SUCCESS``/``FAILURE``; ``errorCd``, ``errorDtl``
and ``errorField``, where the hub puts the JSON path of a bad field). The document's own
Example sends ``"string"`` for every text, so ``result`` is read as any string.
"""

from __future__ import annotations

from typing import Any

from pydantic import StrictStr

from adapters._wire import Wire
from adapters.enkash.schema import (
    AdditionalInfo,
    B2BIds,
    ObjectVersion,
    PoStatusBody,
    PoStatusTransition,
    StatusChangeRequest,
)
from core.inbound import Reply as HttpReply

SUCCESS = "SUCCESS"
FAILURE = "FAILURE"

ERROR_CODES = {
    400: "VALIDATION_FAILED",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "TIMEOUT",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
}
"""``errorCd`` per HTTP status; the document names none, so these are the hub's readings,
one table for the simulator and the drop-in endpoint."""


class Resp(Wire):
    reqMsgId: StrictStr
    result: StrictStr
    errorCd: StrictStr | None = None
    errorDtl: StrictStr | None = None
    errorField: StrictStr | None = None


class ReplyPayload(Wire):
    """``StatusChangePurchaseOrderResponse``; every part is marked required."""

    b2bIds: B2BIds
    resp: Resp
    poStatus: PoStatusBody
    additionalInfos: list[AdditionalInfo]


class Reply(Wire):
    response_message: StrictStr
    response_code: int
    payload: ReplyPayload

    @property
    def succeeded(self) -> bool:
        return self.payload.resp.result.upper() == SUCCESS

    @classmethod
    def success(cls, request: StatusChangeRequest, req_msg_id: str) -> Reply:
        """The request was taken: its parties, status and infos echoed back."""
        resp = Resp(reqMsgId=req_msg_id, result=SUCCESS)
        return cls._of(request, resp, "Success", 0)

    @classmethod
    def failure(
        cls,
        request: StatusChangeRequest | None,
        error_cd: str,
        error_dtl: str,
        error_field: str | None = None,
        req_msg_id: str = "",
    ) -> Reply:
        """Refused; ``request`` is None when the body could not be read at all."""
        resp = Resp(
            reqMsgId=req_msg_id,
            result=FAILURE,
            errorCd=error_cd,
            errorDtl=error_dtl,
            errorField=error_field,
        )
        return cls._of(request, resp, "Failure", 1)

    @classmethod
    def _of(cls, request: StatusChangeRequest | None, resp: Resp, message: str, code: int) -> Reply:
        if request is None:
            payload = ReplyPayload(
                b2bIds=B2BIds(buyerB2BId="", supplierB2BId=""),
                resp=resp,
                poStatus=_blank_status(),
                additionalInfos=[],
            )
        else:
            payload = ReplyPayload(
                b2bIds=request.b2bIds,
                resp=resp,
                poStatus=request.poStatus,
                additionalInfos=request.additionalInfos,
            )
        return cls(response_message=message, response_code=code, payload=payload)


def _blank_status() -> PoStatusBody:
    """What a failure echoes when the request could not be read: every part is required.
    Built without validation: the blank number is a placeholder, not a PO number."""
    return PoStatusBody.model_construct(
        objectId="",
        buyerPONumber="",
        objectVersion=ObjectVersion(currentVersion=0, newVersion=0),
        buyerAction="",
        buyerRemarks="",
        poStatusTransition=PoStatusTransition(currentStatus="", newStatus=""),
    )


def error_code(status: int) -> str:
    return ERROR_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "REQUEST_FAILED")


def error_reply(
    status: int,
    message: str,
    field: str | None = None,
    rule: str | None = None,
    request: StatusChangeRequest | None = None,
) -> HttpReply:
    """The documented envelope with ``resp.result`` FAILURE, for any status: ``errorCd`` per
    status, ``errorDtl`` the message (and rule), ``errorField`` the JSON path; ``request``
    echoed when it could be read. Shared by the simulator and the drop-in endpoint."""
    detail = f"{message} ({rule})" if rule else message
    reply = Reply.failure(request, error_code(status), detail, field)
    body: dict[str, Any] = reply.model_dump(mode="json", exclude_unset=True)
    return HttpReply(status, body)
