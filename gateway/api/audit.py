"""``GET /api/v1/audit``: the audit log (``gateway.observe.audit``) as pages for the admin page, and
the whole of it as CSV or JSON for whoever keeps records elsewhere."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from typing import Any, Literal

import orjson
import structlog
from litestar import Controller, Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.guards import hub_of, page_offset, requires
from gateway.observe.audit import record
from gateway.store.base import Store
from gateway.store.records import AuditEntry

log = structlog.get_logger("pohub.audit")

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_ACTIONS = (
    re.compile(r"/api/v1/mappings/[^/]+/preview"),  # renders a draft, stores nothing
    re.compile(r"/api/v1/purchase-orders"),  # canonical inbound: a system, not an operator
)

PAGE_MAX = 500
EXPORT_BATCH = 500
CSV_COLUMNS = ("at", "actor", "role", "action", "subject", "outcome", "detail", "id")


async def _every_entry(store: Store) -> AsyncIterator[AuditEntry]:
    offset = 0
    while True:
        page = await store.audit(offset, EXPORT_BATCH)
        for entry in page.items:
            yield entry
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


def _csv_row(entry: AuditEntry) -> list[str]:
    data = entry.model_dump(mode="json")
    data["detail"] = orjson.dumps(data["detail"]).decode()
    return [str(data[c]) for c in CSV_COLUMNS]


class AuditController(Controller):
    """``GET /api/v1/audit``: the audit log for operators and admins."""

    path = "/api/v1/audit"
    guards = [requires("operator")]
    tags = ["operations"]

    @get("/")
    async def audit(
        self, request: Request[Any, Any, Any], offset: int = 0, limit: int = 100,
        format: Literal["page", "json", "csv"] = "page",
    ) -> Response[Any]:  # fmt: skip
        """A page, newest first (``format=page``), or the whole log as a download:
        ``format=json`` (a list) or ``format=csv`` (one row per entry, ``detail`` as JSON)."""
        store = hub_of(request).store
        if format == "page":
            page = await store.audit(page_offset(offset), min(max(limit, 1), PAGE_MAX))
            return Response(page.model_dump(mode="json"))
        entries = [e async for e in _every_entry(store)]
        name = f"pohub-audit.{format}"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        if format == "json":
            body = orjson.dumps([e.model_dump(mode="json") for e in entries])
            return Response(body, media_type="application/json", headers=disposition)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_csv_row(e) for e in entries)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=disposition)


def _records_itself(scope: Any) -> bool:
    """``opt={"audit": "self"}``: the handler records its own entry; ``"none"``: a ``POST``
    that changes nothing (a dry run, a review)."""
    handler = scope.get("route_handler")
    return bool(handler is not None and handler.opt.get("audit") in ("self", "none"))


def _is_action(scope: Any) -> bool:
    path = str(scope.get("path", ""))
    return (
        scope.get("type") == "http"
        and scope.get("method") in CHANGES
        and path.startswith("/api/v1/")
        and not any(p.fullmatch(path) for p in NOT_ACTIONS)
        and not _records_itself(scope)
    )


class AuditMiddleware:
    """Records each change made through ``/api/v1`` that its handler does not record
    itself: who, ``METHOD /path``, and the status it was answered with (refusals too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_action(scope):
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            status = int(getattr(exc, "status_code", 500))
            raise
        finally:
            await self._record(scope, status)

    async def _record(self, scope: Any, status: int) -> None:
        hub = scope["app"].state.hub
        headers = dict(scope.get("headers", []))
        auth = headers.get(b"authorization", b"").decode("latin-1")
        who = hub.keys.identify(auth)
        if who is None:  # no valid key: nothing was done, and nobody to name
            return
        query = scope.get("query_string", b"").decode("latin-1")
        subject = str(scope["path"]) + (f"?{query}" if query else "")
        try:
            await record(hub.store, who, f"{scope['method']} {scope['path']}", subject,
                         f"HTTP {status}", {"status": status})  # fmt: skip
        except Exception as exc:  # the store is down: the action's own reply already says so
            log.warning("audit.record_failed", error=str(exc), path=str(scope["path"]))
