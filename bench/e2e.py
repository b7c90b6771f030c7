"""End to end on one core: Node-RED map+forward vs pohub serve (SQLite, Redis), one run.

Uniware pushes a one-line approved PO (adapters/uniware/samples/approved-po.json, a new PO
code per request) and the system under test delivers Leo's ``processAsync`` body to a Node
sink (bench/sink.js: plain node:http, answers Leo's success envelope, counts requests and
distinct documentNumbers at ``GET /count``).

- Node-RED 4 (no durability): a generated flow of four nodes, ``http in`` (POST) ->
  ``function`` (inbound token check, Uniware PO -> Leo processAsync body and headers) ->
  ``http request`` (keep-alive to the sink) -> ``http response`` (the sink's envelope and
  status go back to the sender). It answers after the delivery, so accepted = delivered.
- pohub serve, SQLite: ``pohub serve --workers 1`` (gateway and one worker in one process),
  route uniware -> leo only, Leo's base_url at the sink.
- pohub serve, Redis: the same on a redis-server with AOF (``appendonly yes``,
  ``appendfsync everysec``, docs/redis.md) in a temp dir.

The system under test runs with ``taskset -c 0`` (Node-RED included); the sink, redis-server
and the load generator run on core 1. Load: ``wrk`` when on PATH (``apt-get install -y
wrk``; a Lua script makes every PO code new), else the Python generator of bench/_setup.py;
``--concurrency`` keep-alive connections, closed loop. Per system: a 1 s warm-up, drained,
then ``--duration`` s of load, then the backlog is drained.

Columns: accepted/s = 2xx answers / load seconds; delivered/s = POs the sink got / (load +
drain seconds); vs Node-RED = delivered/s over Node-RED's; p50/p99 = accept latency the
sender saw; CPU s / 1,000 = utime + stime of the process under test (from /proc) over load and
drain, per 1,000 delivered; drain = seconds from the end of the load to the last delivery.
"all delivered": every PO the hub stored (``pohub_received_total``) reached the sink exactly
once, and the hub stored at least every PO it answered 2xx (at most ``--concurrency`` more:
requests wrk abandons at its deadline may still be accepted); for Node-RED, the sink got at
least every PO Node-RED answered, each once.

Node-RED comes from the npm registry into bench/.node/ (git-ignored). When it is missing the
script runs ``npm install --prefix bench/.node node-red@4`` itself (``--no-install``: print
the command and stop instead). Needs node >= 18 and npm.

    uv run python bench/e2e.py [--duration 10] [--quick] [--only node-red,sqlite,redis]
                               [--concurrency 64] [--no-wrk] [--profile DIR]

``--profile DIR`` records each pohub run with ``py-spy record`` (on core 1, 100 Hz, raw
collapsed stacks per function in DIR, idle threads left out; ``uv pip install py-spy``) over
load and drain, and prints the top self-time functions; it perturbs the figures.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup as s

ROUTES = {"uniware": ["leo"]}
NODE_DIR = s.ROOT / "bench" / ".node"
RED_JS = NODE_DIR / "node_modules" / "node-red" / "red.js"
SINK_JS = s.ROOT / "bench" / "sink.js"
NPM_INSTALL = ["npm", "install", "--prefix", "bench/.node", "node-red@4", "--no-audit",
               "--no-fund"]  # fmt: skip
SYSTEMS = ("node-red", "sqlite", "redis")
TARGETS = {"sqlite": 2.0, "redis": 1.5}
"""Issue 14: delivered/s at least this many times Node-RED's, in the same run."""
LABELS = {"node-red": "Node-RED 4 map+forward (no durability)",
          "sqlite": "pohub serve, SQLite (1 worker in-process)",
          "redis": "pohub serve, Redis AOF (1 worker in-process)"}  # fmt: skip

