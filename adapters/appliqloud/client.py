"""AppliQloud's outbound client: the bulk update and its replies (appliqloud-purchase-orders-
update.txt, "Responses").

Status codes are classified by the kit; AppliQloud adds two things: its error body
``{traceId, cause, message}`` (named in every failure, the ``traceId`` being what its support
asks for), and the 201 "with errors" reply, where a PO the update could not apply is listed
in ``errors`` while the call as a whole "succeeds".
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from adapters._http import MAX_ERROR_BODY, SystemClient
from adapters.appliqloud.replies import ErrorReply, PoError, UpdateReply
from adapters.appliqloud.schema import SYSTEM
from core.adapter import Call
from core.errors import DeliveryError, PermanentDelivery


class AppliqloudClient(SystemClient):
    system = SYSTEM

    def check(self, call: Call, response: httpx.Response) -> Any:
        """The kit's status classes with AppliQloud's cause; then, on 2xx, every PO sent must
        be in ``success`` and none of them in ``errors``."""
        try:
            body = super().check(call, response)
        except DeliveryError as exc:
            _name_cause(exc, response)
            raise
        reply = self._envelope(response, body)
        sent = sent_po_ids(call)
        failed = [error for error in reply.errors if concerns(error, sent)]
        if failed:
            raise self._refused(response, failed)
        confirmed = {po.header.purchaseOrderId for po in reply.success}
        missing = [po_id for po_id in sent if po_id not in confirmed]
        if missing:
            message = f"{SYSTEM}: {response.status_code} reply confirms no update of PO {missing}"
            raise PermanentDelivery(message, response.status_code, _text(response))
        return body

    def remote_ids(self, call: Call, body: Any) -> dict[str, str]:
        """AppliQloud assigns no id: a PO is known there by the hub's own ``purchaseOrderId``,
        recorded once AppliQloud confirms it (one PO per call, as ``render`` plans it)."""
        success = body.get("success") if isinstance(body, dict) else None
        if isinstance(success, list) and len(success) == 1:
            return {SYSTEM: str(success[0]["header"]["purchaseOrderId"])}
        return {}

    def _envelope(self, response: httpx.Response, body: Any) -> UpdateReply:
        """A 2xx that is not the documented envelope cannot tell what was applied."""
        try:
            return UpdateReply.model_validate(body)
        except ValidationError:
            raise self.unconfirmed(response, "reply is not {success, errors}") from None

    def _refused(self, response: httpx.Response, failed: list[PoError]) -> PermanentDelivery:
        """201 with errors for a PO sent: the same payload cannot succeed (say, an unknown PO)."""
        described = "; ".join(_describe(error) for error in failed)
        message = f"{SYSTEM}: {response.status_code} PO refused: {described}"
        return PermanentDelivery(message, response.status_code, _text(response))


def sent_po_ids(call: Call) -> list[str]:
    """The ``purchaseOrderId`` of every PO in the call's ``inputs``, in order."""
    inputs = call.json.get("inputs") if isinstance(call.json, dict) else None
    ids: list[str] = []
    for po in inputs if isinstance(inputs, list) else []:
        header = po.get("header") if isinstance(po, dict) else None
        if isinstance(header, dict) and isinstance(header.get("purchaseOrderId"), str):
            ids.append(header["purchaseOrderId"])
    return ids


def concerns(error: PoError, sent: list[str]) -> bool:
    """An error names one of our POs, or none at all (then it can only be about this call)."""
    po_id = error.context.purchaseOrderId if error.context is not None else None
    return po_id is None or po_id in sent


def _describe(error: PoError) -> str:
    po_id = error.context.purchaseOrderId if error.context is not None else None
    where = f"PO {po_id} " if po_id else ""
    return f"{where}{error.cause}: {error.message} (traceId {error.traceId})"


def _name_cause(exc: DeliveryError, response: httpx.Response) -> None:
    """Replace the kit's message by the envelope's cause and message when the body is one."""
    try:
        body = ErrorReply.model_validate_json(response.content)
    except ValidationError:
        return
    exc.message = (
        f"{SYSTEM}: {response.status_code} {body.cause}: {body.message} (traceId {body.traceId})"
    )
    exc.args = (exc.message,)


def _text(response: httpx.Response) -> str:
    return response.text[:MAX_ERROR_BODY]
