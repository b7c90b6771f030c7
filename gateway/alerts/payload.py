"""How an alert reads: the Standard Webhooks event shape, or one line of text for Slack's
and Teams' incoming webhooks and for mail. Never a secret: causes carry reasons only."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from core.model import utc_now
from gateway.alerts.causes import Cause, as_json

TITLES = {"dead": "new dead cause", "parked": "new parked cause", "circuit": "circuit open",
          "backlog": "backlog too old"}  # fmt: skip


def alert(cause: Cause, admin_url: str | None) -> dict[str, Any]:
    """One alert: ``id`` (also the webhook-id), ``type``, ``timestamp``, ``data``."""
    data = {**as_json(cause), "title": TITLES.get(cause.kind, cause.kind)}
    if admin_url:
        data["link"] = admin_url.rstrip("/") + ("#/problems" if cause.kind in ("dead", "parked")
                                                 else "#/health")  # fmt: skip
    return {"id": f"msg_{uuid.uuid4().hex}", "type": f"pohub.alert.{cause.kind}",
            "timestamp": utc_now().isoformat(), "data": data}  # fmt: skip


def text(item: dict[str, Any]) -> str:
    data = item["data"]
    line = f"pohub: {data['title']} at {data['target']}: {data['summary']}"
    return f"{line}\n{data['link']}" if data.get("link") else line


def subject(item: dict[str, Any]) -> str:
    data = item["data"]
    return f"pohub: {data['title']} at {data['target']}"[:200]


def body(item: dict[str, Any], form: str) -> bytes:
    """The webhook body: the event itself (``standard``) or ``{"text": ...}``."""
    if form in ("slack", "teams"):
        return orjson.dumps({"text": text(item)})
    return orjson.dumps({"type": item["type"], "timestamp": item["timestamp"],
                         "data": item["data"]})  # fmt: skip
