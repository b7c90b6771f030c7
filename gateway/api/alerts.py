"""``GET /api/v1/alerts``: whether alerts are on, where they go, and the open causes; and
the wiring of the alert runner to a hub (its workers' breakers, its store)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from gateway.alerts import Alerts, ledger
from gateway.api.guards import hub_of, requires
from gateway.api.schemas import AlertsState
from gateway.delivery import circuits
from gateway.settings.config import AlertsConfig


def alerts_for(hub: Any, config: AlertsConfig) -> Alerts:
    """The runner of this process: it sees the breakers of this process's workers."""
    return Alerts(config, hub.store, lambda: circuits.local(hub), name=circuits.process_name())


class AlertsController(Controller):
    path = "/api/v1/alerts"
    guards = [requires("viewer")]
    tags = ["operations"]

    @get("/")
    async def alerts(self, request: Request[Any, Any, Any]) -> AlertsState:
        """Open causes (announced once, until they clear), newest first; channels by kind
        and host only (never a URL, which may be a secret)."""
        hub = hub_of(request)
        config = hub.config.alerts
        channels: list[str] = []
        if config is not None:
            channels = [f"webhook ({w.format})" for w in config.webhooks]
            channels += [f"email ({len(config.email.to)} recipients)"] if config.email else []
        entries = sorted((await ledger.read(hub.store)).values(),
                         key=lambda e: str(e.get("since")), reverse=True)  # fmt: skip
        return {"enabled": config is not None, "causes": config.causes if config else [],
                "channels": channels, "open": [{k: v for k, v in e.items() if k != "by"}
                                               for e in entries]}  # fmt: skip
