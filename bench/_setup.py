"""Shared helpers of the gateway and worker benchmarks (not a benchmark itself).

Free ports, a temp ``config.yaml`` that points every system at one simulator process,
fixed secrets in the environment (the simulators and the hub read the same variables),
processes started in their own session (the server under test with ``taskset -c 0``) and
always stopped, redis-server on a free port, CPU seconds from ``/proc``, and two load
generators: ``wrk`` (``apt-get install -y wrk``) when it is on PATH, else a Python one
(raw asyncio keep-alive sockets, in its own process on another core).

``python bench/_setup.py --load SPEC.json`` is the Python generator's entry point.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = (ROOT / "adapters/uniware/samples/approved-po.json").read_bytes()
CODE = b'"code": "PO0194"'
INBOUND_PATH = "/inbound/uniware/approvedPurchaseOrder"
SERVER_CPU = "0"  # the server under test
OTHER_CPU = str(min(1, (os.cpu_count() or 1) - 1))  # load generator, simulators, redis
CLK_TCK = os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    """The 1/5/15-minute load averages: figures of a shared machine are read with them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def verdict(targets: list[tuple[str, float, float | None, float | None]]) -> None:
    """Print issue 14's targets as a final block: each ``(name, measured, low, high)``
    (``low <= measured <= high``; None: no bound on that side), "met" or by how much it is
    missed (the factor and the gap to the bound)."""
    print(f"\nTARGETS (issue 14), load average {loadavg()}:")
    width = max(len(name) for name, *_ in targets)
    for name, got, low, high in targets:
        goal = f"{low:g}-{high:g}" if low is not None and high is not None else (
            f">= {low:g}" if low is not None else f"<= {high:g}")  # fmt: skip
        if low is not None and got < low:
            state = f"missed by {low / got:.2f}x ({low - got:.2f} short)" if got > 0 else "missed"
        elif high is not None and got > high:
            state = f"missed by {got / high:.2f}x ({got - high:.2f} over)"
        else:
            state = "met"
        print(f"  {name:<{width}}  {got:8.2f}  target {goal:<10}  {state}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def body_parts() -> tuple[bytes, bytes]:
    """The Uniware sample split around its PO code: ``head + code + tail`` is a new PO."""
    head, sep, tail = SAMPLE.partition(CODE)
    assert sep, "the Uniware sample's code moved"
    return head + b'"code": "', b'"' + tail


def po_body(code: str) -> bytes:
    head, tail = body_parts()
    return head + code.encode() + tail


# config and secrets -------------------------------------------------------------------
def write_config(
    tmp: Path, sim_url: str, store: str, routes: dict[str, list[str]], concurrency: int | None
) -> Path:
    """The repo's config.yaml with every system at ``sim_url``, ``store`` and ``routes``."""
    text = (ROOT / "config.yaml").read_text()
    text = text.replace("http://127.0.0.1:9100", sim_url.rstrip("/"))
    text = re.sub(r"(?m)^store:.*$", f"store: {store}", text)
    text = re.sub(r"(?m)^mappings_dir:.*$", f"mappings_dir: {ROOT / 'mappings'}", text)
    lines = "".join(f"  - from: {src}\n    to: [{', '.join(dst)}]\n" for src, dst in routes.items())
    text = re.sub(r"(?ms)^routes:.*?(?=^api_keys:)", f"routes:\n{lines}\n", text)
    if concurrency:
        text = re.sub(r"(?m)^(    base_url: .*)$", rf"\1\n    concurrency: {concurrency}", text)
    path = tmp / "config.yaml"
    path.write_text(text)
    return path


def bench_env(config_file: Path) -> dict[str, str]:
    """Every secret the config names, set to a fixed bench value (hub and simulators)."""
    from adapters import registry
    from gateway.settings import secrets
    from gateway.settings.config import load_config

    config = load_config(str(config_file), registry.system_ids())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "POHUB_CONFIG": str(config_file)}
    env.pop("POHUB_STORE", None)
    for system, cfg in config.systems.items():
        if cfg.auth is not None:
            env.update(
                {n: f"bench-{system}-{k}" for k, n in secrets.auth_env_names(cfg.auth).items()}
            )
        inbound = cfg.inbound_auth
        if inbound is not None and inbound.basic is not None:
            env[inbound.basic.username_env] = f"{system}-user"
            env[inbound.basic.password_env] = f"{system}-inbound-pass"
        elif inbound is not None and inbound.token_env:
            env[inbound.token_env] = f"{system}-inbound-token"
    for key in config.api_keys:
        env[key.key_env] = f"bench-key-{key.name}"
    return env


