"""template as its document describes it: ``POST /status-updates`` with a Bearer token.

Validates the body with the adapter's own wire model (400 naming the path and rule), keeps
the last status per PO number, answers ``{"accepted": true, "poNumber"}``; every error is
the shared table's envelope (``replies.error_reply``).
"""

from __future__ import annotations

from adapters._sim import SimReply, SimRequest, Simulator, from_reply, same_secret
from adapters._template.replies import accepted, error_reply
from adapters._template.schema import NAME, PATH, StatusUpdate
from core.errors import InvalidInput
from core.validation import validate_json


class TemplateSimulator(Simulator):
    system = NAME

    def __init__(self, secrets: dict[str, str]) -> None:
        super().__init__(secrets)
        self.statuses: dict[str, str] = {}
        """Last accepted status per PO number."""
        self.route("POST", PATH, self.status_update)

    def authenticate(self, request: SimRequest) -> SimReply | None:
        """``Authorization: Bearer <token>``, compared in constant time; open without one."""
        expected = self.secrets.get("token")
        if expected is None or same_secret(request.header("authorization"), f"Bearer {expected}"):
            return None
        return self.error(401, "missing or wrong Bearer token in Authorization")

    def error(
        self, status: int, message: str, field: str | None = None, rule: str | None = None
    ) -> SimReply:
        return from_reply(error_reply(status, message, field, rule))

    def reset(self) -> None:
        self.statuses.clear()

    def status_update(self, request: SimRequest) -> SimReply:
        try:
            wire = validate_json(StatusUpdate, request.body, NAME)
        except InvalidInput as err:
            first = err.first
            return self.error(400, first.message, first.path, first.rule)
        self.statuses[wire.poNumber] = wire.status
        return SimReply(200, accepted(wire.poNumber))
