"""A worker process killed with SIGKILL mid-delivery loses nothing.

The gateway runs without workers; a ``pohub worker`` process claims a delivery to a slow
target and is killed while the request is in flight. A new worker sweeps the expired lease
and delivers again with the same Idempotency-Key: the simulator, honouring keys for this
test (fault setting ``honour_keys``; no vendor defines the header), sees the effect once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters._sim import Faults
from tests import support
from tests.gateway.harness import Gateway, gateway
from tests.servers import SimulatorServer
from tests.support import ROOT


@pytest.fixture
def gw(sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path, workers=0) as g:
        yield g


def start_worker(gw: Gateway) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "gateway.cli", "worker", "--config", str(gw.config_file),
           "--lease-s", "2"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "POHUB_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(cmd, cwd=gw.config_file.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def test_killed_worker_loses_nothing_and_the_target_sees_it_once(gw: Gateway) -> None:
    leo = gw.sims.sims["leo"]
    leo.faults = Faults.parse({"delay_ms": 1500, "honour_keys": True})
    body = support.sample_paths("uniware")[0].read_bytes()
    headers = {"Content-Type": "application/json", **gw.inbound_headers("uniware")}
    reply = httpx.post(
        f"{gw.url}/inbound/uniware/approvedPurchaseOrder", content=body, headers=headers
    )
    message_id = reply.headers["X-Pohub-Message-Id"]
    worker = start_worker(gw)
    try:
        deadline = time.monotonic() + 60  # a worker process starts in seconds, more when loaded
        while not _in_flight(gw, message_id, "leo"):
            assert time.monotonic() < deadline, "the worker never claimed the leo delivery"
            time.sleep(0.05)
        time.sleep(0.3)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    time.sleep(1.6)  # the killed request still lands at the simulator: at-least-once
    leo.faults = Faults.parse({"honour_keys": True})
    again = start_worker(gw)
    try:
        done = gw.wait(message_id, timeout=30)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(30)
    # every delivery went out, but EnKash's: it waits for EnKash to name the PO (issue 10)
    assert all(d["state"] == "delivered" for d in done["deliveries"] if d["target"] != "enkash")
    effects = [r for r in leo.received if r["json"]["documentNumber"] == "PO0194"]
    assert len(effects) == 1, "the retry after the kill had a second effect"
    assert leo.duplicates >= 1, "the retry did not reuse the Idempotency-Key"


def _in_flight(gw: Gateway, message_id: str, target: str) -> bool:
    with gw.client() as c:
        got = c.get(f"/api/v1/messages/{message_id}").json()
    return any(d["target"] == target and d["state"] == "delivering" for d in got["deliveries"])
