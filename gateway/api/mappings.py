"""Mappings API: versions kept in the store, edits, diffs, rollback and dry-run previews."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import orjson
from litestar import Controller, Request, Response, get, post, put
from litestar.exceptions import HTTPException, NotFoundException, TooManyRequestsException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from pydantic import BaseModel, TypeAdapter, ValidationError

from adapters import registry
from core.errors import MappingMissing, PohubError, json_path
from core.mapping.schema import Key
from core.mapping.tables import Mapping
from core.mapping.values import new_status_codes
from core.model import PoEvent, PoStatus, PurchaseOrder
from core.state import apply_event
from core.validation import MAX_ERRORS
from gateway.api.guards import API_BODY_MAX, hub_of, principal, requires
from gateway.api.schemas import (
    Caller,
    DraftMeta,
    DraftStarted,
    MappingCheck,
    MappingDiff,
    MappingErrors,
    MappingRules,
    MappingSaved,
    MappingVersion,
    MappingVersionMeta,
    MappingVersionOf,
    MappingVersionRef,
    Previews,
)
from gateway.delivery.render import parse_for, render_for
from gateway.mappings import drafts as drafts
from gateway.mappings import review as review
from gateway.mappings import versions as mv
from gateway.store.records import Message, MessageFilter, State

MAX_PLACEHOLDERS = 200
"""Missing rows listed per previewed input; past it the input says "too many missing rows"."""
MAX_PREVIEWS = 200
"""Parked/dead deliveries previewed by one ``parked`` request."""
MAPPING_BODY_MAX = 2 * 1024 * 1024
"""Request body of a mapping save or preview (2 MiB, about 65,000 crosswalk rows): 413 past it.
Bigger tables (the schema allows 100,000 rows per table, a file 5 MB) go in by
``pohub mappings import``."""
PREVIEW_CONCURRENCY = 2
"""Previews running at once per gateway process; one more is a 429 with Retry-After."""
PREVIEW_TIMEOUT_S = 10.0
"""Wall-clock bound of one preview (validation plus every render); past it a 503."""
PREVIEW_RETRY_AFTER_S = 2


class SaveRequest(BaseModel):
    mapping: dict[str, Any]
    comment: str = ""


class RollbackRequest(BaseModel):
    version: int
    comment: str = ""
    draft: bool = False
    """True: put version ``version`` into the draft for review and publish (the admin page);
    false: make it live at once (the API's rollback as it always was)."""


class PreviewRequest(BaseModel):
    """A draft plus what to translate: a sample, a stored message, or the parked/dead ones."""

    mapping: dict[str, Any]
    source: str | None = None
    payload: Any = None
    headers: dict[str, str] = {}
    message_id: str | None = None
    parked: bool = False


@get("/api/v1/whoami", tags=["mappings"])
async def whoami(request: Request[Any, Any, Any]) -> Caller:
    found = principal(request)
    return {"name": found.name, "role": found.role}


def _invalid(exc: mv.MappingInvalid) -> Response[Any]:
    """400 with a ``MappingErrors`` body."""
    return Response(MappingErrors(errors=exc.errors()), status_code=400)


def _saved(record: dict[str, Any], requeued: int) -> MappingSaved:
    return {"version": record["version"], "content_version": record["content_version"],
            "requeued": requeued}  # fmt: skip


@dataclass
class _PreviewOperation(Operation):
    """The preview reads its body itself (parsed off the loop): the schema still says what."""

    def __post_init__(self) -> None:
        obj, text = OpenAPIType.OBJECT, OpenAPIType.STRING
        schema = Schema(type=obj, required=["mapping"], properties={
            "mapping": Schema(type=obj), "source": Schema(type=text), "payload": Schema(),
            "headers": Schema(type=obj, additional_properties=Schema(type=text)),
            "message_id": Schema(type=text), "parked": Schema(type=OpenAPIType.BOOLEAN),
        })  # fmt: skip
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=schema)}, required=True
        )


