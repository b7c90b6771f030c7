"""Serves the admin page's committed static files and the stats endpoints it draws.

The page is plain HTML, CSS and vanilla JS modules (no build step, no CDN): it signs in
with an API key and calls the operations and mappings APIs like any other client.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException

from gateway.api.guards import hub_of, requires
from gateway.api.schemas import CauseGroup, Throughput
from gateway.store.records import MessageFilter, State

STATIC = Path(__file__).parent / "static"
MEDIA = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}  # fmt: skip
FAILED = frozenset({"retry", "dead"})
SERIES = ("delivered", "failed", "park_events")
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # The page loads only its own files and talks only to this origin; nobody may frame it
    # (clickjacking a replay button) and no inline script can run (an injected one included).
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _file(name: str) -> Response[bytes]:
    if not _NAME.fullmatch(name):  # NUL bytes, separators, dot-dot: never a path
        raise NotFoundException("no such admin file")
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or path.suffix not in MEDIA or not path.is_file():
        raise NotFoundException(f"no admin file {name}")
    return Response(path.read_bytes(), media_type=MEDIA[path.suffix], headers=HEADERS)


class AdminController(Controller):
    """``GET /admin`` (the page) and ``GET /admin/static/<file>``; no key needed to load it."""

    path = "/admin"
    include_in_schema = False

    @get("/")
    async def index(self) -> Response[bytes]:
        return _file("index.html")

    @get("/static/{name:str}")
    async def static(self, name: str) -> Response[bytes]:
        return _file(name)


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """p50 and p99 by nearest rank (a value that was measured, never an interpolation)."""
    ordered = sorted(values)

    def rank(p: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)], 1)

    return {"p50": rank(0.50), "p99": rank(0.99), "count": len(ordered)}


class StatsController(Controller):
    path = "/api/v1/stats"
    guards = [requires("viewer")]
    tags = ["operations"]

    @get("/throughput")
    async def throughput(self, request: Request[Any, Any, Any], minutes: int = 60) -> Throughput:
        """Attempts per target per minute, oldest first: ``delivered``, ``failed`` (retry or
        dead) and ``park_events`` (attempts that parked a delivery: one delivery parked
        twice counts twice; how many are parked now is ``/api/v1/targets``' backlog). Per
        target, ``latency_ms``: p50 and p99 of the delivered attempts' send-to-reply time.

        Counted from the attempts of messages received in the window (fine for now).
        """
        minutes = min(max(minutes, 1), 24 * 60)
        end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        since = end - timedelta(minutes=minutes)
        series: dict[str, dict[str, Any]] = {}
        latencies: dict[str, list[float]] = defaultdict(list)
        async for delivery in hub_of(request).store.deliveries(MessageFilter(since=since)):
            for attempt in delivery.attempts:
                at = attempt.at if attempt.at.tzinfo else attempt.at.replace(tzinfo=UTC)
                slot = int((at - since).total_seconds() // 60)
                if not 0 <= slot < minutes:
                    continue
                counts = series.setdefault(attempt.target, {k: [0] * minutes for k in SERIES})
                if attempt.outcome == "delivered":
                    counts["delivered"][slot] += 1
                    if attempt.latency_ms is not None:
                        latencies[attempt.target].append(attempt.latency_ms)
                elif attempt.outcome in FAILED:
                    counts["failed"][slot] += 1
                elif attempt.outcome == "parked":
                    counts["park_events"][slot] += 1
        for target, counts in series.items():
            counts["latency_ms"] = percentiles(latencies[target])
        return Throughput(minutes=minutes, since=since.isoformat(),
                          buckets=[(since + timedelta(minutes=i)).isoformat()
                                   for i in range(minutes)],
                          targets=dict(sorted(series.items())))  # fmt: skip

    @get("/causes")
    async def causes(
        self, request: Request[Any, Any, Any], status: Literal["dead", "parked"] = "dead"
    ) -> list[CauseGroup]:
        """Dead or parked deliveries grouped by target and reason, largest group first."""
        groups: dict[tuple[str, str], int] = defaultdict(int)
        flt = MessageFilter(status=State(status))
        async for delivery in hub_of(request).store.deliveries(flt):
            groups[(delivery.target, delivery.reason or "(no reason recorded)")] += 1
        rows = [CauseGroup(target=t, cause=c, count=n) for (t, c), n in groups.items()]
        return sorted(rows, key=lambda r: (-r["count"], r["target"], r["cause"]))

    @get("/counts")
    async def counts(self, request: Request[Any, Any, Any]) -> dict[str, int]:
        """Live deliveries per state plus rejected messages."""
        found: dict[str, int] = await hub_of(request).store.counts()
        return found
