"""Gateway throughput on one core: bare echo, naive glue and pohub, in one run.

Every server under test runs with ``taskset -c 0``; the simulators (``pohub simulate``),
redis-server and the load generator run on core 1. The load generator is ``wrk``
(``apt-get install -y wrk``; a Lua script gives every request a new Uniware PO code, so
dedup absorbs nothing) or, when wrk is missing, a Python keep-alive generator
(bench/_setup.py). Scenarios, each ``--duration`` s after a 1 s warm-up:

- bare echo (baseline of inbound accept): a Litestar app that returns the body it got.
- pohub inbound accept, store only: ``pohub serve --workers 0``, Uniware pushes at
  ``/inbound/uniware/approvedPurchaseOrder`` with the inbound token; SQLite and Redis.
- naive glue (baseline of end-to-end): Litestar + the pydantic adapters (parse, render)
  + a new httpx client per request, forwarding to the Leo simulator before answering;
  its req/s is its delivered/s.
- pohub end-to-end: ``pohub serve --workers 1`` (gateway and worker in one process, one
  core), route uniware -> leo only; delivered/s counted at the simulator
  (``GET /leo/_received``) over the load window (a backlog left at the end is not counted).

p50/p99 are the HTTP latency the sender saw. Targets: accept >= 0.5x echo; end-to-end
>= 5x the naive glue.

    uv run python bench/gateway.py [--duration 10] [--concurrency 64] [--no-wrk]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, post

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup as s

ROUTES = {"uniware": ["leo"]}


# the two tiny apps of the baselines ------------------------------------------------------
def echo_app() -> Litestar:
    @post(s.INBOUND_PATH, status_code=200)
    async def echo(request: Request[Any, Any, Any]) -> Response[bytes]:
        return Response(await request.body(), media_type="application/json")

    return Litestar(route_handlers=[echo], openapi_config=None)


def glue_app(config_file: str) -> Litestar:
    import httpx

    from adapters import registry
    from adapters.leo.client import LeoClient
    from core.adapter import RemoteState, RenderContext
    from core.model import utc_now
    from gateway import secrets
    from gateway.catalog import load_mapping
    from gateway.config import load_config

    config = load_config(config_file, registry.system_ids())
    leo = config.systems["leo"]
    creds = secrets.credentials(leo.auth, secrets.resolve(leo.auth) if leo.auth else None)
    maps = {name: load_mapping(s.ROOT / "mappings", name) for name in ("uniware", "leo")}
    src, dst = registry.get("uniware"), registry.get("leo")

    @post(s.INBOUND_PATH, status_code=200)
    async def glue(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            events = src.parse(body, maps["uniware"], headers)  # pydantic wire models
        except Exception as exc:
            return Response({"status": "Failed", "message": str(exc)}, status_code=400)
        for event in events:
            event.occurred_at = event.occurred_at or utc_now()
            plan = dst.render(event, RenderContext(maps["leo"], None, RemoteState()))
            client = LeoClient(leo.base_url or "", creds, transport=httpx.AsyncHTTPTransport())
            try:
                await client.send(plan, uuid.uuid4().hex)
            except Exception as exc:
                return Response({"status": "Failed", "message": str(exc)}, status_code=502)
            finally:
                await client.aclose()
        return Response({"status": "Success", "message": "Detail is updated successfully"})

    return Litestar(route_handlers=[glue], openapi_config=None)


def serve_baseline(kind: str, port: int, config_file: str) -> None:
    import uvicorn

    app = echo_app() if kind == "echo" else glue_app(config_file)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# the run ---------------------------------------------------------------------------------
def measure(args: argparse.Namespace, url: str, headers: dict[str, str], tag: str,
            sim: str | None = None) -> dict[str, float]:  # fmt: skip
    run = f"{tag}-{uuid.uuid4().hex[:8]}"
    s.load(url, s.INBOUND_PATH, headers, run + "w", 1.0, args.concurrency, 200_000, args.wrk)
    if sim is not None:
        s.received(sim, "leo", clear=True)
    started = time.monotonic()
    got = s.load(url, s.INBOUND_PATH, headers, run, args.duration, args.concurrency,
                 args.max_requests, args.wrk)  # fmt: skip
    if sim is not None:
        delivered = s.received(sim, "leo")
        got["accepted_rps"] = got["rps"]
        got["rps"] = delivered / (time.monotonic() - started)
    return got


def scenario(procs: s.Procs, args: argparse.Namespace, tmp: Path, sim: str, kind: str,
             store: str, workers: int) -> dict[str, float]:  # fmt: skip
    sub = Path(tempfile.mkdtemp(dir=tmp))
    config = s.write_config(sub, sim, store, ROUTES, None)
    env = s.bench_env(config)
    headers = s.inbound_headers(config, env, "uniware")
    port = s.free_port()
    if kind in ("echo", "glue"):
        cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port), "--config",
               str(config)]  # fmt: skip
        proc = procs.start(kind, cmd, env, s.SERVER_CPU)
        try:
            s.wait_port(port, proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{procs.log_tail(kind)}") from None
    else:
        proc = s.pohub(procs, f"serve-{kind}", ["serve", "--config", str(config), "--port",
                       str(port), "--workers", str(workers)], env, s.SERVER_CPU, port)  # fmt: skip
    try:
        counted = sim if kind == "pohub" and workers > 0 else None  # glue: req/s = delivered/s
        return measure(args, f"http://127.0.0.1:{port}", headers, kind, counted)
    finally:
        procs.stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=64, help="connections")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="per scenario")
    parser.add_argument("--workers", type=int, default=1, help="workers in pohub serve (e2e)")
    parser.add_argument("--no-wrk", dest="wrk", action="store_false", help="Python generator")
    parser.add_argument("--serve", choices=["echo", "glue"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_baseline(args.serve, args.port, args.config)
        return
    import shutil

    gen = "wrk" if args.wrk and shutil.which("wrk") else "python"
    print(f"load generator: {gen}, {args.concurrency} connections, {args.duration:g} s per "
          f"scenario; server on core {s.SERVER_CPU}, the rest on core {s.OTHER_CPU}")  # fmt: skip
    rows: list[tuple[str, str, dict[str, float], str | None, float | None]] = []
    with tempfile.TemporaryDirectory(prefix="pohub-bench-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        first = s.write_config(tmp, "http://127.0.0.1:1", "sqlite:///x", ROUTES, None)
        sim = s.start_simulators(procs, s.bench_env(first))
        redis = s.start_redis(procs)
        stores = {"sqlite": lambda n: f"sqlite:///{tmp}/pohub-{n}.db",
                  "redis": lambda n: f"{redis.rsplit('/', 1)[0]}/{n}"}  # fmt: skip
        plan: list[tuple[str, str, str, str, int, str | None, float | None]] = [
            ("bare echo", "-", "echo", "", 0, None, None),
            ("inbound accept", "sqlite", "pohub", stores["sqlite"](1), 0, "bare echo", 0.5),
            ("inbound accept", "redis", "pohub", stores["redis"](1), 0, "bare echo", 0.5),
            ("naive glue e2e", "-", "glue", "", 0, None, None),
            ("pohub e2e", "sqlite", "pohub", stores["sqlite"](2), args.workers,
             "naive glue e2e", 5.0),
            ("pohub e2e", "redis", "pohub", stores["redis"](2), args.workers,
             "naive glue e2e", 5.0),
        ]  # fmt: skip
        for name, store_name, kind, url, workers, _base, _target in plan:
            got = scenario(procs, args, tmp, sim, kind, url or "sqlite:///unused", workers)
            rows.append((name, store_name, got, _base, _target))
            extra = f", accepted {got['accepted_rps']:.0f}/s" if "accepted_rps" in got else ""
            print(f"  {name} [{store_name}]: {got['rps']:.0f}/s{extra}, "
                  f"{got['errors']:.0f} errors", flush=True)  # fmt: skip
    print()
    rates = {name: got["rps"] for name, _, got, _, _ in rows if _ is None}
    head = ("scenario", "store", "req/s", "p50 ms", "p99 ms", "ratio", "target")
    print("{:<16} {:<6} {:>8} {:>7} {:>7} {:>6}  {}".format(*head))
    for name, store_name, got, base, target in rows:
        ratio = got["rps"] / rates[base] if base else 1.0
        verdict = (
            f">= {target:g}x {'PASS' if ratio >= target else 'MISS'}" if target else "baseline"
        )
        row = (name, store_name, got["rps"], got["p50_ms"], got["p99_ms"], ratio, verdict)
        print("{:<16} {:<6} {:>8.0f} {:>7.1f} {:>7.1f} {:>6.2f}  {}".format(*row))


if __name__ == "__main__":
    main()
