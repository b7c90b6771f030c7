"""Polling for systems without push: AlphaAlpha's ``dynamic-search``, changes since a checkpoint.

AlphaAlpha's document has no webhook, so the hub asks it: ``POST {base_url}/api/v1/
purchase-orders/dynamic-search`` sorted by ``updated``, and ingests every PO object changed
since the checkpoint ``alphaalpha.poll`` (kept in the store) as an inbound AlphaAlpha message,
exactly as a pushed PO object (no ``X-Pohub-Path``: ``parse`` reads one full PO object).

Enabling it (no config.yaml field): polling runs when ``systems.alphaalpha.base_url`` is set
AND the environment variable ``POHUB_POLL_ALPHAALPHA_S`` holds the interval in seconds, e.g.
``POHUB_POLL_ALPHAALPHA_S=30``. The poller signs in with ``systems.alphaalpha.auth``, as the
worker does. ``start_pollers(hub)`` spawns it; call it from the app's lifespan after the
store is open.

How a round reads (the search filters only by equality, so ``updated`` is compared here):

- Pages are read **newest first** (``updated`` descending) until a PO older than the
  checkpoint shows up. Reading oldest first by page number can skip a PO for good: when an
  order on an already-read page is updated meanwhile, it moves to the end and every later
  order shifts back one place, past the page boundary. Newest first, a shift only repeats one.
- What was found is ingested oldest first, a page's worth at a time; the checkpoint moves to
  the last ``updated`` stored only after that chunk is stored, so a crash re-reads and never
  loses. POs *at* the checkpoint are read again (ties on ``updated``): ingest deduplicates
  them by content, so an unchanged PO stores nothing new.
- A PO the hub itself wrote there comes back here too: ingest puts it under the hub's PO
  number (the crosswalk learnt AlphaAlpha's id from its reply) and, while it shows what the
  hub's last write left (status, products), records it as an echo that routes nowhere
  (``gateway.identity``). A change someone made at AlphaAlpha afterwards is routed.
- A PO that fails validation is recorded as a rejected message (``Ingest``) and passed over;
  any other error ends the round, logged, and the next round starts from the checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import structlog

from adapters import registry
from core.dates import format_iso_z
from core.errors import InvalidInput
from gateway.settings import secrets

if TYPE_CHECKING:
    from gateway.hub import Hub

log = structlog.get_logger("pohub.poller")


def polled() -> list[str]:
    """Systems read by polling: those whose ``System`` declares ``poll``."""
    return [s.name for s in registry.systems() if s.poll is not None]


HEADERS = {"content-type": "application/json", "x-pohub-poll": "dynamic-search"}
"""What a polled PO object is ingested with (stored on the message, read by no parser)."""


def interval_env(system: str) -> str:
    """``POHUB_POLL_ALPHAALPHA_S``: the variable that turns polling of ``system`` on."""
    return f"POHUB_POLL_{system.upper()}_S"


class PollError(Exception):
    """The search answered with something other than a page of PO objects."""


class DynamicSearchPoller:
    """Reads one system's ``dynamic-search`` for POs changed since the last checkpoint."""

    def __init__(
        self,
        hub: Hub,
        system: str = "alphaalpha",
        transport: httpx.AsyncBaseTransport | None = None,
        interval_s: float = 60.0,
        page_size: int = 100,
    ) -> None:
        self.hub = hub
        self.system = system
        self.transport = transport
        self.interval_s = interval_s
        self.page_size = page_size
        self.checkpoint = f"{system}.poll"
        poll = registry.system(system).poll
        if poll is None:
            raise ValueError(f"{system} declares no poll")
        self.poll = poll
        self._http: httpx.AsyncClient | None = None
        self._stopping = asyncio.Event()

    # one round ----------------------------------------------------------------------------
    async def poll_once(self) -> int:
        """Ingest every PO changed since the checkpoint; returns how many messages are new."""
        saved = await self.hub.store.get_checkpoint(self.checkpoint)
        since = _parse(saved) if saved else None
        changed = await self._changed_since(since)
        changed.reverse()  # oldest first
        stored = 0
        for start in range(0, len(changed), self.page_size):
            chunk = changed[start : start + self.page_size]
            for _, po in chunk:
                stored += await self._ingest(po)
            latest = max((when for when, _ in chunk if when is not None), default=None)
            if latest is not None and (since is None or latest > since):
                since = latest
                await self.hub.store.set_checkpoint(self.checkpoint, format_iso_z(latest))
        if changed:
            log.info("poll.done", system=self.system, read=len(changed), stored=stored,
                     checkpoint=format_iso_z(since) if since else None)  # fmt: skip
        return stored

    async def _changed_since(self, since: datetime | None) -> list[tuple[datetime | None, Any]]:
        """PO objects with ``updated`` at or after ``since``, newest first."""
        found: list[tuple[datetime | None, Any]] = []
        page = 0
        while True:
            read = self.poll.read_page(await self._search(page))
            if read is None:
                raise PollError(f"{self.system}: search page {page} is not a page of POs")
            content, last = read
            for po in content:
                when = self.poll.changed_at(po)
                if since is not None and when is not None and when < since:
                    return found
                found.append((when, po))
            if not content or len(content) < self.page_size or last:
                return found
            page += 1

    async def _search(self, page: int) -> Any:
        request = self.poll.page_request(page, self.page_size)
        response = await self._client().post(self.poll.search_path, content=orjson.dumps(request),
                                              headers={"Content-Type": "application/json"})  # fmt: skip
        if response.status_code >= 400:
            raise PollError(
                f"{self.system}: dynamic-search answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise PollError(f"{self.system}: dynamic-search answered no JSON") from None
        return body

    async def _ingest(self, po: Any) -> int:
        try:
            result = await self.hub.ingest.ingest(self.system, orjson.dumps(po), HEADERS)
        except InvalidInput as exc:  # recorded as rejected by Ingest; do not block the rest
            po_id = po.get("id") if isinstance(po, dict) else None
            log.warning("poll.rejected", system=self.system, po_id=po_id, error=str(exc))
            return 0
        return sum(result.created)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            cfg = self.hub.config.systems[self.system]
            values = secrets.resolve(cfg.auth) if cfg.auth else None
            creds = secrets.credentials(cfg.auth, values)
            self._http = httpx.AsyncClient(
                base_url=(cfg.base_url or "").rstrip("/"),
                headers=creds.headers,
                transport=self.transport,
                timeout=httpx.Timeout(cfg.timeout_s, connect=min(cfg.timeout_s, 5.0)),
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # the loop -----------------------------------------------------------------------------
    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Poll every ``interval_s`` until stopped or cancelled; a failed round is retried."""
        log.info("poll.started", system=self.system, interval_s=self.interval_s)
        try:
            while not self._stopping.is_set():
                try:
                    await self.poll_once()
                except Exception as exc:
                    log.warning("poll.failed", system=self.system, error=str(exc),
                                error_type=type(exc).__name__)  # fmt: skip
                    await self.aclose()  # a fresh connection (and credentials) next round
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.interval_s)
        finally:
            await self.aclose()


def start_pollers(hub: Hub) -> None:
    """Spawn a poller per polled system whose ``base_url`` is set and whose interval variable
    (``POHUB_POLL_ALPHAALPHA_S``) holds a positive number of seconds. Call once the store is
    open (the app's lifespan); the tasks are the hub's, cancelled at shutdown."""
    for system in polled():
        cfg = hub.config.systems.get(system)
        raw = os.environ.get(interval_env(system))
        if cfg is None or not cfg.base_url or not raw:
            continue
        try:
            interval = float(raw)
        except ValueError:
            interval = 0.0
        if interval <= 0:
            log.warning("poll.disabled", system=system, reason=f"{interval_env(system)}={raw!r}")
            continue
        poller = DynamicSearchPoller(hub, system, interval_s=interval)
        hub.spawn(poller.run()).set_name(f"poller-{system}")


def _parse(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
