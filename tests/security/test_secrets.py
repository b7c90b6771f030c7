"""Known secrets are planted in the environment; none may show up anywhere a person looks.

A real ``pohub serve`` process (its stderr captured) takes good, bad and badly signed
pushes and delivers to the simulators, one target with wrong credentials. Then its logs,
the message records, the error replies and the metrics are searched for every secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from gateway.settings import secrets
from tests import support
from tests.gateway.harness import KEYS, gateway
from tests.servers import SimulatorServer, free_port
from tests.support import ROOT


def test_secrets_never_leak(sim: SimulatorServer, tmp_path: Path) -> None:
    with gateway(sim, tmp_path, workers=0) as gw:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "POHUB_LOG_LEVEL": "DEBUG"}
        auth = gw.hub.config.systems["leo"].auth
        assert auth is not None
        env[secrets.auth_env_names(auth)["token"]] = "WRONG-OUTBOUND-SECRET-777"
        planted = {
            v for k, v in env.items() if k.endswith(("_TOKEN", "_PASSWORD", "_KEY")) and len(v) > 6
        }
        planted |= set(KEYS.values())
        port = free_port()
        log_file = tmp_path / "serve.log"
        with log_file.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--config", str(gw.config_file), "--port", str(port)],
                cwd=tmp_path, env=env, stdout=sink, stderr=sink,
            )  # fmt: skip
            try:
                url = f"http://127.0.0.1:{port}"
                _wait_up(url)
                replies = _pushes(url, gw.inbound_headers("uniware"))
                time.sleep(3)
                admin = {"Authorization": f"Bearer {KEYS['admin']}"}
                records = httpx.get(f"{url}/api/v1/messages?limit=500", headers=admin).text
                metrics = httpx.get(f"{url}/metrics").text
            finally:
                proc.terminate()
                proc.wait(30)
        logs = log_file.read_text()
        assert "auth failure" in records, "the wrong leo credentials were not exercised"
        for secret in planted:
            for name, text in (
                ("logs", logs),
                ("records", records),
                ("metrics", metrics),
                ("replies", replies),
            ):
                assert secret not in text, f"a planted secret appears in the {name}"


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("pohub serve did not start")


def _pushes(url: str, good_auth: dict[str, str]) -> str:
    body = support.sample_paths("uniware")[0].read_bytes()
    bad = orjson.loads(body)
    del bad["code"]
    path = f"{url}/inbound/uniware/approvedPurchaseOrder"
    json_type = {"Content-Type": "application/json"}
    out = [
        httpx.post(path, content=body, headers={**json_type, **good_auth}),
        httpx.post(path, content=orjson.dumps(bad), headers={**json_type, **good_auth}),
        httpx.post(path, content=body, headers={**json_type, "Authorization": "guess"}),
        httpx.get(f"{url}/api/v1/messages", headers={"Authorization": "Bearer guess"}),
    ]
    return "\n".join(f"{r.status_code} {r.headers} {r.text}" for r in out)
