"""The hub's client for EnKash's status-change webhook.

EnKash's document gives one reply envelope for everything,
``{response_message, response_code, payload{..., resp{reqMsgId, result, errorCd, errorDtl,
errorField}}}``; whether the change was taken is ``resp.result``, not the HTTP status.
So after the kit's status-code classification, any ``result`` other than ``SUCCESS``
(case-insensitive; the document's own Example sends ``"string"``) is a permanent
failure, even inside a 200, and an error status's message names the envelope's reason.

EnKash knows nothing of ``Idempotency-Key``, and its document has no endpoint to read a PO
back (only the webhook exchanges). Its object versions make a change apply at most once:
sent again after a lost reply, a change that took effect is refused ``STALE_VERSION``. So
after a lost reply (``unsure``) a ``STALE_VERSION`` whose reply shows the PO already at
this change's ``newVersion`` and ``newStatus`` (``_already_there``) is the change done, not
a failure (issue 12). A reply that only echoes the request cannot show that: the
delivery then fails as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping as AbcMapping
from typing import Any

import httpx
import orjson

from adapters._http import MAX_ERROR_BODY, Crosswalk, Delivered, Exchange, SystemClient, Unsure
from adapters.enkash.replies import SUCCESS
from adapters.enkash.schema import SYSTEM
from core.adapter import Call, Rendered
from core.errors import DeliveryError, PermanentDelivery

STALE_VERSION = "STALE_VERSION"


class EnkashClient(SystemClient):
    """Sends the one-call plan; ``resp.result`` decides delivered or refused."""

    system = SYSTEM

    async def send(
        self,
        plan: Rendered,
        idempotency_key: str,
        start_step: int = 0,
        remote_ids: AbcMapping[str, str] | None = None,
        exchanges: list[Exchange] | None = None,
        unsure: Unsure | None = None,
        crosswalk: Crosswalk | None = None,
    ) -> Delivered:
        """The kit's send; after a lost reply (``unsure``) a ``STALE_VERSION`` that shows
        the change already there is the change done (the exchange says ``already_done``)."""
        own = [] if exchanges is None else exchanges
        mark = len(own)
        try:
            done = await super().send(plan, idempotency_key, start_step, remote_ids, own, unsure)
        except PermanentDelivery as exc:
            if unsure is None or exc.status != 200:
                raise
            reply = _stale_reply(own[mark:], exc.body)
            call = plan.calls[exc.step] if exc.step < len(plan.calls) else None
            if reply is None or call is None or not _already_there(call.json, reply):
                if reply is not None:
                    _mark(own[mark:], "conflict")
                raise
            _mark(own[mark:], "already_done")
            for exchange in own[mark:]:
                exchange.error = None
            ids = {**(remote_ids or {}), **self.remote_ids(call, reply)}
            return Delivered(status=200, body=reply, remote_ids=ids, steps=len(plan.calls))
        if unsure is not None:
            _mark(own[mark:], "not_done")
        return done

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
            raise self.unconfirmed(
                response, "reply has no payload.resp (not the documented envelope)"
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


def _stale_reply(sent: list[Exchange], text: str | None) -> dict[str, Any] | None:
    """The JSON of a STALE_VERSION reply (from the exchange, else the error's text)."""
    raw = sent[-1].reply.body if sent and sent[-1].reply is not None else text
    try:
        body = orjson.loads(raw or "")
    except orjson.JSONDecodeError:
        return None
    resp = _resp(body)
    if resp is None or resp.get("errorCd") != STALE_VERSION:
        return None
    return body if isinstance(body, dict) else None


def _already_there(request: Any, reply: dict[str, Any]) -> bool:
    """The reply shows the PO at the version and status this change leads to. A change
    whose ``currentVersion`` equals its ``newVersion`` cannot be told from an echo: no."""
    try:
        sent, held = request["poStatus"], reply["payload"]["poStatus"]
        versions, move = sent["objectVersion"], sent["poStatusTransition"]
        new_version, new_status = versions["newVersion"], move["newStatus"]
        if versions["currentVersion"] == new_version:
            return False
        held_version = held["objectVersion"]["currentVersion"]
        held_status = held["poStatusTransition"]["currentStatus"]
    except (KeyError, TypeError):
        return False
    return bool(held_version == new_version and held_status == new_status)


def _mark(sent: list[Exchange], outcome: str) -> None:
    if sent:
        sent[-1].reconciled = outcome


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
