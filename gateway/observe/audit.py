"""The audit log: every manual action, with who asked (the API key's name and role, never
the key) and when, kept in the store so all processes write to one log.

Two ways in:

- Handlers that know what an action means record it themselves with ``record`` (the
  replays: the filter in words, the states, the count) and say so with
  ``opt={"audit": "self"}`` on their route.
- Every other change made through ``/api/v1`` (``POST``/``PUT``/``PATCH``/``DELETE``: a
  mapping saved or rolled back, a target paused...) is recorded as ``METHOD /path`` with
  the HTTP status, so a new kind of action is never left out. Calls that change nothing
  are not actions: previews, the canonical inbound endpoint (a system pushing a PO, not an
  operator), and any route marked ``opt={"audit": "none"}``.

Both HTTP parts, ``AuditMiddleware`` and ``GET /api/v1/audit`` (pages and exports), live in
``gateway.api.audit``; this module is what the API, the mappings' reloads and the command
line share: ``Principal`` (who acts) and ``record``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

import structlog

from gateway.store.base import Store
from gateway.store.records import AuditEntry

log = structlog.get_logger("pohub.audit")

ROLES = {"viewer": 1, "operator": 2, "admin": 3}
"""The API keys' roles, each allowed what the ones below it are."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts: an API key's name and role (never the key), the command line, or the
    mapping-file watcher."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES[self.role] >= ROLES[role]


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