def inbound_headers(config_file: Path, env: dict[str, str], system: str) -> dict[str, str]:
    """What ``system`` sends the hub: its inbound credentials as the config names them."""
    from adapters import registry
    from gateway.api.auth import inbound_headers as headers_for
    from gateway.settings.config import load_config

    auth = load_config(str(config_file), registry.system_ids()).systems[system].inbound_auth
    return headers_for(auth, env)


# processes ----------------------------------------------------------------------------
class Procs:
    """Every process a benchmark starts; all stopped on exit, error or SIGTERM."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Procs:
        signal.signal(signal.SIGTERM, _raise_exit)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.running):
            self.stop(proc)

    def start(
        self, name: str, cmd: list[str], env: dict[str, str] | None = None, cpu: str | None = None
    ) -> subprocess.Popen[bytes]:
        if cpu is not None and shutil.which("taskset"):
            cmd = ["taskset", "-c", cpu, *cmd]
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env or os.environ.copy(), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        log.close()
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if proc in self.running:
            self.running.remove(proc)

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.logs / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


def _raise_exit(*_: object) -> None:
    raise SystemExit(143)


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Until ``port`` accepts a connection (start-up takes tens of seconds on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{proc.args} did not listen on {port} in {timeout} s")


def pohub(procs: Procs, name: str, args: list[str], env: dict[str, str],
          cpu: str | None = None, port: int | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    proc = procs.start(name, [sys.executable, "-m", "gateway.cli", *args], env, cpu)
    if port is not None:
        try:
            wait_port(port, proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{procs.log_tail(name)}") from None
    return proc


def start_simulators(procs: Procs, env: dict[str, str]) -> str:
    port = free_port()
    pohub(procs, "simulate", ["simulate", "--port", str(port)], env, OTHER_CPU, port)
    return f"http://127.0.0.1:{port}"


def start_redis(procs: Procs, cpu: str | None = OTHER_CPU, data_dir: Path | None = None) -> str:
    """redis-server on a free port; with ``data_dir``, durable as docs/redis.md asks (AOF,
    ``appendfsync everysec``, ``noeviction``) with its files there, else in memory only."""
    if not shutil.which("redis-server"):
        raise RuntimeError("redis-server is not on PATH")
    port = free_port()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--daemonize", "no"]  # fmt: skip
    if data_dir is not None:
        cmd[cmd.index("--appendonly") + 1] = "yes"
        cmd += ["--appendfsync", "everysec", "--maxmemory-policy", "noeviction",
                "--dir", str(data_dir)]  # fmt: skip
    wait_port(port, procs.start(f"redis-{port}", cmd, cpu=cpu))
    return f"redis://127.0.0.1:{port}/0"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def received(sim_url: str, system: str, clear: bool = False) -> int:
    """Deliveries the simulator accepted (``GET /{system}/_received``); ``clear`` forgets them."""
    import httpx

    with httpx.Client(timeout=60) as client:
        count = len(client.get(f"{sim_url}/{system}/_received").json()["received"])
        if clear:
            client.delete(f"{sim_url}/{system}/_received")
    return count


# load generation ----------------------------------------------------------------------
def load(url: str, path: str, headers: dict[str, str], run_id: str, duration: float,
         concurrency: int, max_requests: int, use_wrk: bool = True) -> dict[str, float]:  # fmt: skip
    """POST a new Uniware PO per request for ``duration`` s (at most ``max_requests``).

    Returns requests, errors, seconds, rps, p50_ms, p99_ms (latency as the sender saw it).
    """
    if use_wrk and shutil.which("wrk"):
        return _wrk(url, path, headers, run_id, duration, concurrency, max_requests)
    spec = {"url": url, "path": path, "headers": headers, "run_id": run_id,
            "duration": duration, "concurrency": concurrency, "max_requests": max_requests}  # fmt: skip
    cmd = [sys.executable, str(Path(__file__)), "--load", json.dumps(spec)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", OTHER_CPU, *cmd]
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=duration + 60, cwd=ROOT)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


WRK_LUA = """
local head = [==[%(head)s]==]
local tail = [==[%(tail)s]==]
local maxn = %(maxn)d
local counter = 0
local nthreads = 0
wrk.method = "POST"
wrk.headers = {%(headers)s}
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
function request()
  counter = counter + 1
  if counter > maxn then wrk.thread:stop() end
  return wrk.format(nil, "%(path)s", nil, head .. "%(run)s-" .. tid .. "-" .. counter .. tail)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %%d %%d %%d %%.1f %%.1f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _wrk(url: str, path: str, headers: dict[str, str], run_id: str, duration: float,
         concurrency: int, max_requests: int) -> dict[str, float]:  # fmt: skip
    head, tail = body_parts()
    assert b"]==]" not in head + tail
    threads = 1
    all_headers = {**headers, "Content-Type": "application/json"}
    lua = WRK_LUA % {
        "head": head.decode(), "tail": tail.decode(), "maxn": max(1, max_requests // threads),
        "headers": ", ".join(f'["{k}"] = "{v}"' for k, v in all_headers.items()),
        "path": path, "run": run_id,
    }  # fmt: skip
    script = Path(os.environ.get("TMPDIR", "/tmp")) / f"pohub-bench-{os.getpid()}-{run_id}.lua"
    script.write_text(lua)
    cmd = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(duration))}s",
           "--timeout", "10s", "-s", str(script), url]  # fmt: skip
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", OTHER_CPU, *cmd]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    finally:
        script.unlink(missing_ok=True)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    n, micros, errors, p50, p99 = (float(x) for x in line.split()[1:])
    seconds = micros / 1e6
    return {"requests": n, "errors": errors, "seconds": seconds, "rps": (n - errors) / seconds,
            "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}  # fmt: skip


async def _py_load(spec: dict[str, Any]) -> dict[str, float]:
    """Closed-loop keep-alive HTTP/1.1 over raw asyncio streams (little CPU per request)."""
    from urllib.parse import urlsplit

    target = urlsplit(spec["url"])
    head, tail = body_parts()
    hdrs = "".join(f"{k}: {v}\r\n" for k, v in spec["headers"].items())
    prefix = (f"POST {spec['path']} HTTP/1.1\r\nHost: {target.netloc}\r\n{hdrs}"
              "Content-Type: application/json\r\n").encode()  # fmt: skip
    deadline = time.monotonic() + spec["duration"]
    budget = [spec["max_requests"]]
    latencies: list[float] = []
    errors = [0]

    async def conn(cid: int) -> None:
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        n = 0
        try:
            while time.monotonic() < deadline and budget[0] > 0:
                budget[0] -= 1
                n += 1
                body = head + f"{spec['run_id']}-{cid}-{n}".encode() + tail
                started = time.perf_counter()
                writer.write(prefix + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if not status_line.split(b" ")[1].startswith(b"2"):
                    errors[0] += 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(conn(i) for i in range(spec["concurrency"])))
    seconds = time.monotonic() - started
    latencies.sort()
    n = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    return {"requests": n, "errors": errors[0], "seconds": seconds,
            "rps": (n - errors[0]) / seconds, "p50_ms": pct(0.5), "p99_ms": pct(0.99)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="the benchmarks' Python load generator")
    parser.add_argument("--load", required=True, help="JSON spec")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_py_load(json.loads(args.load)))))


if __name__ == "__main__":
    main()
