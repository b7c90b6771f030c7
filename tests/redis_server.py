"""Real redis-servers for tests, on free loopback ports, with AOF on (as production expects):
one server, or a Redis Cluster of 3 primaries (with replicas for the failover test)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from tests.servers import free_port


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not on PATH (CI must install it: .ci/run)")
        pytest.skip("redis-server is not installed")
    return found


@contextmanager
def redis_server(*extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes], int, str]]:
    """Yields (url, process, port, data dir); restartable by the caller with ``start``.
    ``extra``: more redis-server options (``--appendfsync always``, ``--replicaof ...``)."""
    binary = redis_binary()
    port = free_port()
    data = tempfile.mkdtemp(prefix="pohub-redis-")
    proc = start(binary, port, data, *extra)
    try:
        yield f"redis://127.0.0.1:{port}/0", proc, port, data
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)


def start(binary: str, port: int, data: str, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", data,
           "--appendonly", "yes", "--save", "", "--protected-mode", "yes",
           "--repl-diskless-sync-delay", "0", *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def redis_cli() -> str:
    found = shutil.which("redis-cli")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("redis-cli is not on PATH (CI installs redis-server, which brings it)")
        pytest.skip("redis-cli is not installed")
    return found


@dataclass
class ClusterNode:
    port: int
    bus: int
    data: str
    proc: subprocess.Popen[bytes]


@dataclass
class Cluster:
    url: str
    nodes: list[ClusterNode] = field(default_factory=list)

    def primaries(self) -> list[ClusterNode]:
        return [n for n in self.nodes if _role(n.port) == "master"]


def _cli(port: int, *command: str) -> str:
    cmd = [redis_cli(), "-p", str(port), *command]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False).stdout


def _role(port: int) -> str:
    return _cli(port, "ROLE").split("\n", 1)[0].strip()


def start_cluster_node(binary: str, port: int, bus: int, data: str, *extra: str,
                       node_timeout_ms: int = 5000) -> subprocess.Popen[bytes]:  # fmt: skip
    """One cluster node; ``cluster-port`` chosen too (port + 10000 may not be free). The
    node timeout is long by default, so a stall of this busy machine never marks a node
    failed; the failover test asks for a short one."""
    return start(binary, port, data, "--cluster-enabled", "yes", "--cluster-port", str(bus),
                 "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
                 str(node_timeout_ms), *extra)  # fmt: skip


@contextmanager
def redis_cluster(replicas: int = 0, *extra: str, node_timeout_ms: int = 5000) -> Iterator[Cluster]:
    """3 primaries (and ``replicas`` replicas each) on loopback free ports, AOF on, made a
    cluster by ``redis-cli --cluster create``; yields ``redis+cluster://`` of the first."""
    binary, cli = redis_binary(), redis_cli()
    cluster = Cluster(url="")
    try:
        for _ in range(3 * (1 + replicas)):
            port, bus = free_port(), free_port()
            data = tempfile.mkdtemp(prefix="pohub-cluster-")
            proc = start_cluster_node(binary, port, bus, data, *extra,
                                      node_timeout_ms=node_timeout_ms)  # fmt: skip
            cluster.nodes.append(ClusterNode(port, bus, data, proc))
        addresses = [f"127.0.0.1:{n.port}" for n in cluster.nodes]
        subprocess.run([cli, "--cluster", "create", *addresses, "--cluster-replicas",
                        str(replicas), "--cluster-yes"], check=True, capture_output=True,
                       timeout=60)  # fmt: skip
        wait_cluster_ok([n.port for n in cluster.nodes])
        cluster.url = f"redis+cluster://127.0.0.1:{cluster.nodes[0].port}"
        yield cluster
    finally:
        for node in cluster.nodes:
            if node.proc.poll() is None:
                node.proc.terminate()
        for node in cluster.nodes:
            node.proc.wait(10)
            shutil.rmtree(node.data, ignore_errors=True)


def wait_cluster_ok(ports: list[int], timeout: float = 30) -> None:
    """Until every node says ``cluster_state:ok`` and agrees on the slots (no deadline in a
    test assertion: this only bounds how long a broken set-up may hang)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [_cli(p, "CLUSTER", "INFO") for p in ports]
        if all("cluster_state:ok" in s and "cluster_slots_assigned:16384" in s for s in states):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the cluster did not come up: {states}")
