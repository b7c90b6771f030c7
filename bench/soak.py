"""Soak and scale: memory, queue depth and end-to-end latency over a long steady run.

Soak (default): ``pohub simulate``, ``pohub serve --workers 0`` (gateway) and ``--workers``
``pohub worker`` processes on a store (``--store redis|sqlite``; redis-server with AOF on),
route ``uniware -> leo``. A paced open-loop sender pushes ``--messages`` new Uniware POs at
``--rate``/s (each its own PO code; at most 64 in flight). Every second a sampler reads
the RSS (``VmRSS`` in ``/proc/<pid>/status``) of the gateway and of each worker, and the
queue depth (``queued + delivering + retrying`` of ``GET /api/v1/stats/counts``). After the
last push it keeps sampling until the queue is empty (at most ``--drain-timeout`` s).
End-to-end latency = the delivered attempt's time minus the delivery's ``created_at``
(written when the message was received), read from the store afterwards
(``Store.deliveries``), in windows of ``--window`` s by receive time: p50 and p99.
RSS growth = (median of the last 10 samples of the push phase) / (median of the 10
samples after ``--warmup`` s) - 1; target < 10 %. p99 flat = last window's p99 /
first post-warm-up window's p99.

Backlog (``--backlog N``, Redis): pre-loads N queued messages straight through the hub's
ingest and store API (``Hub.build(...).ingest``, ``--loaders`` processes in parallel, no
HTTP), then starts one ``pohub worker`` and samples its RSS every second for
``--backlog-drain-s`` s while it drains part of the backlog.

Outputs: the samples on stdout, ``bench/out/<timestamp>/samples.csv``,
``latency.csv`` and ``soak.png`` (``backlog.csv`` / ``backlog.png`` for the backlog mode).

    uv run python bench/soak.py [--messages 100000 --rate 200] [--quick]
    uv run python bench/soak.py --backlog 1000000 [--loaders 2] [--backlog-drain-s 120]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup as s

ROUTES = {"uniware": ["leo"]}
ADMIN = {"Authorization": "Bearer bench-key-admin"}
OUT = s.ROOT / "bench" / "out"


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start_redis(procs: s.Procs, tmp: Path) -> str:
    port = s.free_port()
    data = tmp / "redis"
    data.mkdir(exist_ok=True)
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
           "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]  # fmt: skip
    s.wait_port(port, procs.start("redis", cmd, cpu=s.OTHER_CPU))
    return f"redis://127.0.0.1:{port}/0"


class Sampler(threading.Thread):
    def __init__(self, pids: dict[str, int], hub_url: str | None, store_url: str) -> None:
        super().__init__(daemon=True)
        self.pids, self.hub_url, self.store_url = pids, hub_url, store_url
        self.rows: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.sent = 0
        self.t0 = time.monotonic()

    def depth(self, client: httpx.Client) -> tuple[int, int]:
        try:
            c = client.get(f"{self.hub_url}/api/v1/stats/counts", headers=ADMIN).json()
        except (httpx.HTTPError, ValueError):
            return -1, -1
        return sum(c.get(k, 0) for k in ("queued", "delivering", "retrying")), c.get("delivered", 0)

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            for _ in range(24 * 3600):
                if self.stop.is_set():
                    return
                started = time.monotonic()
                row: dict[str, Any] = {"t": round(started - self.t0, 1), "sent": self.sent}
                for name, pid in self.pids.items():
                    row[f"{name}_rss_mb"] = round(rss_mb(pid), 1)
                if self.hub_url:
                    row["queue_depth"], row["delivered"] = self.depth(client)
                self.rows.append(row)
                print("  " + " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
                self.stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))


async def send(url: str, headers: dict[str, str], n: int, rate: float, run: str,
               sampler: Sampler) -> dict[str, Any]:  # fmt: skip
    sem = asyncio.Semaphore(64)
    errors: Counter[str] = Counter()

    async def one(client: httpx.AsyncClient, i: int) -> None:
        try:
            reply = await client.post(s.INBOUND_PATH, content=s.po_body(f"S{run}-{i}"),
                                      headers=headers)  # fmt: skip
            if reply.status_code >= 300:
                errors[f"{reply.status_code} {reply.text[:120]}"] += 1
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] += 1
        finally:
            sem.release()
            sampler.sent += 1

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        tasks = set()
        start = time.monotonic()
        for i in range(n):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await sem.acquire()
            task = asyncio.create_task(one(client, i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    return {"sent": n, "errors": sum(errors.values()), "kinds": dict(errors)}


async def latencies(store_url: str) -> list[tuple[float, float]]:
    """(received at, end-to-end seconds) of every delivered delivery."""
    from gateway.store.base import Store
    from gateway.store.records import MessageFilter, State

    store = Store.from_url(store_url)
    await store.open()
    out = []
    try:
        async for d in store.deliveries(MessageFilter(status=State.DELIVERED)):
            done = [a for a in d.attempts if a.outcome == "delivered"]
            if done:
                created = d.created_at if d.created_at.tzinfo else d.created_at.replace(tzinfo=UTC)
                at = done[-1].at if done[-1].at.tzinfo else done[-1].at.replace(tzinfo=UTC)
                out.append((created.timestamp(), (at - created).total_seconds()))
    finally:
        await store.close()
    return sorted(out)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def growth(
    rows: list[dict[str, Any]], key: str, warmup: float, end_t: float
) -> tuple[float, float, float]:
    warm = [r[key] for r in rows if r["t"] >= warmup][:10]
    last = [r[key] for r in rows if r["t"] <= end_t][-10:]
    a, b = statistics.median(warm), statistics.median(last)
    return a, b, (b / a - 1) * 100


def out_dir() -> Path:
    path = OUT / datetime.now().strftime("%Y%m%d-%H%M%S")
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        w.writerows(rows)


def soak(args: argparse.Namespace) -> None:
    out = out_dir()
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="pohub-soak-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        first = s.write_config(tmp, "http://127.0.0.1:1", "sqlite:///x", ROUTES, None)
        sim = s.start_simulators(procs, s.bench_env(first))
        store_url = (
            start_redis(procs, tmp) if args.store == "redis" else f"sqlite:///{tmp}/pohub.db"
        )
        config = s.write_config(tmp, sim, store_url, ROUTES, None)
        env = {**s.bench_env(config), "POHUB_LOG_LEVEL": "WARNING"}
        port = s.free_port()
        url = f"http://127.0.0.1:{port}"
        gw = s.pohub(procs, "gateway", ["serve", "--config", str(config), "--port", str(port),
                                        "--workers", "0"], env, None, port)  # fmt: skip
        workers = [s.pohub(procs, f"worker-{i}", ["worker", "--config", str(config)], env)
                   for i in range(args.workers)]  # fmt: skip
        pids = {"gateway": gw.pid, **{f"worker{i}": w.pid for i, w in enumerate(workers)}}
        headers = {"Content-Type": "application/json", **s.inbound_headers(config, env, "uniware")}
        time.sleep(2)
        sampler = Sampler(pids, url, store_url)
        sampler.start()
        print(f"soak: {args.messages} messages at {args.rate}/s, store {args.store}, "
              f"{args.workers} worker(s); output {out}", flush=True)  # fmt: skip
        sent = asyncio.run(send(url, headers, args.messages, args.rate, run, sampler))
        end_push = time.monotonic() - sampler.t0
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline:
            time.sleep(1)
            if sampler.rows and sampler.rows[-1].get("queue_depth") == 0:
                break
        drained_at = time.monotonic() - sampler.t0
        time.sleep(3)
        sampler.stop.set()
        sampler.join(5)
        lat = asyncio.run(latencies(store_url))
        received = s.received(sim, "leo")
    rows = sampler.rows
    write_csv(out / "samples.csv", rows)
    t0_wall = lat[0][0] if lat else 0.0
    windows: dict[int, list[float]] = defaultdict(list)
    for at, e2e in lat:
        windows[int((at - t0_wall) // args.window)].append(e2e)
    lrows = [{"t": k * args.window, "n": len(v), "p50_ms": round(pct(v, 0.5) * 1000, 1),
              "p99_ms": round(pct(v, 0.99) * 1000, 1)} for k, v in sorted(windows.items())]  # fmt: skip
    write_csv(out / "latency.csv", lrows)
    print("\nend-to-end latency by receive window:")
    for r in lrows:
        print(
            f"  t={r['t']:>5}s n={r['n']:>6} p50={r['p50_ms']:>8.1f} ms p99={r['p99_ms']:>8.1f} ms"
        )
    print(f"\nsent {sent['sent']} (errors {sent['errors']}: {sent['kinds']}), delivered to leo {received}, "
          f"push phase {end_push:.0f} s, queue empty at {drained_at:.0f} s "
          f"(depth at end of pushes: {next((r['queue_depth'] for r in rows if r['t'] >= end_push), '?')})")  # fmt: skip
    verdicts = []
    for name in pids:
        a, b, g = growth(rows, f"{name}_rss_mb", args.warmup, end_push)
        verdicts.append(g < 10)
        print(f"RSS {name}: {a:.1f} MB after warm-up -> {b:.1f} MB at end of pushes: "
              f"{g:+.1f} % ({'PASS' if g < 10 else 'MISS'} < 10 %)")  # fmt: skip
    warm_windows = [r for r in lrows if r["t"] >= args.warmup and r["n"] >= 10]
    if len(warm_windows) >= 2:
        first, last = (
            warm_windows[0]["p99_ms"],
            warm_windows[-2 if len(warm_windows) > 2 else -1]["p99_ms"],
        )
        print(f"p99 end-to-end: first window after warm-up {first:.1f} ms, last full window "
              f"{last:.1f} ms (x{last / first:.2f})")  # fmt: skip
    chart(
        out / "soak.png",
        rows,
        lrows,
        list(pids),
        end_push,
        f"soak: {args.messages} msgs @ {args.rate}/s, {args.store}",
    )
    print(f"\nwrote {out / 'samples.csv'}, {out / 'latency.csv'}, {out / 'soak.png'}")


def chart(path: Path, rows: list[dict[str, Any]], lrows: list[dict[str, Any]], names: list[str],
          end_push: float, title: str) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if lrows else 2 if any("queue_depth" in r for r in rows) else 1
    fig, axes = plt.subplots(panels, 1, figsize=(10, 3.2 * panels), sharex=False)
    axes = list(axes) if panels > 1 else [axes]
    t = [r["t"] for r in rows]
    for name in names:
        axes[0].plot(t, [r[f"{name}_rss_mb"] for r in rows], label=name)
    axes[0].set_ylabel("RSS (MB)")
    axes[0].set_ylim(bottom=0)
    axes[0].legend()
    axes[0].set_title(title)
    if end_push:
        axes[0].axvline(end_push, color="grey", ls="--", lw=0.8)
    if panels >= 2:
        axes[1].plot(
            t, [r.get("queue_depth", 0) for r in rows], color="tab:red", label="queue depth"
        )
        axes[1].legend(loc="upper right")
        if any("delivered" in r for r in rows):
            ax2 = axes[1].twinx()
            ax2.plot(t, [r.get("delivered", 0) for r in rows], color="tab:green", label="delivered")
            ax2.plot(t, [r.get("sent", 0) for r in rows], color="tab:blue", ls=":", label="sent")
            ax2.set_ylabel("count")
            ax2.legend(loc="upper left")
        axes[1].set_ylabel("queue depth")
        axes[1].set_xlabel("s")
    if panels == 3:
        lt = [r["t"] for r in lrows]
        axes[2].plot(lt, [r["p50_ms"] for r in lrows], label="p50")
        axes[2].plot(lt, [r["p99_ms"] for r in lrows], label="p99")
        axes[2].set_ylabel("end-to-end (ms)")
        axes[2].set_xlabel("receive time (s)")
        axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# backlog ------------------------------------------------------------------------------------
def loader_main(config: str, store_url: str, start: int, count: int, run: str) -> None:
    async def go() -> None:
        import logging

        import structlog

        from gateway.hub import Hub

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        hub = Hub.build(config, store_url=store_url)
        await hub.store.open()
        try:
            for lo in range(start, start + count, 50):  # < the store's 100-connection pool
                batch = range(lo, min(lo + 50, start + count))
                await asyncio.gather(
                    *(hub.ingest.ingest("uniware", s.po_body(f"B{run}-{i}"), {}) for i in batch)
                )
        finally:
            await hub.store.close()

    asyncio.run(go())


def backlog(args: argparse.Namespace) -> None:
    out = out_dir()
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="pohub-backlog-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        first = s.write_config(tmp, "http://127.0.0.1:1", "sqlite:///x", ROUTES, None)
        sim = s.start_simulators(procs, s.bench_env(first))
        store_url = start_redis(procs, tmp)
        config = s.write_config(tmp, sim, store_url, ROUTES, None)
        env = {**s.bench_env(config), "POHUB_LOG_LEVEL": "WARNING"}
        print(f"backlog: pre-loading {args.backlog} messages into Redis with {args.loaders} "
              f"loader process(es)", flush=True)  # fmt: skip
        started = time.monotonic()
        per = -(-args.backlog // args.loaders)
        loaders = []
        for k in range(args.loaders):
            n = min(per, args.backlog - k * per)
            code = (f"from bench.soak import loader_main; "
                    f"loader_main({str(config)!r}, {store_url!r}, {k * per}, {n}, {run!r})")  # fmt: skip
            loaders.append(procs.start(f"loader-{k}", [sys.executable, "-c", code], env))
        deadline = time.monotonic() + args.preload_timeout
        for p in loaders:
            p.wait(max(1, deadline - time.monotonic()))
            if p.returncode != 0:
                raise RuntimeError(f"loader failed: {procs.log_tail('loader-0')}")
        load_s = time.monotonic() - started
        depth = asyncio.run(store_counts(store_url))
        redis_mb = redis_used_mb(store_url)
        print(f"pre-loaded in {load_s:.0f} s ({args.backlog / load_s:.0f} msgs/s); store counts "
              f"{depth}; redis used_memory {redis_mb:.0f} MB", flush=True)  # fmt: skip
        worker = s.pohub(procs, "worker-0", ["worker", "--config", str(config)], env)
        sampler = Sampler({"worker": worker.pid}, None, store_url)
        sampler.start()
        time.sleep(args.backlog_drain_s)
        sampler.stop.set()
        sampler.join(5)
        procs.stop(worker)
        after = asyncio.run(store_counts(store_url))
        delivered = s.received(sim, "leo")
    rows = sampler.rows
    write_csv(out / "backlog.csv", rows)
    a, b, g = growth(rows, "worker_rss_mb", args.warmup, rows[-1]["t"])
    print(f"\nworker drained {delivered} of {args.backlog} in {args.backlog_drain_s:.0f} s "
          f"({delivered / args.backlog_drain_s:.0f}/s); store counts after {after}")  # fmt: skip
    print(f"RSS worker: {a:.1f} MB after warm-up -> {b:.1f} MB at end: {g:+.1f} % "
          f"({'PASS' if g < 10 else 'MISS'} < 10 %); max {max(r['worker_rss_mb'] for r in rows):.1f} MB")  # fmt: skip
    chart(
        out / "backlog.png",
        rows,
        [],
        ["worker"],
        0,
        f"worker RSS draining a {args.backlog:,} message Redis backlog",
    )
    print(f"wrote {out / 'backlog.csv'}, {out / 'backlog.png'}")


async def store_counts(store_url: str) -> dict[str, int]:
    from gateway.store.base import Store

    store = Store.from_url(store_url)
    await store.open()
    try:
        return {k: v for k, v in (await store.counts()).items() if v}
    finally:
        await store.close()


def redis_used_mb(store_url: str) -> float:
    port = store_url.rsplit(":", 1)[1].split("/")[0]
    out = subprocess.run(["redis-cli", "-p", port, "info", "memory"], capture_output=True,
                         text=True, check=False).stdout  # fmt: skip
    for line in out.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1]) / 2**20
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--store", choices=["redis", "sqlite"], default="redis")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=60.0, help="s before RSS baseline")
    parser.add_argument("--window", type=float, default=30.0, help="latency window, s")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--quick", action="store_true",
                        help="6,000 messages at 100/s, warm-up 15 s, 10 s windows")  # fmt: skip
    parser.add_argument("--backlog", type=int, default=0,
                        help="backlog mode: pre-load this many queued messages (e.g. 200000)")  # fmt: skip
    parser.add_argument("--loaders", type=int, default=2)
    parser.add_argument("--preload-timeout", type=float, default=3600.0)
    parser.add_argument("--backlog-drain-s", type=float, default=120.0)
    args = parser.parse_args()
    if args.quick:
        args.messages, args.rate, args.warmup, args.window = 6000, 100.0, 15.0, 10.0
        args.backlog_drain_s = min(args.backlog_drain_s, 60.0)
    if args.backlog:
        args.warmup = min(args.warmup, 15.0)
        backlog(args)
    else:
        soak(args)


if __name__ == "__main__":
    main()
