"""Redis set-ups for the Redis benchmarks (not a benchmark itself): one server with a chosen
persistence, a primary with a replica, and a Redis Cluster of 1..n primaries (``redis-cli
--cluster create`` wants 3 or more, so slots are assigned and nodes met by hand) with
optional replicas; CPU and command counts read from ``/proc`` and ``INFO``."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench import _setup as s


@dataclass
class Node:
    port: int
    bus: int
    dir: Path
    proc: subprocess.Popen[bytes]
    name: str
    cmd: list[str]

    @property
    def pid(self) -> int:
        return self.proc.pid


def cli(port: int, *args: str) -> str:
    cmd = ["redis-cli", "-p", str(port), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False).stdout


def server(procs: s.Procs, tmp: Path, *extra: str, cluster: bool = False) -> Node:
    """redis-server on free ports, AOF on (``everysec``) unless ``extra`` says otherwise."""
    port, bus = s.free_port(), s.free_port()
    data = tmp / f"redis-{port}"
    data.mkdir(parents=True)
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
           "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
           "--maxmemory-policy", "noeviction", "--repl-diskless-sync-delay", "0"]  # fmt: skip
    if cluster:
        cmd += ["--cluster-enabled", "yes", "--cluster-port", str(bus),
                "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"]  # fmt: skip
    cmd += list(extra)
    name = f"redis-{port}"
    proc = procs.start(name, cmd, cpu=s.OTHER_CPU)
    s.wait_port(port, proc)
    return Node(port, bus, data, proc, name, cmd)


def restart(procs: s.Procs, node: Node) -> None:
    """The node again, same port and data directory (a cluster node rejoins by nodes.conf)."""
    if node.proc in procs.running:
        procs.running.remove(node.proc)
    node.proc = procs.start(node.name, node.cmd, cpu=s.OTHER_CPU)
    s.wait_port(node.port, node.proc)


def make_cluster(procs: s.Procs, tmp: Path, primaries: int, replicas: int = 0,
                 *extra: str) -> list[Node]:  # fmt: skip
    """``primaries`` nodes sharing the 16384 slots, each with ``replicas`` replicas; returns
    primaries first."""
    nodes = [server(procs, tmp, *extra, cluster=True) for _ in range(primaries * (1 + replicas))]
    heads = nodes[:primaries]
    for i, node in enumerate(heads):
        lo, hi = i * 16384 // primaries, (i + 1) * 16384 // primaries - 1
        cli(node.port, "CLUSTER", "ADDSLOTSRANGE", str(lo), str(hi))
        cli(node.port, "CLUSTER", "SET-CONFIG-EPOCH", str(i + 1))
    for node in nodes[1:]:
        cli(node.port, "CLUSTER", "MEET", "127.0.0.1", str(nodes[0].port), str(nodes[0].bus))
    wait_ok([n.port for n in nodes])
    for j, node in enumerate(nodes[primaries:]):
        head = heads[j % primaries]
        node_id = cli(head.port, "CLUSTER", "MYID").strip()
        _until(lambda n=node, i=node_id: i in cli(n.port, "CLUSTER", "NODES"))
        cli(node.port, "CLUSTER", "REPLICATE", node_id)
    for head in heads:
        _until(lambda h=head: _replicas(h.port) >= replicas)
    wait_ok([n.port for n in nodes])
    return nodes


def _replicas(port: int) -> int:
    info = cli(port, "INFO", "replication")
    for line in info.splitlines():
        if line.startswith("connected_slaves:"):
            return int(line.split(":")[1])
    return 0


def _until(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise RuntimeError("Redis set-up did not settle")


def wait_ok(ports: list[int], timeout: float = 30.0) -> None:
    def ok() -> bool:
        infos = [cli(p, "CLUSTER", "INFO") for p in ports]
        return all("cluster_state:ok" in i and "slots_assigned:16384" in i for i in infos)

    _until(ok, timeout)


def role(port: int) -> str:
    return cli(port, "ROLE").split("\n", 1)[0].strip()


def commands(port: int) -> int:
    """Every command the server ran (those inside scripts included), from INFO commandstats."""
    total = 0
    for line in cli(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            total += int(line.split("calls=")[1].split(",")[0])
    return total


def scripts(port: int) -> tuple[int, int]:
    """(EVALSHA calls, µs Redis spent running them) from INFO commandstats: the scripts'
    own execution time as Redis measures it, without reading requests and writing replies."""
    for line in cli(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_evalsha:"):
            calls = int(line.split("calls=")[1].split(",")[0])
            usec = int(line.split("usec=")[1].split(",")[0])
            return calls, usec
    return 0, 0
