"""Sends the status update to template and reads its ``{accepted}`` envelope.

Status codes are classified by the kit (``adapters/_http.py``); on a 2xx the envelope must
say ``"accepted": true``. A 2xx without it proves nothing either way: ``unconfirmed`` (the
kit's one rule: retryable, like a lost reply). template assigns no ids: the PO is known by
the hub's own number.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from adapters._http import MAX_ERROR_BODY, SystemClient
from adapters._template.replies import Reply
from adapters._template.schema import NAME
from core.adapter import Call
from core.errors import PermanentDelivery


class TemplateClient(SystemClient):
    system = NAME

    def check(self, call: Call, response: httpx.Response) -> Any:
        body = super().check(call, response)
        try:
            reply = Reply.model_validate(body)
        except ValidationError:
            raise self.unconfirmed(response, "reply is not {accepted}") from None
        if not reply.accepted:
            text = response.text[:MAX_ERROR_BODY]
            raise PermanentDelivery(
                f"{NAME}: update refused: {reply.error}", response.status_code, text
            )
        return body
