"""When to try again: the target's schedule, jitter, ``Retry-After`` and a maximum age."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from gateway.settings.config import RetryConfig


def next_attempt_at(
    retry: RetryConfig,
    failures: int,
    now: datetime,
    first_at: datetime,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """The due time of the next try after ``failures`` failed ones; None when too old.

    Jitter of up to 10 % spreads a burst of retries; ``Retry-After`` is a floor.
    """
    schedule = retry.schedule or [0.0]
    delay = schedule[min(failures - 1, len(schedule) - 1)] if failures > 0 else 0.0
    delay *= 1 + (rng or random).uniform(0, 0.1)
    if retry_after is not None:
        delay = max(delay, retry_after)
    due = now + timedelta(seconds=delay)
    if (due - first_at).total_seconds() > retry.max_age_s:
        return None
    return due
