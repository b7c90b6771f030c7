"""Inbound messages into the store: parse, refuse or accept, apply to the PO's state.

Each event is first put under the hub's PO number (``identity.resolved``: AlphaAlpha's events
carry its own id) and checked for being an echo of the hub's own write (``identity.echo_of``),
which is recorded with no deliveries; the remote ids it reveals feed the crosswalk.

A payload is answered with success only after ``accept`` has stored it; a bulk payload
(AppliQloud) becomes one message per PO so that ordering and retries stay per PO.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from pydantic import ValidationError

from adapters import registry
from core.errors import InvalidInput, PohubError
from core.inbound import SECRET_HEADERS
from core.model import EventKind, PoEvent, PurchaseOrder, utc_now
from core.state import apply_event
from core.validation import field_errors
from gateway import identity
from gateway.store.base import Store
from gateway.store.records import Message, State

log = structlog.get_logger("pohub.ingest")


def new_id() -> str:
    """Sortable by time (ms prefix) and unique."""
    return f"{int(time.time() * 1000):013x}{os.urandom(6).hex()}"


@dataclass(slots=True)
class Ingested:
    events: list[PoEvent]
    messages: list[Message]
    created: list[bool]


class Ingest:
    """Turns one inbound request into stored messages."""

    def __init__(
        self,
        store: Store,
        mappings: AbcMapping[str, object],
        routes: AbcMapping[str, list[str]],
        secret_headers: frozenset[str] = SECRET_HEADERS,
    ) -> None:
        self.store = store
        self.mappings = mappings
        self.routes = routes
        self.secret_headers = secret_headers
        """Headers never stored: the fixed list plus every auth header config.yaml names."""

    async def ingest(self, system: str, body: bytes, headers: AbcMapping[str, str]) -> Ingested:
        """Parse and store; ``InvalidInput`` is recorded as a rejected message and re-raised."""
        adapter = registry.get(system)
        try:
            try:
                events = adapter.parse(body, self.mappings[system], headers)  # type: ignore[arg-type]
            except ValidationError as exc:
                # A value the wire model let through but the canonical model refuses: still
                # the sender's input, named by its canonical path, never a 503 to retry.
                raise InvalidInput(system, field_errors(exc)) from None
        except InvalidInput as exc:
            await self.reject(system, body, headers, exc)
            raise
        key = headers.get("idempotency-key")
        result = Ingested(events, [], [])
        for index, parsed in enumerate(events):
            # the reply speaks the sender's terms (``result.events``); the store the hub's
            state, links = await self.store.lookup(
                parsed.po_number, identity.remote_ids(system, parsed)
            )
            event = identity.resolved(system, parsed, state, links)
            if event.po_number != parsed.po_number:  # renumbered: the hub PO's own state
                state = await self.store.get_po(event.po_number)
            dedup = _dedup_key(system, event, key, index, _previous(state, system))
            event.occurred_at = event.occurred_at or utc_now()
            try:
                message, created = await self._store_event(
                    system, event, body, headers, dedup, state
                )
            except InvalidInput as exc:
                # Refused against the PO's stored state (a line it does not have, a receipt
                # above what was ordered): nothing of this event was stored.
                await self.reject(system, body, headers, exc, event.po_number)
                raise
            if not created and key and message.body != body.decode("utf-8", "replace"):
                raise KeyReused(system, key, message.id)
            await identity.learn(self.store, system, event, links)
            result.messages.append(message)
            result.created.append(created)
        return result

    async def _store_event(
        self, system: str, event: PoEvent, body: bytes, headers: AbcMapping[str, str],
        dedup: str, state: PurchaseOrder | None,
    ) -> tuple[Message, bool]:  # fmt: skip
        """Store the event with a delivery per routed target; an echo of the hub's own write
        (``identity.echo_of``) is stored with none and leaves the PO state alone."""
        echo = identity.echo_of(system, event, state)
        original = await self._amended_original(event, state)
        canonical = event.model_dump(mode="json", exclude_defaults=True)
        message = Message(
            id=new_id(), system=system, po_number=event.po_number, dedup_key=dedup,
            status=State.QUEUED if echo is None else State.RECEIVED,
            body=body.decode("utf-8", "replace"), headers=_safe(headers, self.secret_headers),
            canonical=[canonical], note=None if echo is None else f"echo of delivery {echo}",
        )  # fmt: skip
        targets = self.routes.get(system, []) if echo is None else []

        def change(state: PurchaseOrder | None) -> PurchaseOrder | None:
            if echo is not None:
                return None
            if (_previous(state, system) or {}).get("key") == dedup:
                # This very event is in the state already: a copy of it (the sender's retry)
                # passed the dedup check while the first was still being stored. Applying it
                # again would count a receipt twice.
                return None
            as_of(canonical, event, state)
            new = identity.noted(apply_event(state, event), system, event)
            if original is not None and new is not None:
                new = identity.carried_over(original, new, system)
            return _mark_last(new, system, message)

        stored, created = await self.store.ingest(message, targets, change, event.po is not None)
        event_name = "inbound.accepted" if created else "inbound.duplicate"
        if created and echo is not None:
            event_name = "inbound.echo"
        log.info(event_name, message_id=stored.id, po_number=event.po_number, system=system,
                 echo_of=echo)  # fmt: skip
        return stored, created

    async def _amended_original(
        self, event: PoEvent, state: PurchaseOrder | None
    ) -> PurchaseOrder | None:
        """The PO an amendment replaces, when the hub holds it and not the amendment yet: the
        amendment is the same order at every target that names it by its own id."""
        if event.kind is not EventKind.AMENDED or event.po is None or state is not None:
            return None
        number = event.po.amended_po_number
        return await self.store.get_po(number) if number else None

    async def reject(
        self,
        system: str,
        body: bytes,
        headers: AbcMapping[str, str],
        exc: InvalidInput,
        po_number: str | None = None,
    ) -> Message:
        """Keep a refused message for operators, with its PO when it was read that far (a
        payload refused against the PO's stored state names its PO; an unreadable one not)."""
        message = Message(
            id=new_id(), system=system, status=State.REJECTED, po_number=po_number,
            body=body[:1_000_000].decode("utf-8", "replace"), headers=_safe(headers, self.secret_headers),
            error=str(exc), error_path=exc.first.path if exc.errors else None,
        )  # fmt: skip
        await self.store.reject(message)
        log.info("inbound.rejected", message_id=message.id, system=system, path=message.error_path)
        return message


LAST = "pohub.last"
"""PO state extension: the id of the last message each system sent for this PO."""


class KeyReused(PohubError):
    """An ``Idempotency-Key`` the sender already used, with a different body: answered 409
    in the sender's envelope (a silent 200 would drop the second payload)."""

    def __init__(self, system: str, key: str, first: str) -> None:
        self.system, self.key, self.first = system, key, first
        super().__init__(
            f"Idempotency-Key {key!r} was already used with a different body (message {first})"
        )


def as_of(canonical: dict[str, Any], event: PoEvent, state: PurchaseOrder | None) -> None:
    """Stamp a whole PO that names no status (AppliQloud's update) with the status the PO
    had when it arrived (canonical only, no sender's code), in the stored ``canonical``.

    Its deliveries are rendered later, from the newest state; without the stamp a target
    that acts on statuses (AlphaAlpha's lifecycle) would be driven to the status of an event
    stored after this one and still queued behind it, which then cannot go back (chaos
    finding D). With it, the update moves no status, as the sender meant. Runs inside the
    store's ingest, on the state the event is applied to."""
    po = canonical.get("po")
    if event.po is None or not isinstance(po, dict) or state is None or state.status is None:
        return
    if event.po.status is None and event.po.source_status is None:
        po["status"] = state.status.value


def _previous(state: PurchaseOrder | None, system: str) -> dict[str, str] | None:
    """What the PO's state says of the last message ``system`` sent for it (id, dedup key)."""
    if state is None:
        return None
    last: dict[str, dict[str, str]] = state.extensions.get(LAST, {})
    return last.get(system)


def _mark_last(state: PurchaseOrder | None, system: str, message: Message) -> PurchaseOrder | None:
    if state is None or message.dedup_key is None:
        return state
    entry = {"id": message.id, "key": message.dedup_key}
    last = {**state.extensions.get(LAST, {}), system: entry}
    return state.model_copy(update={"extensions": {**state.extensions, LAST: last}})


def _dedup_key(
    system: str, event: PoEvent, idempotency_key: str | None, index: int,
    previous: dict[str, str] | None,
) -> str:  # fmt: skip
    """What makes two inbound events the same event (docs: README, "Duplicates").

    With the sender's ``Idempotency-Key``: the key (and the PO's place in a bulk). Without:
    the sender, the PO, the content *and the sender's previous message for this PO*. A resend
    of the latest event (a reply the sender lost) is a duplicate; the same content after a
    different event (IN_PROGRESS -> APPROVED -> IN_PROGRESS) is a new event, since none of
    these dialects carries a timestamp or version that would tell them apart.
    """
    if idempotency_key:
        return f"{system}:key:{idempotency_key}:{index}"
    digest = hashlib.sha256(
        orjson.dumps(event.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()[:32]
    content = f"{system}:{event.po_number}:{digest}"
    if previous is not None and previous.get("key", "").startswith(content + ":"):
        return previous["key"]  # the same as the latest: a resend of it
    return f"{content}:after:{previous['id'] if previous else '-'}"


def _safe(headers: AbcMapping[str, str], secret: frozenset[str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in secret}
