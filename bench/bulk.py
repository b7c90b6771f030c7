"""Bulk coalescing (issue 14): deliveries per second to AppliQloud with and without batches.

One run, two modes on the same machine: ``off`` (no ``batch``: one PO a request, as before)
and ``on`` (``batch: {max: --max, wait_ms: --wait-ms}``). For each mode a fresh store and a
gateway (``pohub serve --workers 0``) take ``--pos`` Uniware POs routed to AppliQloud only;
the gateway stops, then one ``pohub worker --concurrency C`` (on core 0) drains the backlog
into a counting sink that answers AppliQloud's 200 envelope per PO
(``bench/sink_appliqloud.js``, node, on the other core). delivered/s = POs over the time from the sink's first request to
the moment the store records the last of them delivered; the worker's CPU seconds per 1000
POs (from its first request on) beside it, and the store's final counts.

    uv run python bench/bulk.py [--pos 3000] [--max 50] [--wait-ms 20] [--store sqlite|redis]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup as s

ROUTES = {"uniware": ["appliqloud"]}


def with_batch(config: Path, size: int, wait_ms: float) -> None:
    text = config.read_text()
    text = re.sub(
        r"(?m)^(  appliqloud:\n    base_url: .*)$",
        lambda m: f"{m.group(1)}\n    batch: {{max: {size}, wait_ms: {wait_ms}}}",
        text,
    )
    config.write_text(text)


def basic_auth(env: dict[str, str]) -> str:
    user, password = env["APPLIQLOUD_USER"], env["APPLIQLOUD_PASSWORD"]
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def push_all(url: str, headers: dict[str, str], codes: list[str], lanes: int = 16) -> None:
    todo = list(reversed(codes))
    h = {"Content-Type": "application/json", **headers}
    async with httpx.AsyncClient(base_url=url, headers=h, timeout=60) as client:

        async def lane() -> None:
            while todo:
                code = todo.pop()
                for _ in range(20):  # a push is deduplicated by content: resending is safe
                    try:
                        got = await client.post(s.INBOUND_PATH, content=s.po_body(code))
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
                        continue
                    if got.status_code == 200:
                        break
                    if got.status_code not in (429, 503):
                        raise RuntimeError(f"push {code}: {got.status_code} {got.text[:200]}")
                    await asyncio.sleep(0.2)
                else:
                    raise RuntimeError(f"push {code}: given up")

        await asyncio.gather(*(lane() for _ in range(lanes)))


def count(sink: str, clear: bool = False) -> dict[str, int]:
    with httpx.Client(timeout=30) as client:
        got: dict[str, int] = (client.delete if clear else client.get)(f"{sink}/count").json()
    return got


def drain(sink: str, worker: Any, expected: int, timeout: float) -> float:
    """Wait until the sink has every PO; the worker's CPU seconds from its first request."""
    deadline = time.monotonic() + timeout
    cpu0 = None
    while time.monotonic() < deadline:
        got = count(sink)
        if cpu0 is None and got["unique"] > 0:
            cpu0 = s.cpu_seconds(worker.pid)
        if got["unique"] >= expected and cpu0 is not None:
            return s.cpu_seconds(worker.pid) - cpu0
        time.sleep(0.02)
    raise RuntimeError(f"the sink has {count(sink)} of {expected} POs after {timeout} s")


async def settled(store_url: str, expected: int, timeout: float) -> tuple[dict[str, int], float]:
    """The store's counts once every delivery is recorded delivered (the last outcomes are
    written after the sink answered), and the wall-clock time it was seen."""
    from gateway.store.base import Store

    store = Store.from_url(store_url)
    await store.open()
    deadline = time.monotonic() + timeout
    try:
        while True:
            counts = await store.counts()
            if counts.get("delivered", 0) >= expected or time.monotonic() > deadline:
                return counts, time.time()
            await asyncio.sleep(0.02)
    finally:
        await store.close()


