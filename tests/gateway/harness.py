"""A real gateway on loopback, delivering to the real simulators, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from adapters import registry
from gateway.api.auth import inbound_headers
from gateway.app import create_app
from gateway.hub import Hub
from gateway.settings import secrets
from gateway.settings.config import Config, RetryConfig, load_config
from tests.servers import SimulatorServer, serve
from tests.support import ROOT

KEYS = {"admin": "adm-key-123", "operator": "op-key-456", "viewer": "view-key-789"}
FAST_RETRY = RetryConfig(schedule=[0.05, 0.1, 0.2, 0.4, 0.8, 1.0], max_age_s=120)


@dataclass
class Gateway:
    url: str
    hub: Hub
    sims: SimulatorServer
    mappings: Path
    config_file: Path

    def client(self, role: str = "admin") -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10,
                            headers={"Authorization": f"Bearer {KEYS[role]}"})  # fmt: skip

    def inbound_headers(self, system: str) -> dict[str, str]:
        """What the system would send: its inbound credentials as config names them."""
        cfg = self.hub.config.systems.get(system)
        auth = cfg.inbound_auth if cfg else None
        if auth is None:  # e.g. the canonical API: an operator key
            return {"Authorization": f"Bearer {KEYS['operator']}"}
        return inbound_headers(auth, os.environ)

    def wait(
        self, message_id: str, states: tuple[str, ...] = ("delivered",), timeout: float = 20,
        target: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Poll until the message (or its delivery to ``target``) is in one of ``states``.

        Waiting for a whole message to be delivered counts a delivery that waits for a
        target's own id (EnKash parks a PO it has not named yet: "identity missing"), and
        those queued behind it for the same PO, as settled: everything that can go out went.
        """
        deadline = time.monotonic() + timeout
        with self.client() as c:
            while True:
                got = c.get(f"/api/v1/messages/{message_id}").json()
                if target is None and got["state"] in states:
                    return got
                if target is None and states == ("delivered",) and _settled(got):
                    return got
                if target is not None and any(
                    d["target"] == target and d["state"] in states for d in got["deliveries"]
                ):
                    return got
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"message {message_id} is {got['state']}: {got['deliveries']}"
                    )
                time.sleep(0.05)


def _settled(message: dict[str, Any]) -> bool:
    waiting = {
        d["target"]
        for d in message["deliveries"]
        if d["state"] == "parked" and (d["reason"] or "").startswith("identity missing")
    }
    return bool(waiting) and all(
        d["state"] == "delivered" or d["target"] in waiting for d in message["deliveries"]
    )


def _env_for(config: Config, sims: SimulatorServer) -> dict[str, str]:
    env: dict[str, str] = {}
    for system, cfg in config.systems.items():
        if cfg.auth is not None and system in sims.sims:
            names = secrets.auth_env_names(cfg.auth)
            env.update({names[k]: v for k, v in sims.sims[system].secrets.items()})
        inbound = cfg.inbound_auth
        if inbound is not None and inbound.basic is not None:
            env[inbound.basic.username_env] = f"{system}-user"
            env[inbound.basic.password_env] = f"{system}-inbound-pass"
        elif inbound is not None and inbound.token_env:
            env[inbound.token_env] = f"{system}-inbound-token"
    for key in config.api_keys:
        env[key.key_env] = KEYS[key.name]
    return env


def store_url_for(request: Any, tag: str) -> str | None:
    """The store a parametrised ``gw`` fixture runs on: None (the embedded SQLite store) or
    the module's Redis under a key prefix of its own, so tests sharing a server never meet."""
    if request.param != "redis":
        return None
    base = str(request.getfixturevalue("redis_url")).rsplit("/", 1)[0]
    return f"{base}/0?prefix={tag}{abs(hash(request.node.name)) % 10**8}"


@contextmanager
def gateway(
    sims: SimulatorServer, tmp: Path, store_url: str | None = None, workers: int = 1
) -> Iterator[Gateway]:
    for simulator in sims.sims.values():  # a new gateway starts with new simulators: no
        simulator.restart()  # faults or business state left by an earlier test
    base = load_config(str(ROOT / "config.yaml"), registry.system_ids())
    systems = {
        name: cfg.model_copy(
            update={"base_url": sims.base_url(name), "retry": FAST_RETRY, "timeout_s": 3}
        )
        for name, cfg in base.systems.items()
    }
    # every test signs in from 127.0.0.1, many with wrong keys on purpose: the failed sign-in
    # throttle is loosened here, and tests/abuse/test_auth_throttle.py sets a strict one
    config = base.model_copy(update={"systems": systems, "store": store_url or f"sqlite:///{tmp}/pohub.db",
                                     "mappings_dir": "mappings", "auth_fail_limit": 1_000_000})  # fmt: skip
    shutil.copytree(ROOT / "mappings", tmp / "mappings", dirs_exist_ok=True)
    import yaml

    dumped = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    (tmp / "config.yaml").write_text(yaml.safe_dump(dumped))
    saved = dict(os.environ)
    os.environ.update(_env_for(config, sims))
    try:
        hub = Hub.build(str(tmp / "config.yaml"), config=config, store_url=config.store)
        app = create_app(hub, workers=workers)
        with serve(app) as url:
            g = Gateway(url, hub, sims, tmp / "mappings", tmp / "config.yaml")
            g.hub_app = app  # type: ignore[attr-defined]
            yield g
    finally:
        os.environ.clear()
        os.environ.update(saved)
