"""The Redis Cluster of ``bench/chaos.py --store redis-cluster`` (not a benchmark itself).

3 primaries with one replica each (AOF on, ``appendfsync everysec``, or ``always`` for
``--durability fsync``; node timeout 1 s). Its
``restart()`` is the chaos step: SIGKILL the primary that owns partition 0 (no fsync, no
goodbye), wait until its replica has been promoted and the cluster serves every slot again,
then start the killed node again on its port and data directory, where it rejoins as the
new primary's replica. Everything the killed primary had not yet sent to its replica is
gone: with ``durability=everysec`` or ``fsync`` acknowledged messages can be among it; with
``replica`` every acknowledged accept was on the replica first.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from bench import _redis_kit as kit
from bench import _setup as s


class ClusterChaos:
    def __init__(self, procs: s.Procs, tmp: Path, durability: str) -> None:
        self.procs, self.durability = procs, durability
        # fsync on a server without WAITAOF needs appendfsync always (the store checks)
        extra = ("--appendfsync", "always") if durability == "fsync" else ()
        self.nodes = kit.make_cluster(procs, tmp, 3, 1, *extra)
        self.what = "a Cluster primary SIGKILLed and its replica promoted"

    @property
    def url(self) -> str:
        ports = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:3])
        return f"redis+cluster://{ports}?durability={self.durability}"

    def _owner_of_partition_0(self) -> kit.Node:
        from redis.crc import key_slot

        slot = key_slot(b"{p0}")
        for node in self.nodes:
            if kit.role(node.port) != "master":
                continue
            for row in kit.cli(node.port, "CLUSTER", "NODES").splitlines():
                if "myself" in row:
                    for part in row.split()[8:]:
                        lo, _, hi = part.partition("-")
                        if lo.isdigit() and int(lo) <= slot <= int(hi or lo):
                            return node
        return self.nodes[0]

    def restart(self) -> None:
        victim = self._owner_of_partition_0()
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        alive = [n.port for n in self.nodes if n is not victim]
        kit.wait_ok(alive, timeout=60)
        time.sleep(1)
        kit.restart(self.procs, victim)
        kit.wait_ok([n.port for n in self.nodes], timeout=60)
