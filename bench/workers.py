"""Delivery scale-out on Redis: delivered/s and worker CPU per 1,000 deliveries, 1 vs 2 workers.

For each worker count: a fresh Redis database is pre-loaded with ``--messages`` Uniware POs
(each a new PO code) through the hub's own ingest and store API (``Hub.build(...).ingest``,
no HTTP), routed uniware -> leo only; then that many ``pohub worker`` processes start
(unpinned) and deliver to the Leo simulator (``pohub simulate``, its own process, core 1)
until the store has none left (polled in Redis, not at the simulator, so polling does not
load it); the simulator's count of accepted deliveries is what is reported. Each worker's CPU is utime + stime from
/proc/<pid>/stat, read just before it is stopped, minus its start-up CPU (imports and
config, read when it prints its banner, before it claims anything). Target: CPU per delivery with 2 workers within 10 %
of 1 worker, so scale-out is linear on paper.

    uv run python bench/workers.py [--messages 5000] [--concurrency 64] [--timeout 120]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup as s

ROUTES = {"uniware": ["leo"]}


async def preload(config: Path, store_url: str, messages: int) -> float:
    """Store ``messages`` new POs through the hub's ingest; returns seconds taken."""
    import logging

    import structlog

    from gateway.hub import Hub

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    hub = Hub.build(str(config), store_url=store_url)
    await hub.store.open()
    run = uuid.uuid4().hex[:8]
    started = time.monotonic()
    try:
        for start in range(0, messages, 100):
            batch = range(start, min(start + 100, messages))
            await asyncio.gather(
                *(hub.ingest.ingest("uniware", s.po_body(f"W{run}-{i}"), {}) for i in batch)
            )
    finally:
        await hub.store.close()
    return time.monotonic() - started


async def finished(store_url: str) -> int:
    """Deliveries in an end state (delivered, dead, parked) in the store: cheap to poll."""
    from gateway.store.base import Store

    store = Store.from_url(store_url)
    await store.open()
    try:
        counts = await store.counts()
    finally:
        await store.close()
    return sum(counts.get(k, 0) for k in ("delivered", "dead", "parked"))


def wait_banner(
    procs: s.Procs, name: str, proc: subprocess.Popen[bytes], timeout: float = 30
) -> float:
    """CPU seconds of a ``pohub worker`` when it says it starts (before its first claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {procs.log_tail(name)}")
        if "pohub worker (" in procs.log_tail(name, 50):
            return s.cpu_seconds(proc.pid)
        time.sleep(0.01)
    raise RuntimeError(f"{name} did not start in {timeout} s")


def run_workers(procs: s.Procs, args: argparse.Namespace, tmp: Path, sim: str, redis: str,
                n_workers: int) -> dict[str, float]:  # fmt: skip
    store_url = f"{redis.rsplit('/', 1)[0]}/{n_workers}"
    sub = Path(tempfile.mkdtemp(dir=tmp))
    config = s.write_config(sub, sim, store_url, ROUTES, args.target_concurrency)
    env = s.bench_env(config)
    load_s = asyncio.run(preload(config, store_url, args.messages))
    s.received(sim, "leo", clear=True)
    names = [f"worker-{n_workers}-{i}" for i in range(n_workers)]
    cmd = ["worker", "--config", str(config), "--concurrency", str(args.concurrency)]
    workers = [s.pohub(procs, name, cmd, env) for name in names]
    delivered = 0
    try:
        startup = [wait_banner(procs, n, w) for n, w in zip(names, workers, strict=True)]
        started = time.monotonic()
        deadline = started + args.timeout
        while time.monotonic() < deadline:
            for name, w in zip(names, workers, strict=True):
                if w.poll() is not None:
                    raise RuntimeError(f"{name} exited: {procs.log_tail(name)}")
            if asyncio.run(finished(store_url)) >= args.messages:
                break
            time.sleep(0.1)
        seconds = time.monotonic() - started
        cpu = sum(s.cpu_seconds(w.pid) for w in workers) - sum(startup)
        delivered = s.received(sim, "leo")
    finally:
        for w in workers:
            procs.stop(w)
    if delivered < args.messages:
        print(f"  warning: {delivered}/{args.messages} delivered in {args.timeout:g} s")
    return {"workers": n_workers, "delivered": delivered, "seconds": seconds,
            "rate": delivered / seconds, "cpu": cpu, "cpu_per_k": cpu / delivered * 1000,
            "preload_s": load_s}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64, help="pohub worker --concurrency")
    parser.add_argument("--target-concurrency", type=int, default=None,
                        help="systems.*.concurrency in the temp config (default: config's)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=120.0, help="max seconds per drain")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="pohub-bench-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        first = s.write_config(tmp, "http://127.0.0.1:1", "sqlite:///x", ROUTES, None)
        sim = s.start_simulators(procs, s.bench_env(first))
        redis = s.start_redis(procs)
        for n in (1, 2):
            row = run_workers(procs, args, tmp, sim, redis, n)
            rows.append(row)
            print(f"  {n} worker(s): {row['delivered']:.0f} delivered in {row['seconds']:.1f} s "
                  f"(pre-load {row['preload_s']:.1f} s)", flush=True)  # fmt: skip
    print()
    print("{:>7} {:>9} {:>8} {:>11} {:>14}".format(
        "workers", "delivered", "s", "delivered/s", "CPU s / 1,000"))  # fmt: skip
    for r in rows:
        print("{:>7} {:>9.0f} {:>8.1f} {:>11.0f} {:>14.2f}".format(
            r["workers"], r["delivered"], r["seconds"], r["rate"], r["cpu_per_k"]))  # fmt: skip
    ratio = rows[1]["cpu_per_k"] / rows[0]["cpu_per_k"]
    verdict = "PASS" if abs(ratio - 1) <= 0.10 else "MISS"
    print(f"\nCPU per delivery, 2 workers / 1 worker: {ratio:.2f} (target 0.90-1.10) {verdict}")
    print(f"delivered/s, 2 workers / 1 worker: {rows[1]['rate'] / rows[0]['rate']:.2f}")


if __name__ == "__main__":
    main()
