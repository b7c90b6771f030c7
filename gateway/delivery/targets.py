"""Per-target delivery guards: concurrency, rate limit and circuit breaker.

The breaker stops hammering a target that keeps failing: after ``threshold`` failures in a
row it opens for ``cool_off_s``; then one probe is let through (half-open), and a success
closes it. Its state is shown in ``/api/v1/targets`` and the ``pohub_circuit_open`` gauge.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.observe import metrics


@dataclass
class Breaker:
    target: str
    threshold: int = 5
    cool_off_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self._cooled() else "open"

    def _cooled(self) -> bool:
        return self.opened_at is not None and time.monotonic() - self.opened_at >= self.cool_off_s

    def allow(self) -> bool:
        """May a request go now? In half-open, exactly one probe at a time."""
        if self.opened_at is None:
            return True
        if self._cooled() and not self.probing:
            self.probing = True
            return True
        return False

    def reopens_in(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.cool_off_s - (time.monotonic() - self.opened_at)) + 0.05

    def success(self) -> None:
        self.failures, self.opened_at, self.probing = 0, None, False
        metrics.CIRCUIT_OPEN.labels(self.target).set(0)

    def failure(self) -> None:
        self.failures += 1
        self.probing = False
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()
            metrics.CIRCUIT_OPEN.labels(self.target).set(1)


SEVERITY = {"closed": 0, "half-open": 1, "open": 2}


def worst(breakers: Iterable[Breaker]) -> dict[str, Breaker]:
    """Per target, the breaker in the worst state: each worker of a process has its own."""
    out: dict[str, Breaker] = {}
    for breaker in breakers:
        seen = out.get(breaker.target)
        if seen is None or SEVERITY[breaker.state] > SEVERITY[seen.state]:
            out[breaker.target] = breaker
    return out


@dataclass
class RateLimit:
    """A token bucket; ``None`` rate means unlimited."""

    rate_per_s: float | None
    tokens: float = 1.0
    updated: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def wait(self) -> None:
        if self.rate_per_s is None:
            return
        async with self.lock:
            while True:
                now = time.monotonic()
                self.tokens = min(
                    max(1.0, self.rate_per_s), self.tokens + (now - self.updated) * self.rate_per_s
                )
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate_per_s)