def run_mode(procs: s.Procs, tmp: Path, sink: str, store: str, args: argparse.Namespace,
             batch: bool) -> dict[str, Any]:  # fmt: skip
    name = "on" if batch else "off"
    where = tmp / name
    where.mkdir()
    store_url = f"sqlite:///{where}/pohub.db" if store == "sqlite" else f"{store}?prefix=bulk{name}"
    config = s.write_config(where, sink, store_url, ROUTES, None)
    if batch:
        with_batch(config, args.max, args.wait_ms)
    env = {**s.bench_env(config), "POHUB_LOG_LEVEL": os.environ.get("BULK_LOG", "WARNING")}
    port = s.free_port()
    gateway = s.pohub(procs, f"gateway-{name}", ["serve", "--config", str(config), "--port",
                      str(port), "--workers", "0"], env, s.OTHER_CPU, port)  # fmt: skip
    codes = [f"PO-{name.upper()}-{i:06d}" for i in range(args.pos)]
    headers = s.inbound_headers(config, env, "uniware")
    asyncio.run(push_all(f"http://127.0.0.1:{port}", headers, codes))
    procs.stop(gateway)
    count(sink, clear=True)
    worker = s.pohub(procs, f"worker-{name}", ["worker", "--config", str(config),
                     "--concurrency", str(args.concurrency)], env, s.SERVER_CPU)  # fmt: skip
    cpu = drain(sink, worker, args.pos, args.timeout)
    counts, done_at = asyncio.run(settled(store_url, args.pos, args.timeout))
    procs.stop(worker)
    if os.environ.get("BULK_LOG"):
        import shutil

        shutil.copy(procs.logs / f"worker-{name}.log", f"/tmp/bulk-worker-{name}.log")
    sunk = count(sink)
    seconds = done_at - sunk["firstMs"] / 1000
    return {"mode": name, "seconds": seconds, "per_s": args.pos / seconds,
            "cpu_per_1000": 1000 * cpu / args.pos, "requests": sunk["requests"],
            "inputs": sunk["inputs"], "counts": counts}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pos", type=int, default=3000)
    parser.add_argument("--max", type=int, default=50, help="batch.max of the 'on' mode")
    parser.add_argument("--wait-ms", type=float, default=20.0, help="batch.wait_ms of 'on'")
    parser.add_argument("--concurrency", type=int, default=256, help="pohub worker --concurrency")
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pohub-bulk-") as tmp, s.Procs(Path(tmp)) as procs:
        probe = s.write_config(Path(tmp), "http://127.0.0.1:1", "sqlite:///x", ROUTES, None)
        env = s.bench_env(probe)
        port = s.free_port()
        sink_env = {**os.environ, "SINK_PORT": str(port), "SINK_AUTH": basic_auth(env)}
        node = procs.start("sink", ["node", str(s.ROOT / "bench/sink_appliqloud.js")],
                           sink_env, s.OTHER_CPU)  # fmt: skip
        s.wait_port(port, node)
        sink = f"http://127.0.0.1:{port}"
        store = "sqlite" if args.store == "sqlite" else s.start_redis(procs, data_dir=Path(tmp))
        rows = [run_mode(procs, Path(tmp), sink, store, args, batch) for batch in (False, True)]
    print(f"AppliQloud deliveries, {args.pos} POs, store {args.store}, node sink, "
          f"worker --concurrency {args.concurrency}; on: batch {{max: {args.max}, "
          f"wait_ms: {args.wait_ms:g}}}")  # fmt: skip
    print(f"{'mode':<5} {'delivered/s':>12} {'requests':>9} {'POs/request':>12} "
          f"{'worker CPU s/1000 POs':>22}  store")  # fmt: skip
    for r in rows:
        print(f"{r['mode']:<5} {r['per_s']:>12.0f} {r['requests']:>9} "
              f"{r['inputs'] / max(r['requests'], 1):>12.1f} {r['cpu_per_1000']:>22.2f}  "
              f"{r['counts']}")  # fmt: skip
    print(f"ratio on/off: {rows[1]['per_s'] / rows[0]['per_s']:.2f}x")


if __name__ == "__main__":
    main()