# The Node-RED function: what pohub's Uniware -> Leo translation writes for this PO
# (documentNumber and erpNumber = the PO code, status and each line's status = statusCode,
# lob/subType and the event/subtypeAppId headers from mappings/leo.yaml's defaults), by hand,
# with no validation, status table or dedup.
MAP_JS = """\
if (msg.req.headers[%(header)s] !== %(token)s) {
  msg.statusCode = 401;
  msg.payload = {status: "Failed", message: "unauthorized"};
  return [null, msg];
}
const po = msg.payload;
const status = po.statusCode;
msg.payload = {
  documentNumber: po.code,
  lob: "DEFAULT",
  status: status,
  errorMessage: null,
  erpNumber: po.code,
  subType: "PO",
  lineInfo: (po.purchaseOrderItems || []).map((item, i) => (
    {lineNumber: String(i + 1), status: status, scheduleInfo: []})),
};
msg.headers = {
  "Authorization": %(auth)s,
  "Content-Type": "application/json",
  "event": "POStatusUpdate",
  "subtypeAppId": "pohub",
};
return [msg, null];
"""

SETTINGS_JS = """\
module.exports = {
  uiHost: "127.0.0.1",
  uiPort: %(port)d,
  userDir: %(dir)s,
  flowFile: "flows.json",
  credentialSecret: false,
  httpAdminRoot: false,
  httpNodeRoot: "/",
  diagnostics: {enabled: false, ui: false},
  runtimeState: {enabled: false, ui: false},
  telemetry: {enabled: false, updateNotification: false},
  logging: {console: {level: "warn", metrics: false, audit: false}},
};
"""


# Node-RED and the sink ---------------------------------------------------------------------
def ensure_node_red(install: bool) -> None:
    if RED_JS.exists():
        return
    command = " ".join(NPM_INSTALL)
    if not (shutil.which("node") and shutil.which("npm")):
        raise SystemExit(f"node and npm are needed (Node-RED, the sink); then: {command}")
    if not install:
        raise SystemExit(f"Node-RED is not in bench/.node/; install it with:\n  {command}")
    print(f"installing Node-RED into bench/.node/ (git-ignored): {command}", flush=True)
    subprocess.run(NPM_INSTALL, cwd=s.ROOT, check=True)


def write_node_red(tmp: Path, port: int, leo_url: str, inbound: dict[str, str],
                   leo_auth: str) -> Path:  # fmt: skip
    """settings.js and flows.json in ``tmp``; returns the settings file."""
    ((header, token),) = inbound.items()
    func = MAP_JS % {"header": json.dumps(header.lower()), "token": json.dumps(token),
                     "auth": json.dumps(leo_auth)}  # fmt: skip
    flow: list[dict[str, Any]] = [
        {"id": "t1", "type": "tab", "label": "uniware -> leo"},
        {"id": "in", "type": "http in", "z": "t1", "name": "uniware approved PO",
         "url": s.INBOUND_PATH, "method": "post", "upload": False, "swaggerDoc": "",
         "wires": [["map"]]},
        {"id": "map", "type": "function", "z": "t1", "name": "uniware PO -> leo processAsync",
         "func": func, "outputs": 2, "timeout": 0, "noerr": 0, "initialize": "",
         "finalize": "", "libs": [], "wires": [["req"], ["res"]]},
        {"id": "req", "type": "http request", "z": "t1", "name": "leo processAsync",
         "method": "POST", "ret": "txt", "paytoqs": "ignore", "url": leo_url, "tls": "",
         "persist": True, "proxy": "", "insecureHTTPParser": False, "authType": "",
         "senderr": False, "headers": [], "wires": [["res"]]},
        {"id": "res", "type": "http response", "z": "t1", "name": "", "statusCode": "",
         "headers": {}, "wires": []},
    ]  # fmt: skip
    (tmp / "flows.json").write_text(json.dumps(flow, indent=1))
    settings = tmp / "settings.js"
    settings.write_text(SETTINGS_JS % {"port": port, "dir": json.dumps(str(tmp))})
    return settings


def sink_count(sink: str, clear: bool = False) -> dict[str, int]:
    import httpx

    method = "DELETE" if clear else "GET"
    return dict(httpx.request(method, f"{sink}/count", timeout=30).json())


def hub_counters(url: str) -> dict[str, float]:
    """received (uniware), delivered, dead and parked (leo) from the hub's /metrics."""
    import httpx

    text = httpx.get(f"{url}/metrics", timeout=60).text
    out = {"received": 0.0, "delivered": 0.0, "dead": 0.0, "parked": 0.0}
    for key, name in (("received", "pohub_received_total"), ("delivered", "pohub_delivered_total"),
                      ("dead", "pohub_dead_total"), ("parked", "pohub_parked_total")):  # fmt: skip
        for m in re.finditer(rf"(?m)^{name}\{{[^}}]*\}} ([0-9.e+]+)$", text):
            out[key] += float(m.group(1))
    return out