class MappingsController(Controller):
    path = "/api/v1/mappings"
    guards = [requires("viewer")]
    tags = ["mappings"]
    request_max_body_size = API_BODY_MAX

    @get("")
    async def systems(self, request: Request[Any, Any, Any]) -> list[MappingVersionRef]:
        hub = hub_of(request)
        out: list[MappingVersionRef] = []
        for system in registry.system_ids():
            if system in hub.mappings:
                record = await mv.ensure(hub, system)
                out.append({"system": system, "version": record["version"],
                            "content_version": record["content_version"]})  # fmt: skip
        return out

    @get("/{system:str}")
    async def current(self, request: Request[Any, Any, Any], system: str) -> MappingVersion:
        return cast(MappingVersion, {"system": system, **await _current(request, system)})

    @put("/{system:str}", guards=[requires("admin")], request_max_body_size=MAPPING_BODY_MAX)
    async def save(
        self, request: Request[Any, Any, Any], system: str, data: SaveRequest
    ) -> Response[MappingSaved]:
        await _current(request, system)
        try:
            record, requeued = await mv.save(
                hub_of(request), system, data.mapping, principal(request).name, data.comment
            )
        except mv.MappingInvalid as exc:
            return _invalid(exc)
        except mv.ValidationTimeout as exc:
            raise _timed_out(str(exc)) from None
        return Response(_saved(record, requeued))

    @get("/{system:str}/versions")
    async def versions(
        self, request: Request[Any, Any, Any], system: str
    ) -> list[MappingVersionMeta]:
        await _current(request, system)
        return cast(list[MappingVersionMeta], await mv.versions(hub_of(request).store, system))

    @get("/{system:str}/versions/{n:int}")
    async def version(self, request: Request[Any, Any, Any], system: str, n: int) -> MappingVersion:
        return cast(MappingVersion, {"system": system, **await _version(request, system, n)})

    @get("/{system:str}/diff")
    async def diff(
        self, request: Request[Any, Any, Any], system: str, from_version: int, to_version: int
    ) -> MappingDiff:
        a = await _version(request, system, from_version)
        b = await _version(request, system, to_version)
        return {"changes": mv.diff(a["mapping"], b["mapping"])}

    @post("/{system:str}/rollback", guards=[requires("admin")], status_code=200)
    async def rollback(
        self, request: Request[Any, Any, Any], system: str, data: RollbackRequest
    ) -> MappingSaved | DraftStarted:
        await _version(request, system, data.version)
        if data.draft:
            try:
                found = await drafts.from_version(
                    hub_of(request), system, data.version, principal(request).name
                )
            except drafts.DraftConflict as exc:
                raise HTTPException(status_code=409, detail=str(exc)) from None
            except mv.MappingInvalid as exc:
                detail = f"version {data.version} is not valid now: {exc}"
                raise HTTPException(status_code=409, detail=detail) from None
            return DraftStarted(draft=cast(DraftMeta, drafts.meta(found)))
        try:
            record, requeued = await mv.rollback(
                hub_of(request), system, data.version, principal(request).name,
                data.comment or None,
            )  # fmt: skip
        except mv.ValidationTimeout as exc:
            raise _timed_out(str(exc)) from None
        return _saved(record, requeued)

    @post("/{system:str}/validate", status_code=200,
          request_max_body_size=MAPPING_BODY_MAX)  # fmt: skip
    async def check(
        self, request: Request[Any, Any, Any], system: str, data: SaveRequest
    ) -> MappingCheck:
        """Check a mapping as a save would, storing nothing: the editor checks as you type
        with the server's rules, never a copy of them in the page. ``errors`` name path and
        rule; ``new_status_codes`` are legal but new (open code lists)."""
        await _current(request, system)
        try:
            mapping = await mv.validate_off_loop(system, data.mapping)
        except mv.MappingInvalid as exc:
            return {"errors": exc.errors(), "new_status_codes": []}
        except mv.ValidationTimeout as exc:
            raise _timed_out(str(exc)) from None
        spec = registry.get(system).spec
        codes = new_status_codes(mapping.file, hub_of(request).mappings[system].file, spec)
        return {"errors": [], "new_status_codes": codes}

    @get("/{system:str}/rules")
    async def rules(self, request: Request[Any, Any, Any], system: str) -> MappingRules:
        """What the editor offers as choices and states as rules, from the adapter's spec."""
        current = await _current(request, system)
        return _rules(system, current["mapping"])

    @get("/{system:str}/versions/content/{content_version:str}")
    async def version_of(
        self, request: Request[Any, Any, Any], system: str, content_version: str
    ) -> MappingVersionOf:
        """The integer version whose content is ``content_version`` (the hash attempts
        record), so every page can name a mapping by one identifier: its version number."""
        await _current(request, system)
        for record in await mv.versions(hub_of(request).store, system):
            if record["content_version"] == content_version:
                return cast(MappingVersionOf, {"system": system, **record})
        raise NotFoundException(f"no {system} mapping version has content {content_version}")

    @post("/{system:str}/preview", status_code=200,
          request_max_body_size=MAPPING_BODY_MAX, operation_class=_PreviewOperation)  # fmt: skip
    async def preview(self, request: Request[Any, Any, Any], system: str) -> Response[Previews]:
        """Render a draft (a ``PreviewRequest``) without saving it. Bounded: the body
        (``MAPPING_BODY_MAX``), the draft's shape (the mapping loader's limits),
        ``PREVIEW_CONCURRENCY`` at once (429), ``PREVIEW_TIMEOUT_S`` of wall clock (503).
        The CPU work, parsing the body included, runs off the event loop."""
        await _current(request, system)
        hub = hub_of(request)
        data = await request.body()  # within MAPPING_BODY_MAX, before a slot: a slow upload
        slots = _slots(hub)  # holds no preview slot
        if not slots.take():
            raise TooManyRequestsException(
                f"at most {PREVIEW_CONCURRENCY} previews run at once; try again shortly",
                headers={"Retry-After": str(PREVIEW_RETRY_AFTER_S)},
            )
        deadline = time.monotonic() + PREVIEW_TIMEOUT_S
        try:
            try:
                parsed = await slots.run(deadline, PreviewRequest.model_validate_json, data)
                draft = await slots.run(deadline, mv.validate, system, parsed.mapping)
            except ValidationError as exc:
                return _malformed(exc)
            except mv.MappingInvalid as exc:
                return _invalid(exc)
            inputs = [item async for item in _inputs(hub, system, parsed, slots, deadline)]
            live = hub.mappings[system]
            results = await slots.run(deadline, _preview_all, system, draft, live, inputs,
                                      deadline)  # fmt: skip
        except _PreviewTimeout:
            raise _timed_out(f"preview took longer than {PREVIEW_TIMEOUT_S:g} s") from None
        finally:
            slots.give()
        return Response(Previews(results=results))


