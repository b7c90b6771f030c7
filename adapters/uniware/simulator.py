"""Uniware as its document describes it: ``POST /approvedPurchaseOrder``.

The document (``uniware-approved-purchase-order.txt``) shows one endpoint, a token in the
``Authorization`` header ("token value", no scheme), a JSON body and the reply
``{"status": "Success", "message": "Detail is updated successfully"}``. It shows no error
reply, so every error here keeps that envelope with ``"status": "Failed"`` and a message
``"<json path>: <what is wrong> (<rule>)"``: 400 for a bad body, 401 for a bad token,
415 for a body that is not declared JSON (the document requires
``Content-Type: application/json``).

State: POs are remembered by ``code``. Pushing a code again is an update (the reply
wording, "Detail is updated", is the same either way), never a conflict.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from adapters._sim import SimReply, SimRequest, Simulator, from_reply, same_secret
from adapters.uniware.render import PATH
from adapters.uniware.replies import Reply, error_reply
from adapters.uniware.rules import checked_dates
from adapters.uniware.schema import ApprovedPurchaseOrder
from core.errors import InvalidInput
from core.validation import validate_json

SYSTEM = "uniware"
DATE_ZONE = "Asia/Kolkata"
"""Zone to read the dates in; only their format is checked, so any zone would do."""


class UniwareSimulator(Simulator):
    """Accepts approved-PO pushes, validated with the adapter's own wire model and rules."""

    system = SYSTEM

    def __init__(self, secrets: dict[str, str]) -> None:
        super().__init__(secrets)
        self.orders: dict[str, dict[str, Any]] = {}
        """Last accepted payload per PO ``code``, as received."""
        self.pushes: Counter[str] = Counter()
        """How many times each ``code`` was accepted (1 = created, more = updated)."""
        self.route("POST", PATH, self.approved_purchase_order)

    def authenticate(self, request: SimRequest) -> SimReply | None:
        """The bare token, compared in constant time; with no token configured, open.

        The document puts the "token value" itself in ``Authorization`` (no ``Bearer``),
        so ``Bearer <token>`` is refused like any other wrong value.
        """
        expected = self.secrets.get("token")
        if expected is None:
            return None
        if same_secret(request.header("authorization"), expected):
            return None
        return self.error(401, "invalid or missing access token", "Authorization")

    def error(
        self, status: int, message: str, field: str | None = None, rule: str | None = None
    ) -> SimReply:
        """``{"status": "Failed", "message": ...}`` for any status (``replies.error_reply``)."""
        return from_reply(error_reply(status, message, field, rule))

    def approved_purchase_order(self, request: SimRequest) -> SimReply:
        """Validate, then create or update the PO under its ``code``."""
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self.error(415, "Content-Type must be application/json", "$")
        try:
            wire = validate_json(ApprovedPurchaseOrder, request.body, SYSTEM)
            checked_dates(wire, DATE_ZONE)
        except InvalidInput as err:
            first = err.first
            return self.error(400, f"{first.message} ({first.rule})", first.path)
        self.orders[wire.code] = orjson.loads(request.body)
        self.pushes[wire.code] += 1
        return SimReply(200, Reply.success().model_dump())
