"""The running hub: config, store, mappings, ingest, auth and workers, built once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters import registry
from gateway.api.auth import ApiKeys, FailedAuth, InboundGuard, KeyRateLimits
from gateway.delivery.worker import Worker
from gateway.intake.ingest import Ingest
from gateway.mappings.files import mappings_dir
from gateway.mappings.live import LiveMappings
from gateway.settings.config import Config, config_path, load_config
from gateway.store.base import Store


@dataclass
class Hub:
    config: Config
    store: Store
    mappings: LiveMappings
    ingest: Ingest
    guard: InboundGuard
    keys: ApiKeys
    mappings_path: Path | None = None
    key_limits: KeyRateLimits = field(default_factory=lambda: KeyRateLimits(100.0, 300))
    failed_auth: FailedAuth = field(default_factory=FailedAuth)
    workers: list[Worker] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def build(cls, config_file: str | None = None, config: Config | None = None,
              store_url: str | None = None) -> Hub:  # fmt: skip
        file = config_path(config_file)
        config = config or load_config(config_file, registry.system_ids())
        import os

        url = store_url or os.environ.get("POHUB_STORE") or config.store
        store = Store.from_url(url)
        directory = mappings_dir(file, config.mappings_dir)
        mappings = LiveMappings.load(directory)
        routes: dict[str, list[str]] = {r.from_: [] for r in config.routes}
        for r in config.routes:
            routes[r.from_] += [t for t in r.to if t not in routes[r.from_]]
        ingest = Ingest(store, mappings, routes, config.secret_headers())
        hub = cls(config, store, mappings, ingest, InboundGuard(config), ApiKeys(config), directory)
        hub.key_limits = KeyRateLimits(config.api_key_rate_per_s, config.api_key_burst)
        hub.failed_auth = FailedAuth(
            config.auth_fail_limit, config.auth_fail_window_s, config.auth_fail_max_clients
        )
        return hub

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task
