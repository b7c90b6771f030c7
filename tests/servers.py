"""Real servers on loopback for tests: the simulators in a uvicorn thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from adapters._sim import Simulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class SimulatorServer:
    url: str
    sims: dict[str, Simulator]

    def base_url(self, system: str) -> str:
        return f"{self.url}/{system}"


def client_for(server: SimulatorServer, system: str, transport: Any = None, **kw: Any) -> Any:
    """The system's real client pointed at its simulator, signed in as config.yaml says."""
    from adapters import registry
    from gateway.settings import secrets
    from gateway.settings.config import load_config
    from tests.support import ROOT

    config = load_config(str(ROOT / "config.yaml"), registry.system_ids())
    auth = config.systems[system].auth
    creds = secrets.credentials(auth, server.sims[system].secrets)
    client = registry.system(system).client
    assert client is not None, f"{system} declares no client"
    return client(server.base_url(system), creds, transport=transport, **kw)
