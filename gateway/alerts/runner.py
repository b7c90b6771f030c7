"""Evaluate causes on a timer and send what is new, from a bounded queue.

Nothing here can grow without bound or hold the event loop: an evaluation reads at most
``causes.SCAN_MAX`` dead and parked deliveries, announces at most ``PER_EVALUATION`` causes
one by one (the rest in one summary alert), the queue holds ``QUEUE_MAX`` alerts (past it
an alert is dropped and logged), and each sending is bounded by its channel's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import structlog

from gateway.alerts import causes, ledger, payload
from gateway.alerts.channels import Channel, Email, Webhook
from gateway.delivery.targets import Breaker
from gateway.observe import metrics
from gateway.settings.config import AlertsConfig
from gateway.store.base import Store

log = structlog.get_logger("pohub.alerts")
QUEUE_MAX = 100
PER_EVALUATION = 20
SEND_TIMEOUT_S = 60.0
"""A sending that takes longer (a stuck SMTP server past its own timeouts) is given up."""


class Alerts:
    def __init__(
        self, config: AlertsConfig, store: Store, breakers: Callable[[], dict[str, Breaker]],
        *, name: str, env: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:  # fmt: skip
        self.config, self.store, self.breakers, self.name = config, store, breakers, name
        env = os.environ if env is None else env
        self.client = httpx.AsyncClient(transport=transport, follow_redirects=False)
        self.channels: list[Channel] = [Webhook(w, env, self.client) for w in config.webhooks]
        if config.email is not None:
            self.channels.append(Email(config.email, env))
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_MAX)

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop())
        try:
            while True:
                try:
                    await self.evaluate()
                except Exception as exc:  # the store is down: try again next time
                    log.warning("alerts.evaluate_failed", error=str(exc))
                await asyncio.sleep(self.config.interval_s)
        finally:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            await self.client.aclose()

    async def evaluate(self) -> list[causes.Cause]:
        """Look for causes now, record them, queue alerts for the new ones; returns those."""
        found = causes.Found()
        wanted = set(self.config.causes)
        for kind in ("dead", "parked"):
            if kind in wanted:
                await causes.grouped(self.store, kind, found)
        if "circuit" in wanted:
            causes.circuits(self.breakers(), found)
        if "backlog" in wanted:
            causes.backlogs(await self.store.backlog(), self.config.backlog_age_s, found)
        fresh, cleared = await ledger.settle(self.store, found, self.name)
        for key in cleared:
            log.info("alerts.cleared", cause=key)
        for cause in fresh[:PER_EVALUATION]:
            self._queue(payload.alert(cause, self.config.admin_url))
        if len(fresh) > PER_EVALUATION:
            more = len(fresh) - PER_EVALUATION
            rest = causes.Cause("more", "more", "several targets",
                                f"{more} more new causes; see the Dead & parked page")  # fmt: skip
            self._queue(payload.alert(rest, self.config.admin_url))
        return fresh

    def _queue(self, item: dict[str, Any]) -> None:
        log.info("alerts.raised", cause=item["data"]["key"], kind=item["data"]["kind"],
                 target=item["data"]["target"])  # fmt: skip
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            metrics.ALERTS.labels("any", "dropped").inc()
            log.error("alerts.dropped", cause=item["data"]["key"], queued=QUEUE_MAX)

    async def _send_loop(self) -> None:
        while True:
            item = await self.queue.get()
            await self.send(item)

    async def send(self, item: dict[str, Any]) -> None:
        """To every channel; one failing does not keep the alert from the others."""
        for channel in self.channels:
            try:
                await asyncio.wait_for(channel.send(item), SEND_TIMEOUT_S)
                log.info("alerts.sent", channel=channel.name, cause=item["data"]["key"])
                metrics.ALERTS.labels(channel.kind, "sent").inc()
            except Exception as exc:
                metrics.ALERTS.labels(channel.kind, "failed").inc()
                status = (
                    exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None
                )
                log.warning("alerts.send_failed", channel=channel.name, cause=item["data"]["key"],
                            error=type(exc).__name__, status=status)  # fmt: skip