def settle(url: str, quiet_s: float = 0.5, timeout: float = 30.0) -> dict[str, float]:
    """The hub's counters once ``received`` stops moving (requests wrk left in flight)."""
    got = hub_counters(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        again = hub_counters(url)
        if again["received"] == got["received"]:
            return again
        got = again
    return got


def wait_ready(url: str, headers: dict[str, str], proc: subprocess.Popen[bytes],
               timeout: float = 30.0) -> None:  # fmt: skip
    """Until a PO is answered 2xx (Node-RED listens before its flows run)."""
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            got = httpx.post(url + s.INBOUND_PATH, content=s.po_body(f"probe-{uuid.uuid4().hex}"),
                             headers={**headers, "Content-Type": "application/json"}, timeout=5)  # fmt: skip
            if got.is_success:
                return
            last = f"{got.status_code} {got.text[:200]}"
        except Exception as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{url} answered no PO 2xx in {timeout} s: {last}")


# one system ------------------------------------------------------------------------------
def drain(sink: str, pid: int, base: int, expected: int | None, idle_s: float, timeout: float,
          state: tuple[int, float, float] | None = None) -> tuple[int, float, float]:  # fmt: skip
    """Poll the sink until ``expected`` POs arrived since ``base`` (or none for ``idle_s``).

    Returns and takes (``state``, to go on) the count, the time of the last change and the
    CPU seconds of ``pid`` at that change.
    """
    now = time.monotonic()
    if state is None:
        state = (sink_count(sink)["requests"] - base, now, s.cpu_seconds(pid))
    count, changed_at, cpu_then = state
    started = quiet_from = now
    while not (expected is not None and count >= expected):
        if now - quiet_from > idle_s or now - started > timeout:
            break
        time.sleep(0.05)
        cpu = s.cpu_seconds(pid)
        new = sink_count(sink)["requests"] - base
        now = time.monotonic()
        if new != count:
            count, changed_at, cpu_then, quiet_from = new, now, cpu, now
    return count, changed_at, cpu_then


def measure(args: argparse.Namespace, system: str, url: str, headers: dict[str, str],
            proc: subprocess.Popen[bytes], sink: str) -> dict[str, Any]:  # fmt: skip
    hub = system != "node-red"
    run = f"{system}-{uuid.uuid4().hex[:8]}"
    first = sink_count(sink)  # before this process sent anything
    base, unique_base = first["requests"], first["unique"]
    wait_ready(url, headers, proc)
    s.load(url, s.INBOUND_PATH, headers, run + "w", args.warmup, args.concurrency, 200_000,
           args.wrk)  # fmt: skip
    # the warm-up's backlog (and what wrk left in flight) is delivered before the clock starts
    before_hub = settle(url) if hub else None
    stored = int(before_hub["received"]) if before_hub else None
    drain(sink, proc.pid, base, stored, 10.0 if hub else 1.0, 120.0)
    before = sink_count(sink)
    cpu0 = s.cpu_seconds(proc.pid)
    spy = start_profile(args, system, proc.pid)
    started = time.monotonic()
    got = s.load(url, s.INBOUND_PATH, headers, run, args.duration, args.concurrency,
                 args.max_requests, args.wrk)  # fmt: skip
    load_end = time.monotonic()
    idle = 3.0 if hub else 1.0
    timeout = max(120.0, 20 * args.duration)
    state = (sink_count(sink)["requests"] - before["requests"], load_end, s.cpu_seconds(proc.pid))
    count, last, cpu1 = drain(sink, proc.pid, before["requests"], None, idle, timeout, state)
    after_hub = settle(url) if hub else None
    if before_hub is not None and after_hub is not None:
        stored = int(after_hub["received"] - before_hub["received"])
        if count < stored:  # a pause longer than ``idle``: wait for the rest
            state = (count, last, cpu1)
            count, last, cpu1 = drain(sink, proc.pid, before["requests"], stored, idle, timeout,
                                      state)  # fmt: skip
            after_hub = settle(url)
    stop_profile(spy, args, system)
    after = sink_count(sink)
    answered = int(got["requests"] - got["errors"])
    unique = after["unique"] - before["unique"]
    end = max(last, load_end)
    row: dict[str, Any] = {
        "system": system, "answered": answered, "errors": int(got["errors"]),
        "accepted_rps": answered / got["seconds"], "delivered": count,
        "delivered_rps": count / (end - started), "p50_ms": got["p50_ms"],
        "p99_ms": got["p99_ms"], "cpu_per_1000": (cpu1 - cpu0) / max(count, 1) * 1000,
        "drain_s": max(0.0, last - load_end), "unique": unique,
    }  # fmt: skip
    once = unique == count and after["refused"] == before["refused"]
    if before_hub is not None and after_hub is not None:
        # since the process started (probes and warm-up included): every PO the hub stored
        # reached the sink once, none parked or dead; in the window it stored every PO it
        # answered 2xx, and at most the requests wrk abandoned in flight more
        stored = int(after_hub["received"] - before_hub["received"])
        total = after["requests"] - base
        once_all = total == after["unique"] - unique_base
        lost = after_hub["dead"] + after_hub["parked"]
        row["stored"] = stored
        row["all_delivered"] = (
            once_all and total == after_hub["received"] == after_hub["delivered"] and lost == 0
            and answered <= stored <= answered + args.concurrency
        )  # fmt: skip
        row["check"] = (f"sink {count} / stored {stored} / answered {answered}; since start: "
                        f"sink {total} / stored {after_hub['received']:.0f} / delivered "
                        f"{after_hub['delivered']:.0f}")  # fmt: skip
    else:
        row["all_delivered"] = once and answered <= count <= answered + args.concurrency
        row["check"] = f"sink {count} / answered {answered}"
    return row


# py-spy ------------------------------------------------------------------------------------
def start_profile(args: argparse.Namespace, system: str,
                  pid: int) -> subprocess.Popen[bytes] | None:  # fmt: skip
    if not args.profile or system == "node-red":
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = Path(args.profile) / f"e2e-{system}.txt"
    cmd = [spy, "record", "--pid", str(pid), "--rate", "100", "--format", "raw", "--function",
           "--nonblocking", "-o", str(out)]  # fmt: skip
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", s.OTHER_CPU, *cmd]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_profile(spy: subprocess.Popen[bytes] | None, args: argparse.Namespace,
                 system: str) -> None:  # fmt: skip
    if spy is None:
        return
    spy.send_signal(2)  # SIGINT: py-spy writes its file and exits
    _, err = spy.communicate(timeout=60)
    out = Path(args.profile) / f"e2e-{system}.txt"
    if not out.exists():
        print(f"  py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
        return
    print(f"  py-spy profile of {system}: {out}")
    for share, func in top_self(out, 10):
        print(f"    {share:5.1f}%  {func}")


def top_self(raw: Path, n: int) -> list[tuple[float, str]]:
    """The ``n`` frames with the most self time in py-spy's collapsed stacks."""
    selfs: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        selfs[stack.rsplit(";", 1)[-1]] += int(count)
        total += int(count)
    return [(100 * c / total, f) for f, c in selfs.most_common(n)]


# the run ---------------------------------------------------------------------------------
def leo_authorization(config_file: Path, env: dict[str, str]) -> str:
    from adapters import registry
    from gateway.settings import secrets
    from gateway.settings.config import load_config

    auth = load_config(str(config_file), registry.system_ids()).systems["leo"].auth
    assert auth is not None and auth.bearer is not None, "config.yaml's Leo auth moved"
    token = env[secrets.auth_env_names(auth)["token"]]
    return f"{auth.bearer.scheme} {token}" if auth.bearer.scheme else token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per system")
    parser.add_argument("--quick", action="store_true", help="3 s per system, 0.5 s warm-up")
    parser.add_argument("--concurrency", type=int, default=64, help="connections")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="per system")
    parser.add_argument("--only", default=",".join(SYSTEMS), help="systems, comma-separated")
    parser.add_argument("--no-wrk", dest="wrk", action="store_false", help="Python generator")
    parser.add_argument("--no-install", dest="install", action="store_false",
                        help="do not npm-install Node-RED when missing")  # fmt: skip
    parser.add_argument("--profile", metavar="DIR", help="py-spy record each pohub run")
    args = parser.parse_args()
    args.warmup = 1.0
    if args.quick:
        args.duration, args.warmup = 3.0, 0.5
    systems = [x.strip() for x in args.only.split(",") if x.strip()]
    if unknown := set(systems) - set(SYSTEMS):
        parser.error(f"unknown systems {sorted(unknown)}; known: {', '.join(SYSTEMS)}")
    if "node-red" in systems:
        ensure_node_red(args.install)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    gen = "wrk" if args.wrk and shutil.which("wrk") else "python"
    print(f"load generator: {gen}, {args.concurrency} connections, {args.duration:g} s per "
          f"system; system under test on core {s.SERVER_CPU}, sink, redis-server and load on "
          f"core {s.OTHER_CPU}", flush=True)  # fmt: skip
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pohub-e2e-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        sink_port = s.free_port()
        sink = f"http://127.0.0.1:{sink_port}"
        probe = s.write_config(tmp, sink, "sqlite:///unused", ROUTES, None)
        env = s.bench_env(probe)
        leo_auth = leo_authorization(probe, env)
        sink_env = {**os.environ, "SINK_PORT": str(sink_port), "SINK_AUTH": leo_auth}
        s.wait_port(sink_port, procs.start("sink", ["node", str(SINK_JS)], sink_env, s.OTHER_CPU))
        redis = ""
        if "redis" in systems:
            (tmp / "redis").mkdir()
            redis = s.start_redis(procs, data_dir=tmp / "redis")
        for system in systems:
            sub = Path(tempfile.mkdtemp(dir=tmp))
            store = f"sqlite:///{sub}/pohub.db" if system == "sqlite" else redis
            config = s.write_config(sub, sink, store or "sqlite:///unused", ROUTES, None)
            env = s.bench_env(config)
            headers = s.inbound_headers(config, env, "uniware")
            port = s.free_port()
            if system == "node-red":
                leo_url = f"{sink}/leo{_leo_path()}"
                settings = write_node_red(sub, port, leo_url, headers, leo_auth)
                cmd = ["node", str(RED_JS), "--settings", str(settings), "--userDir", str(sub)]
                proc = procs.start(system, cmd, env, s.SERVER_CPU)
                s.wait_port(port, proc)
            else:
                proc = s.pohub(procs, system, ["serve", "--config", str(config), "--port",
                               str(port), "--workers", "1"], env, s.SERVER_CPU, port)  # fmt: skip
            try:
                row = measure(args, system, f"http://127.0.0.1:{port}", headers, proc, sink)
            except Exception as exc:
                raise RuntimeError(f"{system}: {exc}\n{procs.log_tail(system)}") from None
            finally:
                procs.stop(proc)
            rows.append(row)
            print(f"  {system}: accepted {row['accepted_rps']:.0f}/s, delivered "
                  f"{row['delivered_rps']:.0f}/s, drain {row['drain_s']:.1f} s, "
                  f"{row['errors']} errors, {row['check']}", flush=True)  # fmt: skip
    print_table(rows)


