"""The hub's client for EnKash's status-change webhook.

EnKash's document gives one reply envelope for everything,
``{response_message, response_code, payload{..., resp{reqMsgId, result, errorCd, errorDtl,
errorField}}}``; whether the change was taken is ``resp.result``, not the HTTP status.
So after the kit's status-code classification, any ``result`` other than ``SUCCESS``
(case-insensitive; the document's own Example sends ``"string"``) is a permanent
failure, even inside a 200, and an error status's message names the envelope's reason.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import orjson

from adapters._http import MAX_ERROR_BODY, SystemClient
from adapters.enkash.replies import SUCCESS
from adapters.enkash.schema import SYSTEM
from core.adapter import Call
from core.errors import DeliveryError, PermanentDelivery


class EnkashClient(SystemClient):
    """Sends the one-call plan; ``resp.result`` decides delivered or refused."""

    system = SYSTEM

    def check(self, call: Call, response: httpx.Response) -> Any:
        """Status code first (kit), then ``payload.resp``: the exchange's own verdict."""
        try:
            body = super().check(call, response)
        except DeliveryError as exc:
            raise _explained(exc, _json(response)) from None
        resp = _resp(body)
        status = response.status_code
        text = response.text[:MAX_ERROR_BODY]
        if resp is None:
            raise PermanentDelivery(
                f"{SYSTEM}: {status} reply has no payload.resp (not the documented envelope)",
                status,
                text,
            )
        if not _succeeded(resp):
            raise PermanentDelivery(f"{SYSTEM}: {status} {_reason(resp)}", status, text)
        return body

    def remote_status(self, body: Any) -> str | None:
        """EnKash's own status code after an accepted change (``poStatusTransition.newStatus``
        of its reply): the next change's ``currentStatus``. Only a success is read (``check``
        returns the body of a success only)."""
        try:
            status = body["payload"]["poStatus"]["poStatusTransition"]["newStatus"]
        except (KeyError, TypeError):
            return None
        return status if isinstance(status, str) and status else None

    def remote_version(self, body: Any) -> int | None:
        """EnKash's ``objectVersion.newVersion`` after the change: the next currentVersion."""
        try:
            version = body["payload"]["poStatus"]["objectVersion"]["newVersion"]
        except (KeyError, TypeError):
            return None
        return version if isinstance(version, int) else None

    def remote_ids(self, call: Call, body: Any) -> dict[str, str]:
        """EnKash's ``objectId`` for the PO, as its reply echoes it (the PO's remote id)."""
        payload = body.get("payload") if isinstance(body, dict) else None
        status = payload.get("poStatus") if isinstance(payload, dict) else None
        object_id = status.get("objectId") if isinstance(status, dict) else None
        return {SYSTEM: object_id} if isinstance(object_id, str) and object_id else {}


def _resp(body: Any) -> dict[str, Any] | None:
    """``payload.resp`` when the body is the documented envelope; else None."""
    payload = body.get("payload") if isinstance(body, dict) else None
    resp = payload.get("resp") if isinstance(payload, dict) else None
    return resp if isinstance(resp, dict) else None


def _succeeded(resp: dict[str, Any]) -> bool:
    result = resp.get("result")
    return isinstance(result, str) and result.upper() == SUCCESS


def _reason(resp: dict[str, Any]) -> str:
    """``FAILURE STALE_VERSION: detail (field $.x)``: what an operator needs to act on."""
    reason = f"{resp.get('result')} {resp.get('errorCd') or 'no errorCd'}"
    if resp.get("errorDtl"):
        reason += f": {resp['errorDtl']}"
    if resp.get("errorField"):
        reason += f" (field {resp['errorField']})"
    return reason


def _json(response: httpx.Response) -> Any:
    """The reply as JSON, or None: an error page from a proxy is not EnKash's envelope."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _label(status: int) -> str:
    if status in (401, 403):
        return "authentication refused"
    if status == 429:
        return "rate limited"
    return "server error" if status >= 500 or status == 408 else "refused"


def _explained(exc: DeliveryError, body: Any) -> DeliveryError:
    """The kit's verdict, same class and retry hint, with the envelope's reason when present.

    The kit's own message embeds the raw body; EnKash's ``resp`` says it better.
    """
    resp = _resp(body)
    if resp is None or exc.status is None:
        return exc
    message = f"{SYSTEM}: {exc.status} {_label(exc.status)}: {_reason(resp)}"
    return dataclasses.replace(exc, message=message)


CLIENT = EnkashClient
