"""Mappings API: versions kept in the store, edits, diffs, rollback and dry-run previews."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from litestar import Controller, Request, Response, get, post, put
from litestar.exceptions import NotFoundException
from pydantic import BaseModel, ValidationError

from adapters import registry
from core.adapter import RemoteState, RenderContext
from core.errors import MappingMissing, PohubError
from core.mapping.schema import MappingFile
from core.mapping.tables import Mapping
from core.model import PoEvent, PurchaseOrder, utc_now
from core.state import apply_event
from gateway import mapping_versions as mv
from gateway.ops import hub_of, principal, requires
from gateway.store.records import Message, MessageFilter, State
from gateway.worker import REMOTE

MAX_PLACEHOLDERS = 200
MAX_PREVIEWS = 200


class SaveRequest(BaseModel):
    mapping: dict[str, Any]
    comment: str = ""


class RollbackRequest(BaseModel):
    version: int
    comment: str = ""


class PreviewRequest(BaseModel):
    """A draft plus what to translate: a sample, a stored message, or the parked/dead ones."""

    mapping: dict[str, Any]
    source: str | None = None
    payload: Any = None
    headers: dict[str, str] = {}
    message_id: str | None = None
    parked: bool = False


@get("/api/v1/whoami", tags=["mappings"])
async def whoami(request: Request[Any, Any, Any]) -> dict[str, str]:
    found = principal(request)
    return {"name": found.name, "role": found.role}


def _invalid(exc: mv.MappingInvalid) -> Response[dict[str, Any]]:
    return Response({"errors": exc.errors()}, status_code=400)


def _saved(record: dict[str, Any], requeued: int) -> dict[str, Any]:
    return {"version": record["version"], "content_version": record["content_version"],
            "requeued": requeued}  # fmt: skip


class MappingsController(Controller):
    path = "/api/v1/mappings"
    tags = ["mappings"]

    @get("", guards=[requires("viewer")])
    async def systems(self, request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
        hub = hub_of(request)
        out = []
        for system in registry.system_ids():
            if system in hub.mappings:
                record = await mv.ensure(hub, system)
                out.append({"system": system, "version": record["version"],
                            "content_version": record["content_version"]})  # fmt: skip
        return out

    @get("/{system:str}", guards=[requires("viewer")])
    async def current(self, request: Request[Any, Any, Any], system: str) -> dict[str, Any]:
        return {"system": system, **await _current(request, system)}

    @put("/{system:str}", guards=[requires("admin")])
    async def save(
        self, request: Request[Any, Any, Any], system: str, data: SaveRequest
    ) -> Response[dict[str, Any]]:
        await _current(request, system)
        try:
            record, requeued = await mv.save(
                hub_of(request), system, data.mapping, principal(request).name, data.comment
            )
        except mv.MappingInvalid as exc:
            return _invalid(exc)
        return Response(_saved(record, requeued))

    @get("/{system:str}/versions", guards=[requires("viewer")])
    async def versions(self, request: Request[Any, Any, Any], system: str) -> list[dict[str, Any]]:
        await _current(request, system)
        return await mv.versions(hub_of(request).store, system)

    @get("/{system:str}/versions/{n:int}", guards=[requires("viewer")])
    async def version(self, request: Request[Any, Any, Any], system: str, n: int) -> dict[str, Any]:
        return {"system": system, **await _version(request, system, n)}

    @get("/{system:str}/diff", guards=[requires("viewer")])
    async def diff(
        self, request: Request[Any, Any, Any], system: str, from_version: int, to_version: int
    ) -> dict[str, Any]:
        a = await _version(request, system, from_version)
        b = await _version(request, system, to_version)
        return {"changes": mv.diff(a["mapping"], b["mapping"])}

    @post("/{system:str}/rollback", guards=[requires("admin")], status_code=200)
    async def rollback(
        self, request: Request[Any, Any, Any], system: str, data: RollbackRequest
    ) -> dict[str, Any]:
        await _version(request, system, data.version)
        record, requeued = await mv.rollback(
            hub_of(request), system, data.version, principal(request).name, data.comment or None
        )
        return _saved(record, requeued)

    @post("/{system:str}/preview", guards=[requires("viewer")], status_code=200)
    async def preview(
        self, request: Request[Any, Any, Any], system: str, data: PreviewRequest
    ) -> Response[dict[str, Any]]:
        await _current(request, system)
        try:
            draft = await mv.validate_off_loop(system, data.mapping)
        except mv.MappingInvalid as exc:
            return _invalid(exc)
        hub = hub_of(request)
        results = []
        async for label, message_id, event, state, error in _inputs(hub, system, data):
            item: dict[str, Any] = {"label": label}
            if message_id is not None:
                item["message_id"] = message_id
            if event is None:
                results.append({**item, "output": None, "live_output": None, "changes": [],
                                "missing": [], "error": error})  # fmt: skip
                continue
            results.append({**item, **_compare(hub, system, draft, event, state)})
        return Response({"results": results})


async def _current(request: Request[Any, Any, Any], system: str) -> dict[str, Any]:
    hub = hub_of(request)
    if system not in hub.mappings:
        raise NotFoundException(f"no mapping for system {system!r}")
    return await mv.ensure(hub, system)


async def _version(request: Request[Any, Any, Any], system: str, n: int) -> dict[str, Any]:
    await _current(request, system)
    record = await mv.get_version(hub_of(request).store, system, n)
    if record is None:
        raise NotFoundException(f"{system} has no mapping version {n}")
    return record


# preview ------------------------------------------------------------------------------------
Input = tuple[str, str | None, PoEvent | None, PurchaseOrder | None, str | None]


async def _inputs(hub: Any, system: str, data: PreviewRequest) -> Any:
    """(label, message id, event, PO state, error) for each thing to translate."""
    if data.message_id is not None:
        message = await hub.store.get_message(data.message_id)
        if message is None:
            raise NotFoundException(f"no message {data.message_id}")
        yield await _stored(hub, message, f"message {message.id}")
    elif data.parked:
        count = 0
        for status in (State.PARKED, State.DEAD):
            async for delivery in hub.store.deliveries(MessageFilter(target=system, status=status)):
                message = await hub.store.get_message(delivery.message_id)
                if message is not None and count < MAX_PREVIEWS:
                    count += 1
                    yield await _stored(hub, message, f"{status.value} {delivery.po_number}")
    elif data.source is not None and data.payload is not None:
        async for item in _sample(hub, data):
            yield item
    else:
        yield ("request", None, None, None, "give source and payload, message_id, or parked")


async def _stored(hub: Any, message: Message, label: str) -> Input:
    if not message.canonical:
        return label, message.id, None, None, "the message has no canonical event (rejected)"
    event = PoEvent.model_validate(message.canonical[0])
    state = await hub.store.get_po(message.po_number) if message.po_number else None
    return label, message.id, event, state, None


async def _sample(hub: Any, data: PreviewRequest) -> Any:
    source = data.source or ""
    if source not in hub.mappings:
        yield ("sample", None, None, None, f"unknown source system {source!r}")
        return
    raw = data.payload
    body = raw.encode() if isinstance(raw, str) else orjson.dumps(raw)
    headers = {k.lower(): v for k, v in data.headers.items()}
    try:
        events = registry.get(source).parse(body, hub.mappings[source], headers)
    except PohubError as exc:
        yield ("sample", None, None, None, str(exc))
        return
    for event in events:
        event.occurred_at = event.occurred_at or utc_now()
        state = apply_event(await hub.store.get_po(event.po_number), event)
        yield (f"sample {event.po_number}", None, event, state, None)


def _render(system: str, mapping: Mapping, event: PoEvent, state: PurchaseOrder | None) -> Any:
    """The body the worker would send, from the same PO state and remote state."""
    remote_id = state.remote_ids.get(system) if state else None
    known = (state.extensions.get(REMOTE, {}) if state else {}).get(system)
    known = known if isinstance(known, dict) else {}
    remote = RemoteState(remote_id, known.get("status"), known.get("version"))
    return registry.get(system).render(event, RenderContext(mapping, state, remote)).body


def _compare(
    hub: Any, system: str, draft: Mapping, event: PoEvent, state: PurchaseOrder | None
) -> dict[str, Any]:
    output, missing, error = _render_all_missing(system, draft, event, state)
    try:
        live_output = _render(system, hub.mappings[system], event, state)
    except PohubError:
        live_output = None
    out = {"output": output, "live_output": live_output,
           "changes": mv.diff(live_output, output), "missing": missing}  # fmt: skip
    return {**out, "error": error} if error else out


def _render_all_missing(
    system: str, draft: Mapping, event: PoEvent, state: PurchaseOrder | None
) -> tuple[Any, list[dict[str, Any]], str | None]:
    """Render; on each missing row add a placeholder and go again, so all gaps are listed."""
    data = copy.deepcopy(draft.file.model_dump(mode="json"))
    mapping = draft
    missing: list[dict[str, Any]] = []
    for _ in range(MAX_PLACEHOLDERS):
        try:
            return _render(system, mapping, event, state), missing, None
        except MappingMissing as exc:
            entry = {"table": exc.table, "key": exc.key}
            if entry in missing or not _placeholder(data, exc):
                return None, missing + [entry] * (entry not in missing), str(exc)
            missing.append(entry)
        except PohubError as exc:
            return None, missing, str(exc)
        try:
            mapping = Mapping(MappingFile.model_validate(data), spec=registry.get(system).spec)
        except (ValidationError, ValueError) as exc:
            return None, missing, f"cannot fill {missing[-1]}: {exc}"
    return None, missing, "too many missing rows"


def _placeholder(data: dict[str, Any], exc: MappingMissing) -> bool:
    if exc.key is None:
        return False
    value = f"<missing {exc.key}>"
    kind, _, name = exc.table.partition(".")
    if kind == "crosswalks":
        data["crosswalks"].setdefault(name, {})[str(exc.key)] = value
    elif kind == "statuses" and name in data["statuses"]:
        data["statuses"][name][str(exc.key)] = value
    elif kind == "defaults":
        data["defaults"][str(exc.key)] = value
    else:
        return False
    return True
