"""``GET /api/v1/audit``: the audit log (``gateway.audit``) as pages for the admin page, and
the whole of it as CSV or JSON for whoever keeps records elsewhere."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any, Literal

import orjson
from litestar import Controller, Request, Response, get

from gateway.ops import hub_of, requires
from gateway.store.base import Store
from gateway.store.records import AuditEntry

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
    tags = ["operations"]

    @get("/", guards=[requires("operator")])
    async def audit(
        self, request: Request[Any, Any, Any], offset: int = 0, limit: int = 100,
        format: Literal["page", "json", "csv"] = "page",
    ) -> Response[Any]:  # fmt: skip
        """A page, newest first (``format=page``), or the whole log as a download:
        ``format=json`` (a list) or ``format=csv`` (one row per entry, ``detail`` as JSON)."""
        store = hub_of(request).store
        if format == "page":
            page = await store.audit(max(offset, 0), min(max(limit, 1), PAGE_MAX))
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
