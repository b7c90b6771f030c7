"""Replays (operators): one message again, or a filter's deliveries as a background job;
what a replay may touch and what it says it will do.

Operators saw a bulk replay act on another filter than the one on screen, offer delivered
deliveries by default, and never say which states it meant. So every replay request names
its filter explicitly, its states default to the ones a replay is for (dead, parked,
retrying), a delivered delivery is replayed only on an explicit ``include_delivered``, and
``describe`` puts the filter and the states in words for the confirmation and the audit log.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, cast

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from pydantic import BaseModel

from gateway.api.guards import API_BODY_MAX, hub_of, principal, requires
from gateway.api.schemas import RefusedReplay, ReplayCount, ReplayJob, ReplayResult
from gateway.delivery import pins
from gateway.observe import audit
from gateway.observe.audit import Principal
from gateway.store.records import Delivery, MessageFilter, State

DEFAULT_STATES = (State.DEAD, State.PARKED, State.RETRYING)
"""What a replay acts on unless told otherwise: the deliveries that did not go out."""
REPLAYABLE = (*DEFAULT_STATES, State.DELIVERED)
"""Queued ones go out anyway, delivering ones are in flight, and messages that are rejected
or received have no delivery to replay."""


class ReplayRefused(ValueError):
    """A replay request that breaks a rule; the message names the field and the rule."""


class ReplayRequest(BaseModel):
    """Which deliveries to replay; ``dry_run`` only counts them (and says what it counted)."""

    po_number: str | None = None
    po_prefix: str | None = None
    """PO numbers starting with this, in any case (the search box's meaning)."""
    message_id: str | None = None
    system: str | None = None
    target: str | None = None
    states: list[State] | None = None
    """The delivery states to replay; default dead, parked and retrying."""
    status: State | None = None
    """One state (the older form of ``states``); an explicit null means every state."""
    since: datetime | None = None
    until: datetime | None = None
    reason: str | None = None
    mapping: Literal["live", "first"] = "live"
    """Render with the live mapping, or with the version each delivery first used."""
    dry_run: bool = True
    include_delivered: bool = False
    """Send delivered deliveries again. Without it (or ``force``) a request naming the
    delivered state is refused: the target already has them."""
    force: bool = False
    """``include_delivered``, and also replay deliveries a newer delivered event of the same
    PO has superseded at the target (skipped and counted as ``stale`` otherwise): they would
    put the target back to an older state than the one it has."""

    def chosen_states(self) -> list[State]:
        """The states this request replays, or ``ReplayRefused`` naming the field."""
        if self.states is not None:
            field, wanted = "states", list(dict.fromkeys(self.states))
        elif self.status is not None:
            field, wanted = "status", [self.status]
        elif "status" in self.model_fields_set:  # an explicit null: every state
            field, wanted = "status", list(REPLAYABLE)
        else:
            field, wanted = "states", list(DEFAULT_STATES)
        if not wanted:
            raise ReplayRefused(f"{field}: name at least one state to replay")
        for i, state in enumerate(wanted):
            if state not in REPLAYABLE:
                where = f"{field}[{i}]" if field == "states" else field
                raise ReplayRefused(f"{where}: {state.value} deliveries cannot be replayed; "
                                    f"choose from {', '.join(s.value for s in REPLAYABLE)}")  # fmt: skip
        if State.DELIVERED in wanted and not (self.include_delivered or self.force):
            raise ReplayRefused(
                f"{field}: replaying delivered deliveries needs include_delivered: true "
                "(they would be sent again); name states such as dead, parked or retrying"
            )
        return wanted

    def message_filter(self, state: State) -> MessageFilter:
        return MessageFilter(
            po_number=self.po_number, po_prefix=self.po_prefix or None,
            message_id=self.message_id or None, system=self.system or None,
            target=self.target or None, status=state, since=self.since, until=self.until,
            reason=self.reason or None,
        )  # fmt: skip


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def iso(at: datetime) -> str:
    """ISO 8601 with its zone, in UTC (``2026-12-01T15:20:00Z``): one form everywhere."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe(req: ReplayRequest, states: list[State]) -> str:
    """The request's filter and states in words, as the confirmation and the audit say it."""
    parts = [f"deliveries that are {_or([s.value for s in states])}"]
    if req.target:
        parts.append(f"to {req.target}")
    if req.system:
        parts.append(f"of messages from {req.system}")
    if req.po_number:
        parts.append(f"of PO {req.po_number}")
    if req.po_prefix:
        parts.append(f'of POs starting with "{req.po_prefix}" (any case)')
    if req.message_id:
        parts.append(f'of messages whose id starts with "{req.message_id}"')
    if req.reason:
        parts.append(f'whose reason contains "{req.reason}"')
    if req.since:
        parts.append(f"received at or after {iso(req.since)}")
    if req.until:
        parts.append(f"received before {iso(req.until)}")
    if len(parts) == 1:
        parts.append("(no other filter: every one of them)")
    return ", ".join(parts)


class Replays(Controller):
    """Replaying deliveries: operators and admins; each replay is in the audit log."""

    path = "/api/v1"
    guards = [requires("operator")]
    tags = ["operations"]
    request_max_body_size = API_BODY_MAX

    @post("/messages/{message_id:str}/replay", status_code=202,
          opt={"audit": "self"})  # fmt: skip
    async def replay(
        self, request: Request[Any, Any, Any], message_id: str, target: str | None = None,
        mapping: Literal["live", "first"] = "live", force: bool = False,
        include_delivered: bool = False,
    ) -> ReplayResult:  # fmt: skip
        """Deliver again, rendered with the live mapping or the version first used; the
        next attempt of each replayed delivery is marked manual, by the caller, and the
        replay is in the audit log.

        Only dead, parked and retrying deliveries are replayed: a delivered one needs
        ``include_delivered`` (the target has it already), and one that a newer event of
        the same PO has already superseded at its target needs ``force`` (it would put the
        target back to an older state). Each is listed in ``refused`` with why; all
        refused is 409.
        """
        hub = hub_of(request)
        who = principal(request)
        message = await hub.store.get_message(message_id)
        if message is None:
            raise NotFoundException(f"no message {message_id}")
        replayed: list[str] = []
        refused: list[RefusedReplay] = []
        for delivery in message.deliveries:
            if target is not None and delivery.target != target:
                continue
            why = await _single_refusal(hub.store, delivery, force, include_delivered)
            if why is not None:
                refused.append({"delivery": delivery.id, "target": delivery.target, "reason": why})
                continue
            pin = pins.pin_for(delivery, mapping)
            if await hub.store.replay(delivery.id, pin, by=audit.actor(who)):
                replayed.append(delivery.id)
        asked = {"message_id": message_id, "target": target, "mapping": mapping, "force": force,
                 "include_delivered": include_delivered}  # fmt: skip
        subject = f"message {message_id} " + (f"to {target}" if target else "(every target)")
        outcome = f"replayed {len(replayed)}, refused {len(refused)}"
        await audit.record(hub.store, who, "replay", subject, outcome,
                           {**asked, "replayed": replayed, "refused": refused})  # fmt: skip
        if refused and not replayed:
            raise HTTPException(status_code=409, detail="replay refused: " + "; ".join(
                f"{r['delivery']}: {r['reason']}" for r in refused
            ), extra={"refused": refused})  # fmt: skip
        return ReplayResult(replayed=replayed, refused=refused, message_id=message_id,
                            target=target, mapping=mapping, force=force,
                            include_delivered=include_delivered)  # fmt: skip

    @post("/replays", status_code=202, opt={"audit": "self"})
    async def bulk_replay(
        self, request: Request[Any, Any, Any], data: ReplayRequest
    ) -> ReplayCount | ReplayJob:
        """Replay exactly the filter given, as a background job; ``dry_run`` counts first.

        The filter comes whole in the request (nothing is remembered from a search). States
        default to dead, parked and retrying; ``delivered`` needs ``include_delivered`` (or
        ``force``); deliveries a newer delivered event of their PO superseded are skipped
        and counted as ``stale`` unless ``force``. Both replies state the filter, the
        states and the filter in words (``described``); a real run is in the audit log.
        """
        hub = hub_of(request)
        try:
            states = data.chosen_states()
        except ReplayRefused as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        stated = {**data.model_dump(mode="json"), "states": [s.value for s in states]}
        words = describe(data, states)
        if data.dry_run:
            chosen = await _chosen(hub.store, data, states)
            stale = (
                0
                if data.force
                else sum([await superseded_by(hub.store, d) is not None for d in chosen])
            )
            return ReplayCount(dry_run=True, count=len(chosen) - stale, stale=stale,
                               filter=stated, states=stated["states"], described=words)  # fmt: skip
        who = principal(request)
        job_id = uuid.uuid4().hex[:12]
        job = hub.jobs[job_id] = ReplayJob(id=job_id, state="running", done=0, replayed=0,
                                           stale=0, filter=stated, states=stated["states"],
                                           described=words, by=audit.actor(who))  # fmt: skip
        await audit.record(hub.store, who, "bulk_replay", words, f"started job {job_id}",
                           {"job": job_id, "filter": stated})  # fmt: skip
        hub.spawn(_run_replay(hub, data, states, job, who))
        return job

    @get("/replays/{job_id:str}")
    async def replay_job(self, request: Request[Any, Any, Any], job_id: str) -> ReplayJob:
        job = hub_of(request).jobs.get(job_id)
        if job is None:
            raise NotFoundException(f"no replay job {job_id}")
        return cast(ReplayJob, dict(job))


async def superseded_by(store: Any, delivery: Delivery) -> str | None:
    """Why replaying ``delivery`` would be stale: a later event of the same PO was already
    delivered to the same target (``seq`` orders a PO's deliveries per target)."""
    for message in await store.timeline(delivery.po_number):
        for other in message.deliveries:
            if (other.target == delivery.target and other.seq > delivery.seq
                    and other.state is State.DELIVERED):  # fmt: skip
                return (f"message {other.message_id} (a newer event of PO {delivery.po_number}) "
                        f"was already delivered to {delivery.target}; use force to send the "
                        "older one anyway")  # fmt: skip
    return None


async def _single_refusal(
    store: Any, delivery: Delivery, force: bool, include_delivered: bool
) -> str | None:
    """Why a one-message replay leaves ``delivery`` alone, or None to replay it."""
    if delivery.state not in (*DEFAULT_STATES, State.DELIVERED):
        return f"{delivery.state.value}: it goes out without a replay"
    newer = None if force else await superseded_by(store, delivery)
    if newer is not None:
        return newer
    if delivery.state is State.DELIVERED and not (include_delivered or force):
        return "delivered already: replaying it needs include_delivered (it would be sent again)"
    return None


async def _chosen(store: Any, data: ReplayRequest, states: list[State]) -> list[Delivery]:
    """Every delivery the request names: its filter, in each of its states."""
    out: list[Delivery] = []
    for state in states:
        out += [d async for d in store.deliveries(data.message_filter(state))]
    return out


async def _run_replay(
    hub: Any, data: ReplayRequest, states: list[State], job: ReplayJob, who: Principal
) -> None:
    try:
        chosen = await _chosen(hub.store, data, states)
        job["total"] = len(chosen)
        for delivery in chosen:
            if not data.force and await superseded_by(hub.store, delivery) is not None:
                job["stale"] += 1
                job["done"] += 1
                continue
            pin = pins.pin_for(delivery, data.mapping)
            job["replayed"] += int(await hub.store.replay(delivery.id, pin, by=audit.actor(who)))
            job["done"] += 1
        job["state"] = "done"
        outcome = f"replayed {job['replayed']} of {job['total']} (stale, skipped: {job['stale']})"
    except Exception as exc:
        job["state"], job["error"] = "failed", str(exc)
        outcome = f"failed after {job['done']}: {exc}"
    await audit.record(hub.store, who, "bulk_replay.finished", job["described"], outcome,
                       {"job": job["id"]})  # fmt: skip
