"""Sends the Leo plan (one ``processAsync`` call) and reads Leo's reply envelope.

The envelope (leo-order-processAsync.txt, "Response Body") is
``{exception, data, hasData, hasException}`` whatever the status, so a 2xx is not enough:
``hasException: true`` (or an ``exception`` with content) means Leo refused the update,
and sending the same body again cannot change that.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from adapters._http import MAX_ERROR_BODY, SystemClient
from adapters.leo.replies import Reply, read_reply
from adapters.leo.schema import SYSTEM
from core.adapter import Call
from core.errors import DeliveryError, PermanentDelivery


class LeoClient(SystemClient):
    """Status codes as the kit classifies them, then the envelope's own failure flag."""

    system = SYSTEM

    def check(self, call: Call, response: httpx.Response) -> Any:
        try:
            body = super().check(call, response)
        except DeliveryError as exc:
            raise _explained(exc, response) from None
        status = response.status_code
        try:
            reply = read_reply(response.content)
        except ValueError:
            raise self.unconfirmed(response, "reply is not Leo's envelope") from None
        if reply.failed:
            detail = _describe(reply) or "no exception details"
            raise PermanentDelivery(
                f"{SYSTEM}: {status} with hasException: {detail}",
                status,
                response.text[:MAX_ERROR_BODY],
            )
        return body


def _explained(exc: DeliveryError, response: httpx.Response) -> DeliveryError:
    """The kit's error with the envelope's exception in its message, when there is one
    (a proxy's HTML 502 has none, and keeps the kit's message)."""
    try:
        detail = _describe(read_reply(response.content))
    except ValueError:
        detail = None
    if detail is None:
        return exc
    if type(exc) is PermanentDelivery:  # a plain 4xx: the envelope says why, not raw text
        return replace(exc, message=f"{SYSTEM}: {exc.status} refused: {detail}")
    return replace(exc, message=f"{exc.message}: {detail}")


def _describe(reply: Reply) -> str | None:
    """``message (field $.status, rule not_blank)``; the document types ``exception``
    only as "object", so a bare string or an unexpected shape is shown as it came."""
    exception = reply.exception
    if not exception:
        return None
    if not isinstance(exception, dict):
        return str(exception)[:300]
    message = exception.get("message") or exception.get("Message")
    where = [f"{k} {exception[k]}" for k in ("field", "rule") if exception.get(k)]
    text = str(message) if message else str(exception)[:300]
    return f"{text} ({', '.join(where)})" if where else text