def _malformed(exc: ValidationError) -> Response[Any]:
    errors = [{"path": json_path(e["loc"]), "message": e["msg"]}
              for e in exc.errors(include_url=False)[:MAX_ERRORS]]  # fmt: skip
    return Response({"detail": "the request body is not a preview request", "errors": errors},
                    status_code=400)  # fmt: skip


def _timed_out(reason: str) -> HTTPException:
    return HTTPException(status_code=503, detail=reason,
                         headers={"Retry-After": str(PREVIEW_RETRY_AFTER_S)})  # fmt: skip


class _PreviewTimeout(RuntimeError):
    pass


class _Slots:
    """At most ``n`` previews at once, their CPU work on ``n`` threads of their own.

    A slot given back while its thread still runs (the request timed out) stays taken until
    the thread ends, so timed-out work cannot pile up behind the bound.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.busy = 0
        self.pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="preview")
        self.running: dict[int, asyncio.Future[Any]] = {}

    def take(self) -> bool:
        if self.busy >= self.n:
            return False
        self.busy += 1
        return True

    def give(self) -> None:
        work = self.running.pop(id(asyncio.current_task()), None)
        if work is not None and not work.done():
            work.add_done_callback(lambda _: self._free())
        else:
            self._free()

    def _free(self) -> None:
        self.busy -= 1

    async def run(self, deadline: float, fn: Any, *args: Any) -> Any:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _PreviewTimeout
        work = asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)
        self.running[id(asyncio.current_task())] = work
        try:
            return await asyncio.wait_for(asyncio.shield(work), left)
        except TimeoutError:
            raise _PreviewTimeout from None


def _slots(hub: Any) -> _Slots:
    found: _Slots | None = vars(hub).get("_preview_slots")
    if found is None or found.n != PREVIEW_CONCURRENCY:
        found = vars(hub)["_preview_slots"] = _Slots(PREVIEW_CONCURRENCY)
    return found


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


async def _inputs(
    hub: Any, system: str, data: PreviewRequest, slots: _Slots, deadline: float
) -> Any:
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
                if count >= MAX_PREVIEWS:
                    return
                if time.monotonic() > deadline:
                    raise _PreviewTimeout
                message = await hub.store.get_message(delivery.message_id)
                if message is not None:
                    count += 1
                    yield await _stored(hub, message, f"{status.value} {delivery.po_number}")
    elif data.source is not None and data.payload is not None:
        async for item in _sample(hub, data, slots, deadline):
            yield item
    else:
        yield ("request", None, None, None, "give source and payload, message_id, or parked")


async def _stored(hub: Any, message: Message, label: str) -> Input:
    item = await review.stored(hub.store, message, label)
    return item.label, item.message_id, item.event, item.state, item.error


async def _sample(hub: Any, data: PreviewRequest, slots: _Slots, deadline: float) -> Any:
    source = data.source or ""
    if source not in hub.mappings:
        yield ("sample", None, None, None, f"unknown source system {source!r}")
        return
    raw = data.payload
    body = raw.encode() if isinstance(raw, str) else orjson.dumps(raw)
    headers = {k.lower(): v for k, v in data.headers.items()}
    try:  # parsing a big sample is CPU work too: off the loop, within the deadline
        events = await slots.run(deadline, parse_for, source, body, hub.mappings[source], headers)
    except PohubError as exc:
        yield ("sample", None, None, None, str(exc))
        return
    for event in events:
        state = apply_event(await hub.store.get_po(event.po_number), event)
        yield (f"sample {event.po_number}", None, event, state, None)


def _preview_all(
    system: str, draft: Mapping, live: Mapping, inputs: list[Input], deadline: float
) -> list[dict[str, Any]]:
    """Every input rendered with the draft and the live mapping (in a preview thread)."""
    results = []
    for label, message_id, event, state, error in inputs:
        if time.monotonic() > deadline:
            raise _PreviewTimeout
        item: dict[str, Any] = {"label": label}
        if message_id is not None:
            item["message_id"] = message_id
        if event is None:
            results.append({**item, "output": None, "live_output": None, "changes": [],
                            "missing": [], "error": error})  # fmt: skip
            continue
        results.append({**item, **_compare(system, draft, live, event, state, deadline)})
    return results


def _render(system: str, mapping: Mapping, event: PoEvent, state: PurchaseOrder | None) -> Any:
    """The body the worker would send, from the same PO state and remote state."""
    return render_for(system, event, mapping, state).body


def _compare(
    system: str, draft: Mapping, live: Mapping, event: PoEvent, state: PurchaseOrder | None,
    deadline: float,
) -> dict[str, Any]:  # fmt: skip
    output, missing, error = _render_all_missing(system, draft, event, state, deadline)
    live_error = None
    try:
        live_output = _render(system, live, event, state)
    except PohubError as exc:
        live_output, live_error = None, str(exc)
    # a live mapping that cannot render this has no output to compare with: say why instead
    # of listing the whole draft output as a change (issue 15: "no change" showed a diff)
    changes = mv.diff(live_output, output) if live_error is None else []
    out = {"output": output, "live_output": live_output, "changes": changes,
           "same": live_error is None and not changes and error is None, "missing": missing}  # fmt: skip
    if live_error is not None:
        out["live_error"] = live_error
    return {**out, "error": error} if error else out


def _render_all_missing(
    system: str, draft: Mapping, event: PoEvent, state: PurchaseOrder | None, deadline: float
) -> tuple[Any, list[dict[str, Any]], str | None]:
    """Render; on each missing row add a placeholder and go again, so all gaps are listed.

    Placeholders go into a copy of the draft made once per input (only the tables a
    placeholder touches are copied, once), never by validating the whole draft again.
    """
    mapping: _Filled | None = None
    missing: list[dict[str, Any]] = []
    for _ in range(MAX_PLACEHOLDERS):
        if time.monotonic() > deadline:
            raise _PreviewTimeout
        try:
            return _render(system, mapping or draft, event, state), missing, None
        except MappingMissing as exc:
            entry = {"table": exc.table, "key": exc.key}
            if entry in missing:
                return None, missing, str(exc)
            mapping = mapping or _Filled(draft)
            problem = mapping.fill(system, exc)
            if problem is not None:
                missing.append(entry)
                return None, missing, problem
            missing.append(entry)
        except PohubError as exc:
            return None, missing, str(exc)
    return None, missing, "too many missing rows"


_KEY: TypeAdapter[str] = TypeAdapter(Key)


class _Filled(Mapping):
    """A draft plus placeholder rows, sharing every table it does not touch with the draft."""

    def __init__(self, draft: Mapping) -> None:
        f = draft.file
        statuses = f.statuses.model_copy(update={
            level: dict(getattr(f.statuses, level))
            for level in ("document", "line", "schedule", "inbound")
        })  # fmt: skip
        copy = f.model_copy(update={"crosswalks": dict(f.crosswalks), "statuses": statuses,
                                    "defaults": dict(f.defaults)})  # fmt: skip
        super().__init__(copy, version=draft.version)
        self._copied: set[str] = set()

    def fill(self, system: str, exc: MappingMissing) -> str | None:
        """Add ``<missing key>`` where ``exc`` found no row; the reason it cannot, or None."""
        kind, _, name = exc.table.partition(".")
        if exc.key is None or kind not in ("crosswalks", "statuses", "defaults"):
            return str(exc)
        key, value = str(exc.key), f"<missing {exc.key}>"
        try:
            _KEY.validate_python(key)
            if kind == "crosswalks":
                if name not in self._copied:
                    self.file.crosswalks[name] = dict(self.file.crosswalks.get(name, {}))
                    self._copied.add(name)
                self.file.crosswalks[name][key] = value
                self._inverse_tables.pop(name, None)
            elif kind == "statuses" and name in ("document", "line", "schedule"):
                table: dict[Any, str] = getattr(self.file.statuses, name)
                table[PoStatus(key)] = value
                self._inverse_status[name] = self._invert_status(name)
            elif kind == "defaults":
                defaults = {**self.file.defaults, key: value}
                spec = registry.get(system).spec
                if spec is not None and spec.defaults is not None:
                    spec.defaults.model_validate(defaults)
                self.file.defaults[key] = value
                self._defaults[key] = value
            else:
                return str(exc)
        except (ValidationError, ValueError) as problem:
            return f"cannot fill {{'table': {exc.table!r}, 'key': {exc.key!r}}}: {problem}"
        return None


def _rules(system: str, live: dict[str, Any]) -> MappingRules:
    """The adapter's rules for the editor: status codes (declared plus those the live mapping
    uses, for an open list), levels, crosswalk tables with choices and id formats, and the
    defaults' JSON schema."""
    spec = registry.get(system).spec
    codes = spec.statuses
    used = {c for level in ("document", "line", "schedule")
            for c in (live.get("statuses", {}).get(level) or {}).values()}  # fmt: skip
    used |= set(live.get("statuses", {}).get("inbound") or {})
    choices = (
        list(codes.codes) if codes.closed else [*codes.codes, *sorted(used - set(codes.codes))]
    )
    tables = {
        name: {"description": t.description, "required": t.required,
               "choices": list(t.choices) if t.choices is not None else None,
               "id_format": t.id_format or "the document states no format for this id (a "
               "string): any non-blank id is accepted"}
        for name, t in spec.crosswalks.items()
    }  # fmt: skip
    return {
        "system": system,
        "statuses": {"levels": list(codes.levels), "closed": codes.closed, "choices": choices,
                     "documented": list(codes.codes), "source": codes.source},
        "crosswalks": tables,
        "canonical_statuses": [s.value for s in PoStatus],
        "defaults": spec.defaults.model_json_schema() if spec.defaults is not None else None,
    }  # fmt: skip
