"""AlphaAlpha's replies: the PO object, lists and pages of it, stats, and ``{detail, time, title}``.

Every action (create, patch, approve-*, reject-*, cancel, close, reinstate, mark-as-sent,
receive-goods, comment, send-mail, attachments) answers with the full PO object; the
document shows three identical error samples per endpoint and gives no status codes.
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from math import ceil
from typing import Any

from adapters.alphaalpha.schema import (
    CsvExport,
    Error,
    Page,
    PurchaseOrder,
    PurchaseOrderList,
    ShortageSummary,
    Stats,
)
from core.dates import format_iso_z
from core.inbound import Reply as HttpReply
from core.model import utc_now

__all__ = [
    "CsvExport",
    "ErrorReply",
    "Page",
    "PurchaseOrder",
    "PurchaseOrderList",
    "ShortageSummary",
    "Stats",
    "error",
    "error_reply",
    "page",
]

ErrorReply = Error


def error(title: str, detail: str, at: datetime | None = None) -> dict[str, Any]:
    """The error envelope, e.g. ``error("Not Found", "purchase order x does not exist")``."""
    return {"detail": detail, "time": format_iso_z(at or utc_now()), "title": title}


def error_reply(
    status: int,
    message: str,
    field: str | None = None,
    rule: str | None = None,
    at: datetime | None = None,
) -> HttpReply:
    """``{detail, time, title}`` for any status: the title is the status's phrase, the
    detail ``path: message (rule)``. Shared by the simulator (its own clock as ``at``) and
    the drop-in endpoint."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    detail = f"{field}: {message}" if field else message
    return HttpReply(status, error(title, f"{detail} ({rule})" if rule else detail, at))


def page(content: list[dict[str, Any]], number: int, size: int, total: int) -> dict[str, Any]:
    """A dynamic-search / page reply holding ``content`` (page ``number`` of ``size``)."""
    pages = ceil(total / size) if size else 0
    sort = {"empty": True, "sorted": False, "unsorted": True}
    return {
        "content": content,
        "empty": not content,
        "first": number == 0,
        "last": number >= pages - 1,
        "number": number,
        "numberOfElements": len(content),
        "pageable": {
            "offset": number * size,
            "pageNumber": number,
            "pageSize": size,
            "paged": True,
            "sort": sort,
            "unpaged": False,
        },
        "size": size,
        "sort": sort,
        "totalElements": total,
        "totalPages": pages,
    }
