"""How the hub reads AlphaAlpha by polling: ``dynamic-search``, newest first, page by page.

AlphaAlpha pushes nothing, so ``gateway/intake/poller.py`` reads its changed POs; what a search
request and a page look like is AlphaAlpha's document, so it is declared here (the
``Poll`` of ``adapters/alphaalpha/__init__.py``), not in the gateway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters._system import Poll
from adapters.alphaalpha.render import BASE


def page_request(page: int, size: int) -> dict[str, Any]:
    """Page ``page`` of ``size`` POs, the most recently updated first: reading newest first,
    an order updated meanwhile moves to the front and repeats at worst (oldest first, it
    could shift past a page boundary and be skipped for good)."""
    return {"page": page, "size": size, "sort": [{"field": "updated", "ascending": False}]}


def read_page(body: Any) -> tuple[list[Any], bool] | None:
    """The page's PO objects and whether it is the last one; None: not a page."""
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, list):
        return None
    return content, body.get("last") is True


def changed_at(po: Any) -> datetime | None:
    """A PO object's ``updated`` (else ``created``) as an aware date-time, if readable."""
    if not isinstance(po, dict):
        return None
    for key in ("updated", "created"):
        value = po.get(key)
        if isinstance(value, str):
            when = aware(value)
            if when is not None:
                return when
    return None


def aware(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


POLL = Poll(f"{BASE}/dynamic-search", page_request, read_page, changed_at)
