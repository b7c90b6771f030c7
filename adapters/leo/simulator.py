"""Leo's order domain gateway as its document describes it, for tests and ``pohub simulate``.

One vendor path (leo-order-processAsync.txt, "Sample Curl"):
``POST /leo-order-domaingateway-api/api/v2/Order/processAsync`` with
``Authorization: Bearer <token>``, ``Content-Type: application/json``, ``event`` and
``subtypeAppId`` (the Request Headers table spells it ``subtypeApplId``; both are taken).
Every reply, success or error, is the document's envelope
``{exception, data, hasData, hasException}``. The state is each document's last status
and its lines' and schedules' last statuses: a status update is how Leo hears of a
document, so there is no "unknown PO". The document marks no field required, so an update
without a document ``status`` (lines only) is accepted and changes only what it names.
"""

from __future__ import annotations

from typing import Any

from adapters._sim import SimReply, SimRequest, Simulator, from_reply, same_secret
from adapters.leo.replies import Reply, error_reply
from adapters.leo.rules import check
from adapters.leo.schema import (
    HEADER_EVENT,
    HEADER_SUBTYPE,
    HEADER_SUBTYPE_TABLE,
    PATH,
    SYSTEM,
    ProcessAsync,
)
from core.errors import InvalidInput
from core.validation import validate_json

OTHER_METHODS = ("GET", "PUT", "PATCH", "DELETE")


class LeoSimulator(Simulator):
    """Validates ``processAsync`` bodies with the adapter's own schema and rules."""

    system = SYSTEM

    def __init__(self, secrets: dict[str, str]) -> None:
        super().__init__(secrets)
        self.statuses: dict[str, str] = {}
        """documentNumber -> the last document status Leo accepted for it."""
        self.line_statuses: dict[str, dict[str, str]] = {}
        """documentNumber -> {lineNumber or lineNumber/scheduleNumber: last status}."""
        self.route("POST", PATH, self._process)
        for method in OTHER_METHODS:
            self.route(method, PATH, self._not_allowed)

    # the document's envelopes ----------------------------------------------------------
    def authenticate(self, request: SimRequest) -> SimReply | None:
        """Bearer token (document, Request Headers "Authorization"), compared in constant
        time; the reply never echoes what was sent."""
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        expected = self.secrets.get("token")
        if scheme.lower() == "bearer" and expected is not None:
            if same_secret(token.strip(), expected):
                return None
            message = "invalid bearer token"
        else:
            message = "missing bearer token"
        return self.error(401, message, "Authorization", "unauthorized")

    def error(
        self, status: int, message: str, field: str | None = None, rule: str | None = None
    ) -> SimReply:
        """The document's envelope with ``hasException: true`` (``replies.error_reply``)."""
        return from_reply(error_reply(status, message, field, rule))

    # handlers ---------------------------------------------------------------------------
    def _process(self, request: SimRequest) -> SimReply:
        refused = self._check_headers(request)
        if refused is not None:
            return refused
        try:
            wire = validate_json(ProcessAsync, request.body, SYSTEM)
            check(wire)
        except InvalidInput as err:
            first = err.first
            return self.error(400, first.message, first.path, first.rule)
        self._keep(wire)
        data: dict[str, Any] = {"documentNumber": wire.documentNumber, "accepted": True}
        return SimReply(200, Reply.accepted(data).model_dump())

    def _keep(self, wire: ProcessAsync) -> None:
        """Record the statuses the update names; what it leaves out stays as it was."""
        if wire.status is not None:
            self.statuses[wire.documentNumber] = wire.status
        lines = self.line_statuses.setdefault(wire.documentNumber, {})
        for line in wire.lineInfo or ():
            if line.status is not None:
                lines[line.lineNumber] = line.status
            for sched in line.scheduleInfo or ():
                if sched.status is not None:
                    lines[f"{line.lineNumber}/{sched.scheduleNumber}"] = sched.status

    def reset(self) -> None:
        """A fresh Leo: no document statuses known."""
        self.statuses.clear()
        self.line_statuses.clear()

    def _check_headers(self, request: SimRequest) -> SimReply | None:
        """The curl sends JSON with ``event`` and ``subtypeAppId``; a request without them
        names no command, so it is refused before the body is read."""
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self.error(415, "Content-Type must be application/json", "Content-Type",
                              "media_type")  # fmt: skip
        if not (request.header(HEADER_EVENT) or "").strip():
            return self.error(400, "header is required", HEADER_EVENT, "required")
        subtype = request.header(HEADER_SUBTYPE) or request.header(HEADER_SUBTYPE_TABLE)
        if not (subtype or "").strip():
            return self.error(400, "header is required", HEADER_SUBTYPE, "required")
        return None

    def _not_allowed(self, request: SimRequest) -> SimReply:
        """The document defines POST only; other methods get the envelope, not a bare 404."""
        reply = self.error(405, f"{request.method} is not allowed", None, "method")
        reply.headers["Allow"] = "POST"
        return reply
