"""EnKash's status-change webhook, simulated (``POST /api/v0/purchase-order/req-status-change``).

What it enforces, and why:

- **Auth.** The document is silent on auth; pohub's config.yaml sends a bare token in
  ``Authorization``, so that is what is checked (constant time). A wrong or missing token
  is ``401`` with the documented envelope, ``errorCd`` ``UNAUTHORIZED``.
- **Body.** The document's body table (every part *required*) through the adapter's wire
  model and rules: a bad body is ``400`` with ``resp.result`` ``FAILURE``, ``errorCd``
  ``VALIDATION_FAILED``, ``errorDtl`` the message and rule, ``errorField`` the JSON path.
- **Object ids.** ``poStatus.objectId`` is EnKash's own id of the PO: a ``buyerPONumber``
  EnKash already holds under another ``objectId`` is answered ``200`` with ``result``
  ``FAILURE`` and ``errorCd`` ``UNKNOWN_OBJECT`` (``errorField`` ``$.poStatus.objectId``),
  so a sender that puts its own PO number there is caught.
- **Object versions.** ``poStatus.objectVersion`` is EnKash's optimistic concurrency: a PO
  it does not know yet is taken at whatever ``currentVersion`` it names; afterwards
  ``currentVersion`` must be the version EnKash holds, else the exchange answers ``200``
  with ``result`` ``FAILURE`` and ``errorCd`` ``STALE_VERSION`` (webhook exchanges report
  business failures inside a 200), its ``poStatus`` the PO as EnKash holds it (version and
  status; pohub's reading, the document does not say what a failure's ``poStatus`` is).
  A success stores ``newVersion`` and the new status.

Every reply, error or not, is the document's 200 envelope (``adapters.enkash.replies``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters._sim import SimReply, SimRequest, Simulator, from_reply, same_secret
from adapters.enkash.replies import Reply, error_reply
from adapters.enkash.rules import check
from adapters.enkash.schema import (
    PATH,
    SYSTEM,
    ObjectVersion,
    PoStatusBody,
    PoStatusTransition,
    StatusChangeRequest,
)
from core.errors import InvalidInput
from core.validation import validate_json

VERSION_FIELD = "$.poStatus.objectVersion.currentVersion"
OBJECT_FIELD = "$.poStatus.objectId"


@dataclass(slots=True)
class PoRecord:
    """What EnKash holds of one PO: its object id, current version and status."""

    object_id: str
    po_number: str
    version: int
    status: str


class EnkashSimulator(Simulator):
    """EnKash's PO status-change exchange, with its object versions."""

    system = SYSTEM

    def __init__(self, secrets: dict[str, str]) -> None:
        super().__init__(secrets)
        self.pos: dict[str, PoRecord] = {}
        """By ``objectId``; ``_numbers`` finds a PO sent once by number, later by id."""
        self._numbers: dict[str, str] = {}
        self._sequence = 0
        self.route("POST", PATH, self.status_change)

    # the system's envelopes -------------------------------------------------------------
    def authenticate(self, request: SimRequest) -> SimReply | None:
        """The bare token of config.yaml (``token: {token_env: ENKASH_TOKEN}``).

        Without a configured token there is nothing to check: the document names no scheme.
        """
        expected = self.secrets.get("token")
        if expected is None or same_secret(request.header("authorization"), expected):
            return None
        return self.error(401, "missing or wrong token in Authorization")

    def error(
        self, status: int, message: str, field: str | None = None, rule: str | None = None
    ) -> SimReply:
        """The documented envelope with ``resp.result`` FAILURE (``replies.error_reply``)."""
        return from_reply(error_reply(status, message, field, rule))

    # the route ----------------------------------------------------------------------------
    def status_change(self, request: SimRequest) -> SimReply:
        """Validate, check the PO's object version, then record the new version and status."""
        try:
            wire = validate_json(StatusChangeRequest, request.body, SYSTEM)
            check(wire)
        except InvalidInput as err:
            first = err.first
            return self.error(400, f"{first.message} ({first.rule})", first.path)
        req_msg_id = self._next_id()
        other = self._other_object(wire.poStatus)
        if other is not None:
            failure = Reply.failure(wire, "UNKNOWN_OBJECT", other, OBJECT_FIELD, req_msg_id)
            return _reply(200, failure, accepted=False)
        stale = self._stale(wire.poStatus)
        if stale is not None:
            failure = Reply.failure(wire, "STALE_VERSION", stale, VERSION_FIELD, req_msg_id)
            held = self.find(wire.poStatus.objectId, wire.poStatus.buyerPONumber)
            if held is not None:
                failure.payload.poStatus = _as_held(wire.poStatus, held)
            return _reply(200, failure, accepted=False)
        self._store(wire.poStatus)
        return _reply(200, Reply.success(wire, req_msg_id))

    # state --------------------------------------------------------------------------------
    def reset(self) -> None:
        """A fresh EnKash: no POs known."""
        self.forget()

    def forget(self) -> None:
        """Drop every PO; ``clear`` (``DELETE _received``) keeps them, as EnKash would."""
        self.pos.clear()
        self._numbers.clear()

    def find(self, object_id: str, po_number: str) -> PoRecord | None:
        """The PO by EnKash's ``objectId``, else by ``buyerPONumber``."""
        record = self.pos.get(object_id)
        if record is None and po_number in self._numbers:
            record = self.pos.get(self._numbers[po_number])
        return record

    def _other_object(self, status: PoStatusBody) -> str | None:
        """Why ``objectId`` is refused: the PO number is EnKash's under another id."""
        known = self._numbers.get(status.buyerPONumber)
        if known is None or known == status.objectId:
            return None
        return f"objectId {status.objectId!r} is not EnKash's id of PO {status.buyerPONumber}"

    def _stale(self, status: PoStatusBody) -> str | None:
        """Why ``currentVersion`` is refused, or None; an unknown PO takes any version."""
        record = self.find(status.objectId, status.buyerPONumber)
        sent = status.objectVersion.currentVersion
        if record is None or record.version == sent:
            return None
        return f"currentVersion {sent} is stale: PO {record.po_number} is at {record.version}"

    def _store(self, status: PoStatusBody) -> None:
        record = self.find(status.objectId, status.buyerPONumber)
        new_status = status.poStatusTransition.newStatus
        version = status.objectVersion.newVersion
        if record is None:
            record = PoRecord(status.objectId, status.buyerPONumber, version, new_status)
            self.pos[record.object_id] = record
            self._numbers[record.po_number] = record.object_id
        else:
            record.version, record.status = version, new_status

    def _next_id(self) -> str:
        """A deterministic ``reqMsgId`` per accepted exchange (replays reuse the first)."""
        self._sequence += 1
        return f"ENK-SIM-{self._sequence:06d}"


def _as_held(sent: PoStatusBody, held: PoRecord) -> PoStatusBody:
    """A STALE_VERSION reply's ``poStatus``: the PO as EnKash holds it (pohub's reading of
    the reply's ``poStatus``; the document does not say), version and status in both the
    current and new fields. A sender can tell from it that its change is already there."""
    version = ObjectVersion(currentVersion=held.version, newVersion=held.version)
    move = PoStatusTransition(currentStatus=held.status, newStatus=held.status)
    return sent.model_copy(update={"objectVersion": version, "poStatusTransition": move})


def _reply(status: int, reply: Reply, accepted: bool | None = None) -> SimReply:
    """Keys as built: an echoed request keeps its own shape, unset error fields stay out.
    ``accepted=False``: a failure inside a 200 (STALE_VERSION, UNKNOWN_OBJECT) changed
    nothing, so it is not in the received log (the log holds effects)."""
    body: dict[str, Any] = reply.model_dump(mode="json", exclude_unset=True)
    return SimReply(status, body, accepted=accepted)
