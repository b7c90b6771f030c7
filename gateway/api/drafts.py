"""Mapping drafts over HTTP: save, read, discard, review and publish (issue 15).

The admin page edits a draft, reviews its impact and publishes it; nothing it saves goes live
before that. The draft's storage is ``gateway.mappings.drafts``; the review renders with the
preview's code (``gateway.api.mappings``), under the same concurrency and time bounds.
"""

from __future__ import annotations

import time
from typing import Any, cast

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.exceptions import HTTPException, NotFoundException, TooManyRequestsException
from pydantic import BaseModel

from adapters import registry
from core.mapping.values import new_status_codes
from gateway.api import mappings as api
from gateway.api.guards import API_BODY_MAX, hub_of, principal, requires
from gateway.api.schemas import Draft, DraftDiscarded, DraftMeta, DraftReview, MappingSaved
from gateway.mappings import drafts as drafts
from gateway.mappings import review as review
from gateway.mappings import versions as mv


class DraftRequest(BaseModel):
    """A draft save: the whole mapping, and what the edit started from (for conflicts)."""

    mapping: dict[str, Any]
    comment: str = ""
    revision: int | None = None
    base_version: int | None = None


class ReviewRequest(BaseModel):
    offset: int = 0
    limit: int = 20


class PublishRequest(BaseModel):
    revision: int
    comment: str | None = None


class MappingDraftsController(Controller):
    path = "/api/v1/mappings"
    guards = [requires("viewer")]
    tags = ["mappings"]
    request_max_body_size = API_BODY_MAX

    @get("/{system:str}/draft")
    async def draft(self, request: Request[Any, Any, Any], system: str) -> Draft:
        await api._current(request, system)
        found = await drafts.get(hub_of(request).store, system)
        if found is None:
            raise NotFoundException(f"{system} has no draft")
        return cast(Draft, found)

    @put(
        "/{system:str}/draft",
        guards=[requires("admin")],
        request_max_body_size=api.MAPPING_BODY_MAX,
    )
    async def save_draft(
        self, request: Request[Any, Any, Any], system: str, data: DraftRequest
    ) -> Response[DraftMeta]:
        """Check and keep the edit as the draft; nothing goes live (400 names path and rule,
        409 when the draft changed since ``revision``)."""
        await api._current(request, system)
        try:
            saved = await drafts.save(
                hub_of(request), system, data.mapping, principal(request).name, data.comment,
                revision=data.revision, base_version=data.base_version,
            )  # fmt: skip
        except mv.MappingInvalid as exc:
            return api._invalid(exc)
        except mv.ValidationTimeout as exc:
            raise api._timed_out(str(exc)) from None
        except drafts.DraftConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return Response(cast(DraftMeta, drafts.meta(saved)))

    @delete("/{system:str}/draft", guards=[requires("admin")], status_code=200)
    async def discard_draft(
        self, request: Request[Any, Any, Any], system: str, revision: int | None = None
    ) -> DraftDiscarded:
        await api._current(request, system)
        try:
            found = await drafts.discard(hub_of(request).store, system, revision)
        except drafts.DraftConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return DraftDiscarded(discarded=found)

    @post("/{system:str}/draft/review", status_code=200)
    async def review(
        self, request: Request[Any, Any, Any], system: str, data: ReviewRequest
    ) -> DraftReview:
        """The draft's impact: diff against live (or "no change"), new status codes, what it
        renders for the parked and dead deliveries (one page), and how many it releases."""
        live = await api._current(request, system)
        hub = hub_of(request)
        found = await drafts.get(hub.store, system)
        if found is None:
            raise NotFoundException(f"{system} has no draft")
        slots = api._slots(hub)
        if not slots.take():
            raise TooManyRequestsException(
                f"at most {api.PREVIEW_CONCURRENCY} previews run at once; try again shortly",
                headers={"Retry-After": str(api.PREVIEW_RETRY_AFTER_S)},
            )
        deadline = time.monotonic() + api.PREVIEW_TIMEOUT_S
        try:
            draft = await slots.run(deadline, mv.validate, system, found["mapping"])
            items, more = await review.deliveries(hub.store, system, deadline)
            inputs = [(i.label, i.message_id, i.event, i.state, i.error) for i in items]
            results = await slots.run(deadline, api._preview_all, system, draft,
                                      hub.mappings[system], inputs, deadline)  # fmt: skip
        except mv.MappingInvalid as exc:  # valid when saved; the adapter's rules moved since
            raise HTTPException(
                status_code=409, detail=f"the draft is no longer valid: {exc}"
            ) from None
        except (api._PreviewTimeout, review.ReviewTimeout):
            raise api._timed_out(f"review took longer than {api.PREVIEW_TIMEOUT_S:g} s") from None
        finally:
            slots.give()
        rows = [review.annotate(i, r) for i, r in zip(items, results, strict=True)]
        changes = mv.diff(live["mapping"], found["mapping"])
        spec = registry.get(system).spec
        live_file = hub.mappings[system].file
        return {
            "system": system, "draft": cast(DraftMeta, drafts.meta(found)),
            "live_version": live["version"],
            "stale": int(found["base_version"]) != int(live["version"]),
            "unchanged": not changes, "changes": changes,
            "new_status_codes": new_status_codes(draft.file, live_file, spec),
            "impact": review.summary(items, results, more), "total": len(rows),
            "offset": data.offset, "results": review.page(rows, data.offset, data.limit),
        }  # fmt: skip

    @post("/{system:str}/draft/publish", guards=[requires("admin")], status_code=200)
    async def publish(
        self, request: Request[Any, Any, Any], system: str, data: PublishRequest
    ) -> MappingSaved:
        """The reviewed draft (``revision``) becomes the next live version; parked deliveries
        are re-queued. 409 when the draft or live changed since the review."""
        await api._current(request, system)
        try:
            record, requeued = await drafts.publish(
                hub_of(request), system, principal(request).name, data.revision, data.comment
            )
        except KeyError as exc:
            raise NotFoundException(str(exc.args[0])) from None
        except drafts.DraftConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        except mv.MappingInvalid as exc:
            raise HTTPException(
                status_code=409, detail=f"the draft is no longer valid: {exc}"
            ) from None
        except mv.ValidationTimeout as exc:
            raise api._timed_out(str(exc)) from None
        return api._saved(record, requeued)
