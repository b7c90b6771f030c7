"""The hub's client for AlphaAlpha's purchase-order API.

The kit's status classification stands (401/403 auth, 429/5xx/408 retryable, other 4xx
permanent, so a lifecycle refusal, ``409``, is a ``PermanentDelivery``); the message names
the document's error envelope ``{detail, time, title}`` instead of the raw body. Every
create / patch / action reply is the full PO object: its ``id`` is the PO's remote id, which
the kit fills into the ``{id}`` of later steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import orjson

from adapters._http import SystemClient
from adapters.alphaalpha.schema import SYSTEM
from core.adapter import Call
from core.errors import DeliveryError


class AlphaalphaClient(SystemClient):
    """Sends a plan (create, patch, actions); learns the PO id from the replies."""

    system = SYSTEM

    def check(self, call: Call, response: httpx.Response) -> Any:
        try:
            return super().check(call, response)
        except DeliveryError as exc:
            raise _explained(exc, response) from None

    def remote_ids(self, call: Call, body: Any) -> dict[str, str]:
        """The PO object's ``id`` (create, patch and every action answer with the PO)."""
        po_id = body.get("id") if isinstance(body, dict) else None
        return {SYSTEM: po_id} if isinstance(po_id, str) and po_id else {}

    def remote_status(self, body: Any) -> str | None:
        """The order's lifecycle status after the plan: the next plan starts from it."""
        status = body.get("status") if isinstance(body, dict) else None
        return status if isinstance(status, str) else None


def _label(status: int) -> str:
    if status in (401, 403):
        return "authentication refused"
    if status == 429:
        return "rate limited"
    return "server error" if status >= 500 or status == 408 else "refused"


def _explained(exc: DeliveryError, response: httpx.Response) -> DeliveryError:
    """Same class and retry hint; the message carries the envelope's title and detail."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return exc
    if not isinstance(body, dict) or exc.status is None or not body.get("detail"):
        return exc
    title = body.get("title") or "Error"
    message = f"{SYSTEM}: {exc.status} {_label(exc.status)}: {title}: {body['detail']}"
    return dataclasses.replace(exc, message=message)


CLIENT = AlphaalphaClient
