"""The Redis store past one Redis: the cost of each ``durability`` setting, and delivered/s,
Redis CPU and commands per delivery on a Cluster of 1, 2 and 3 primaries.

Both drive the store API directly (no HTTP, no targets): what is measured is the store.

``--durability``: for each setting a fresh Redis set-up (``none``: AOF off, the baseline;
``everysec``: AOF on; ``fsync``: ``appendfsync always`` (this server has no WAITAOF);
``replica``: a primary and one replica, ``WAIT 1`` per accept), all running at once and
measured in ``--rounds`` interleaved rounds: ``--concurrency`` coroutines ingesting new POs
(accepts/s, the primary's CPU per accept), then one at a time (ms per accept: what a sender
waits). Medians.

``--scale``: for 1, 2 and 3 primaries (a Cluster, 16 partitions, AOF everysec), ``--procs``
processes each run ingesters and claim/finish loops for ``--seconds``: a delivery is one
ingest (GET + accept script), its share of a claim and one finish. Prints delivered/s,
client CPU per delivery, Redis CPU per delivery (all primaries, their idle upkeep measured
for 3 s before and subtracted), commands per delivery (as
Redis counts them: the scripts' inner calls included), the µs Redis spent executing scripts
per delivery (INFO commandstats: its own timing, without request/reply I/O) and ops/s
per primary. On this 2-core
machine the Python clients saturate the cores long before Redis does: read the per-delivery
costs, not the totals (docs/redis.md turns them into a sizing model).

    uv run python bench/redis_scale.py --durability [--seconds 10] [--concurrency 64]
    uv run python bench/redis_scale.py --scale [--seconds 10] [--procs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _redis_kit as kit
from bench import _setup as s

IDLE_S = 3.0


def _message(po: str) -> Any:
    from gateway.store.records import Message

    return Message(id=uuid.uuid4().hex, system="uniware", po_number=po, dedup_key=f"k:{po}",
                   body='{"code": "' + po + '"}')  # fmt: skip


def _change(po: str) -> Any:
    from core.model import PurchaseOrder

    return lambda _state: PurchaseOrder(po_number=po)


async def _load(url: str, seconds: float, concurrency: int, deliver: bool) -> dict[str, float]:
    """Ingest new POs (and, with ``deliver``, claim and finish them) for ``seconds``."""
    import logging

    import structlog

    from gateway.store.records import State
    from gateway.store.redis import RedisStore

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    store = RedisStore(url)
    await store.open()
    tag = uuid.uuid4().hex[:8]
    counts = {"accepted": 0.0, "delivered": 0.0, "errors": 0.0}
    stop = time.monotonic() + seconds

    async def ingest(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            po = f"PO-{tag}-{i}-{n}"
            n += 1
            try:
                await store.ingest(_message(po), ["leo"], _change(po), False)
                counts["accepted"] += 1
            except Exception:
                counts["errors"] += 1

    async def work(i: int) -> None:
        while time.monotonic() < stop:
            claimed = await store.claim(f"w{tag}{i}", 16, 60)
            for delivery, _ in claimed:
                await store.finish(delivery.id, None, State.DELIVERED)
                counts["delivered"] += 1
            if not claimed:
                await asyncio.sleep(0.005)

    cpu0 = time.process_time()
    tasks = [ingest(i) for i in range(concurrency)]
    if deliver:
        tasks += [work(i) for i in range(max(1, concurrency // 4))]
    await asyncio.gather(*tasks)
    counts["cpu"] = time.process_time() - cpu0
    await store.close()
    return counts


def _proc(args: tuple[str, float, int, bool]) -> dict[str, float]:
    return asyncio.run(_load(*args))


def durability(args: argparse.Namespace) -> None:
    """All four set-ups side by side, measured in interleaved rounds (each setting for
    ``seconds / rounds`` per round, medians reported), so load from other processes on a
    shared machine falls on every setting alike."""
    setups: list[tuple[str, list[str], bool]] = [
        ("none", ["--appendonly", "no"], False),
        ("everysec", [], False),
        ("fsync", ["--appendfsync", "always"], False),
        ("replica", [], True),
    ]
    rates: dict[str, list[float]] = {name: [] for name, _, _ in setups}
    lat: dict[str, list[float]] = {name: [] for name, _, _ in setups}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in setups}
    with tempfile.TemporaryDirectory() as tmp, s.Procs(Path(tmp)) as procs:
        servers = {}
        for name, extra, with_replica in setups:
            primary = kit.server(procs, Path(tmp), *extra)
            if with_replica:
                kit.server(procs, Path(tmp), "--replicaof", "127.0.0.1", str(primary.port))
                kit._until(lambda p=primary.port: kit._replicas(p) >= 1)
            servers[name] = primary
        share = args.seconds / args.rounds
        for _ in range(args.rounds):
            for name, primary in servers.items():
                url = f"redis://127.0.0.1:{primary.port}/0?durability={name}"
                cpu0 = s.cpu_seconds(primary.pid)
                got = _proc((url, share, args.concurrency, False))
                used = s.cpu_seconds(primary.pid) - cpu0
                rates[name].append(got["accepted"] / share)
                cpu[name].append(used * 1e6 / max(got["accepted"], 1))
                one = _proc((url, min(share, 2.0), 1, False))  # one at a time: latency
                lat[name].append(min(share, 2.0) * 1000 / max(one["accepted"], 1))
    print(f"{'durability':<10} {'accepts/s':>10} {'vs none':>8} {'ms per accept (1 client)':>25}"
          f" {'primary CPU µs/accept':>22}")  # fmt: skip
    base = statistics.median(rates["none"])
    for name in rates:
        rate = statistics.median(rates[name])
        print(f"{name:<10} {rate:>10.0f} {rate / base:>8.2f} {statistics.median(lat[name]):>25.2f}"
              f" {statistics.median(cpu[name]):>22.0f}")  # fmt: skip


def scale(args: argparse.Namespace) -> None:
    print(f"{'primaries':>9} {'delivered/s':>11} {'client CPU µs/dlv':>18}"
          f" {'Redis CPU µs/dlv':>17} {'script µs/dlv':>14} {'cmds/dlv':>9} {'scripts/dlv':>11}"
          f" {'ops/s per primary':>18}")  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    for primaries in (1, 2, 3):
        with tempfile.TemporaryDirectory() as tmp, s.Procs(Path(tmp)) as procs:
            nodes = kit.make_cluster(procs, Path(tmp), primaries)
            url = f"redis+cluster://127.0.0.1:{nodes[0].port}"
            idle0 = [s.cpu_seconds(n.pid) for n in nodes]
            time.sleep(IDLE_S)  # each node's own upkeep (cron, cluster bus, AOF), subtracted
            idle = sum(s.cpu_seconds(n.pid) - c for n, c in zip(nodes, idle0, strict=True))
            cpu0 = [s.cpu_seconds(n.pid) for n in nodes]
            cmd0 = [kit.commands(n.port) for n in nodes]
            ev0 = [kit.scripts(n.port) for n in nodes]
            job = (url, args.seconds, args.concurrency, True)
            with ctx.Pool(args.procs) as pool:
                results = pool.map(_proc, [job] * args.procs)
            cpu = sum(s.cpu_seconds(n.pid) - c for n, c in zip(nodes, cpu0, strict=True))
            cpu = max(0.0, cpu - idle * args.seconds / IDLE_S)
            cmds = [kit.commands(n.port) - c for n, c in zip(nodes, cmd0, strict=True)]
            ev1 = [kit.scripts(n.port) for n in nodes]
            evs = sum(b[0] - a[0] for a, b in zip(ev0, ev1, strict=True))
            exec_us = sum(b[1] - a[1] for a, b in zip(ev0, ev1, strict=True))
        delivered = sum(r["delivered"] for r in results)
        client = sum(r["cpu"] for r in results)
        d = max(delivered, 1)
        per_primary = "/".join(f"{c / args.seconds:.0f}" for c in cmds)
        print(f"{primaries:>9} {delivered / args.seconds:>11.0f} {client * 1e6 / d:>18.0f}"
              f" {cpu * 1e6 / d:>17.0f} {exec_us / d:>14.0f} {sum(cmds) / d:>9.1f} {evs / d:>11.1f}"
              f" {per_primary:>18}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--durability", action="store_true")
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="--durability: interleaved rounds")
    args = parser.parse_args()
    if not (args.durability or args.scale):
        parser.error("say --durability and/or --scale")
    if args.durability:
        durability(args)
    if args.scale:
        scale(args)


if __name__ == "__main__":
    main()