def _leo_path() -> str:
    from adapters.leo.schema import PATH

    return PATH


def print_table(rows: list[dict[str, Any]]) -> None:
    base = next((r["delivered_rps"] for r in rows if r["system"] == "node-red"), None)
    print()
    print(f"load average at the end: {s.loadavg()}")
    print("| system | accepted/s | delivered/s | vs Node-RED | p50 / p99 accept ms "
          "| CPU s / 1,000 POs | drain s | every accepted PO delivered |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        ratio = f"{r['delivered_rps'] / base:.2f}" if base else "-"
        ok = "yes" if r["all_delivered"] else "NO"
        print(f"| {LABELS[r['system']]} | {r['accepted_rps']:.0f} | {r['delivered_rps']:.0f} | "
              f"{ratio} | {r['p50_ms']:.1f} / {r['p99_ms']:.1f} | {r['cpu_per_1000']:.2f} | "
              f"{r['drain_s']:.1f} | {ok} ({r['check']}) |")  # fmt: skip
    if base:
        s.verdict([(f"delivered/s vs Node-RED, {r['system']}", r["delivered_rps"] / base,
                    TARGETS[r["system"]], None) for r in rows if r["system"] in TARGETS]
                  + [(f"every accepted PO delivered, {r['system']} (1 = yes)",
                      float(r["all_delivered"]), 1.0, None) for r in rows])  # fmt: skip


if __name__ == "__main__":
    main()
