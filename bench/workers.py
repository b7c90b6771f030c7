"""Delivery scale-out on Redis: delivered/s and worker CPU per 1,000 deliveries, 1 vs 2 workers.

For each worker count: a fresh Redis database (redis-server with AOF, as the store demands) is pre-loaded with ``--messages`` Uniware POs
(each a new PO code) through the hub's own ingest and store API (``Hub.build(...).ingest``,
no HTTP), routed uniware -> leo only; then that many ``pohub worker`` processes start
(unpinned) and deliver to the Leo simulator (``pohub simulate``, its own process, core 1)
until the store has none left (polled in Redis, not at the simulator, so polling does not
load it); the simulator's count of accepted deliveries is what is reported. Each worker's CPU is utime + stime from
/proc/<pid>/stat, read just before it is stopped, minus its start-up CPU (imports and
config, read when it prints its banner, before it claims anything). Target: CPU per delivery with 2 workers within 10 %
of 1 worker, so scale-out is linear on paper.

    uv run python bench/workers.py [--messages 5000] [--concurrency 64] [--timeout 120]
    uv run python bench/workers.py --rss [--messages 100000] [--rss-every 2000]
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


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` (VmRSS in /proc/<pid>/status), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def run_workers(procs: s.Procs, args: argparse.Namespace, tmp: Path, sim: str, redis: str,
                n_workers: int,
                rss: list[tuple[int, float]] | None = None) -> dict[str, float]:  # fmt: skip
    """``rss``: when given, (finished deliveries, worker RSS MiB) is appended every
    ``args.rss_every`` deliveries (one worker)."""
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
            done = asyncio.run(finished(store_url))
            if rss is not None and (not rss or done >= rss[-1][0] + args.rss_every):
                rss.append((done, rss_mib(workers[0].pid)))
            if done >= args.messages:
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
    parser.add_argument("--messages", type=int, default=None, help="default 5,000; --rss 100,000")
    parser.add_argument("--concurrency", type=int, default=64, help="pohub worker --concurrency")
    parser.add_argument("--target-concurrency", type=int, default=None,
                        help="systems.*.concurrency in the temp config (default: config's)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=120.0, help="max seconds per drain")
    parser.add_argument("--rss", action="store_true",
                        help="instead: one worker, --messages (default 100,000) deliveries, "
                             "its RSS every --rss-every deliveries")  # fmt: skip
    parser.add_argument("--rss-every", type=int, default=0, help="default: --messages / 50")
    args = parser.parse_args()
    if args.rss:
        rss_main(args)
        return
    args.messages = args.messages or 5000
    rows = []
    with tempfile.TemporaryDirectory(prefix="pohub-bench-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        first = s.write_config(tmp, "http://127.0.0.1:1", "sqlite:///x", ROUTES, None)
        sim = s.start_simulators(procs, s.bench_env(first))
        (tmp / "redis").mkdir()
        redis = s.start_redis(procs, data_dir=tmp / "redis")  # AOF, as the store demands
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
    print(f"\nCPU per delivery, 2 workers / 1 worker: {ratio:.2f} (target 0.90-1.10)")
    print(f"delivered/s, 2 workers / 1 worker: {rows[1]['rate'] / rows[0]['rate']:.2f}")
    s.verdict([("CPU per delivery, 2 workers / 1 worker (Redis)", ratio, 0.9, 1.1)])


def rss_main(args: argparse.Namespace) -> None:
    """RSS flat over a long run: one worker delivers ``--messages`` pre-loaded POs on Redis;
    its RSS is sampled every ``--rss-every`` deliveries. Flat: the last sample within 5 % of
    the one at 10 % of the run (after warm-up: imports, pools and caches are filled)."""
    args.messages = args.messages or 100_000
    args.rss_every = args.rss_every or max(1, args.messages // 50)
    args.timeout = max(args.timeout, args.messages / 20)
    samples: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory(prefix="pohub-bench-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        first = s.write_config(tmp, "http://127.0.0.1:1", "sqlite:///x", ROUTES, None)
        sim = s.start_simulators(procs, s.bench_env(first))
        (tmp / "redis").mkdir()
        redis = s.start_redis(procs, data_dir=tmp / "redis")  # AOF, as the store demands
        row = run_workers(procs, args, tmp, sim, redis, 1, samples)
    print(f"1 worker: {row['delivered']:.0f} delivered in {row['seconds']:.1f} s (pre-load "
          f"{row['preload_s']:.1f} s), {row['cpu_per_k']:.2f} CPU s / 1,000")  # fmt: skip
    print("{:>10} {:>9}".format("delivered", "RSS MiB"))
    for done, mib in samples:
        print(f"{done:>10} {mib:>9.1f}")
    settled = [x for x in samples if x[0] >= args.messages // 10] or samples
    base, last = settled[0][1], samples[-1][1]
    peak = max(m for _, m in samples)
    n = len(settled)
    mean_x = sum(d for d, _ in settled) / n
    mean_y = sum(m for _, m in settled) / n
    var = sum((d - mean_x) ** 2 for d, _ in settled) or 1.0
    slope = sum((d - mean_x) * (m - mean_y) for d, m in settled) / var * 10_000
    print(f"RSS first {samples[0][1]:.1f} MiB, at 10 % {base:.1f}, last {last:.1f}, max "
          f"{peak:.1f}; slope after 10 %: {slope:+.3f} MiB per 10,000 deliveries")  # fmt: skip
    s.verdict([(f"RSS last / at 10 % of {row['delivered']:.0f} deliveries", last / base,
                None, 1.05)])  # fmt: skip


if __name__ == "__main__":
    main()
