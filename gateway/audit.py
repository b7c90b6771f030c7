"""The audit log: every manual action, with who asked (the API key's name and role, never
the key) and when, kept in the store so all processes write to one log.

Two ways in:

- Handlers that know what an action means record it themselves with ``record`` (the
  replays: the filter in words, the states, the count) and say so with
  ``opt={"audit": "self"}`` on their route.
- Every other change made through ``/api/v1`` (``POST``/``PUT``/``PATCH``/``DELETE``: a
  mapping saved or rolled back, a target paused...) is recorded by ``AuditMiddleware`` as
  ``METHOD /path`` with the HTTP status, so a new kind of action is never left out. Calls
  that change nothing are not actions: previews, the canonical inbound endpoint (a system
  pushing a PO, not an operator), and any route marked ``opt={"audit": "none"}``.

``GET /api/v1/audit`` (``gateway.audit_api``) pages the log and exports it.
"""

from __future__ import annotations

import getpass
import re
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth import Principal
from gateway.store.base import Store
from gateway.store.records import AuditEntry

log = structlog.get_logger("pohub.audit")

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_ACTIONS = (
    re.compile(r"/api/v1/mappings/[^/]+/preview"),  # renders a draft, stores nothing
    re.compile(r"/api/v1/purchase-orders"),  # canonical inbound: a system, not an operator
)


def command_line() -> Principal:
    """Who ``pohub mappings import`` acts as: the OS user running it, who has the store and
    so admin power."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        user = "unknown user"
    return Principal(f"command line ({user})", "admin")


MAPPING_FILE = Principal("mapping file on disk", "file")
"""Who a mapping file edited on disk and picked up by the file watcher acts as."""


def actor(who: Principal) -> str:
    """How an attempt names who replayed it: ``name (role)``."""
    return f"{who.name} ({who.role})"


async def record(
    store: Store, who: Principal, action: str, subject: str = "", outcome: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:  # fmt: skip
    """Append one entry; the caller has done (or refused) the action already."""
    entry = AuditEntry(actor=who.name, role=who.role, action=action, subject=subject,
                       outcome=outcome, detail=detail or {})  # fmt: skip
    await store.add_audit(entry)
    log.info("audit.recorded", action=action, actor=who.name, role=who.role, subject=subject)
    return entry


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
