"""Sends the approved-PO push to Uniware and reads its ``{status, message}`` envelope.

Status codes are classified by the kit. On top: the document's envelope carries its own
verdict (``"status": "Success"|"Failed"``, "Response Payload Details"), so a 2xx that says
``Failed`` was refused and is permanent. A 2xx without a readable envelope proves nothing
either way: ``unconfirmed`` (the kit's one rule: retryable, like a lost reply).
Uniware assigns no ids (the PO is known by the ``code`` the hub sends), so ``remote_ids``
stays the kit's empty default.
"""

from __future__ import annotations

from typing import Any

import httpx

from adapters._http import MAX_ERROR_BODY, SystemClient
from core.adapter import Call
from core.errors import PermanentDelivery, RetryableDelivery


class UniwareClient(SystemClient):
    system = "uniware"

    def check(self, call: Call, response: httpx.Response) -> Any:
        """Status code first (kit), then the envelope's ``status``."""
        body = super().check(call, response)
        status = response.status_code
        text = response.text[:MAX_ERROR_BODY]
        verdict = body.get("status") if isinstance(body, dict) else None
        if not isinstance(verdict, str):
            raise self.unconfirmed(response, "reply without a status envelope")
        if verdict.casefold() == "failed":
            message = body.get("message") or "no message"
            raise PermanentDelivery(f"uniware: push refused: {message}", status, text)
        if verdict.casefold() != "success":
            raise RetryableDelivery(
                f"uniware: {status} unknown reply status {verdict!r}", status, text
            )
        return body
