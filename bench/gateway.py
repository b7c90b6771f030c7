"""Inbound accept on one core: a bare Litestar echo vs pohub serve (store only), one run.

Every server under test runs with ``taskset -c 0``; redis-server and the load generator run
on core 1. The load generator is ``wrk`` (``apt-get install -y wrk``; a Lua script gives
every request a new Uniware PO code, so dedup absorbs nothing) or, when wrk is missing, a
Python keep-alive generator (bench/_setup.py). Scenarios, each ``--duration`` s after a 1 s
warm-up:

- bare echo (baseline of inbound accept): a Litestar app that returns the body it got,
  served by uvicorn with uvloop and httptools (what ``pohub serve`` runs on).
- pohub inbound accept, store only: ``pohub serve --workers 0``, Uniware pushes at
  ``/inbound/uniware/approvedPurchaseOrder`` with the inbound token; SQLite, and Redis with
  AOF (``appendonly yes``, ``appendfsync everysec``: durable as docs/redis.md asks).

p50/p99 are the HTTP latency the sender saw. Target: accept >= 0.5x echo.

End to end (accept, store, deliver) is bench/e2e.py: pohub serve against Node-RED, both
delivering to a Node sink. (The naive-glue baseline that forwarded to the Python simulator,
38/s, measured the simulator more than the hub and is gone.)

    uv run python bench/gateway.py [--duration 10] [--concurrency 64] [--no-wrk]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, post

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup as s

ROUTES = {"uniware": ["leo"]}
TARGET = 0.5
"""Inbound accept/s at least half the bare echo's, each store (issue 14)."""


# the baseline ------------------------------------------------------
def echo_app() -> Litestar:
    @post(s.INBOUND_PATH, status_code=200)
    async def echo(request: Request[Any, Any, Any]) -> Response[bytes]:
        return Response(await request.body(), media_type="application/json")

    return Litestar(route_handlers=[echo], openapi_config=None)


def serve_echo(port: int) -> None:
    import uvicorn

    from gateway.cli.main import fast_server

    loop, http = fast_server()
    uvicorn.run(echo_app(), host="127.0.0.1", port=port, log_level="warning", loop=loop,
                http=http)  # fmt: skip


# the run ---------------------------------------------------------------------------------
def measure(args: argparse.Namespace, url: str, headers: dict[str, str],
            tag: str) -> dict[str, float]:  # fmt: skip
    run = f"{tag}-{uuid.uuid4().hex[:8]}"
    s.load(url, s.INBOUND_PATH, headers, run + "w", 1.0, args.concurrency, 200_000, args.wrk)
    return s.load(url, s.INBOUND_PATH, headers, run, args.duration, args.concurrency,
                  args.max_requests, args.wrk)  # fmt: skip


def scenario(procs: s.Procs, args: argparse.Namespace, tmp: Path, kind: str,
             store: str) -> dict[str, float]:  # fmt: skip
    sub = Path(tempfile.mkdtemp(dir=tmp))
    config = s.write_config(sub, "http://127.0.0.1:1", store, ROUTES, None)  # no deliveries
    env = s.bench_env(config)
    headers = s.inbound_headers(config, env, "uniware")
    port = s.free_port()
    if kind == "echo":
        cmd = [sys.executable, __file__, "--serve-echo", "--port", str(port)]
        proc = procs.start(kind, cmd, env, s.SERVER_CPU)
        try:
            s.wait_port(port, proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{procs.log_tail(kind)}") from None
    else:
        proc = s.pohub(procs, f"serve-{kind}", ["serve", "--config", str(config), "--port",
                       str(port), "--workers", "0"], env, s.SERVER_CPU, port)  # fmt: skip
    try:
        return measure(args, f"http://127.0.0.1:{port}", headers, kind)
    finally:
        procs.stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=64, help="connections")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="per scenario")
    parser.add_argument("--no-wrk", dest="wrk", action="store_false", help="Python generator")
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        serve_echo(args.port)
        return
    import shutil

    gen = "wrk" if args.wrk and shutil.which("wrk") else "python"
    print(f"load generator: {gen}, {args.concurrency} connections, {args.duration:g} s per "
          f"scenario; server on core {s.SERVER_CPU}, the rest on core {s.OTHER_CPU}")  # fmt: skip
    rows: list[tuple[str, str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="pohub-bench-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        (tmp / "redis").mkdir()
        redis = s.start_redis(procs, data_dir=tmp / "redis")
        plan = [("bare echo", "-", "echo", "sqlite:///unused"),
                ("inbound accept", "sqlite", "pohub", f"sqlite:///{tmp}/pohub.db"),
                ("inbound accept", "redis", "pohub", redis)]  # fmt: skip
        for name, store_name, kind, url in plan:
            got = scenario(procs, args, tmp, kind, url)
            rows.append((name, store_name, got))
            print(f"  {name} [{store_name}]: {got['rps']:.0f}/s, {got['errors']:.0f} errors",
                  flush=True)  # fmt: skip
    print()
    echo = rows[0][2]["rps"]
    print(f"load average at the end: {s.loadavg()}")
    print("| scenario | store | req/s | p50 ms | p99 ms | ratio | target |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name, store_name, got in rows:
        ratio = got["rps"] / echo
        verdict = "baseline" if name == "bare echo" else (
            f">= {TARGET:g}x {'PASS' if ratio >= TARGET else 'MISS'}")  # fmt: skip
        print(f"| {name} | {store_name} | {got['rps']:.0f} | {got['p50_ms']:.1f} | "
              f"{got['p99_ms']:.1f} | {ratio:.2f} | {verdict} |")  # fmt: skip
    s.verdict([(f"inbound accept / bare echo, {store_name}", got["rps"] / echo, TARGET, None)
               for name, store_name, got in rows[1:]])  # fmt: skip


if __name__ == "__main__":
    main()
