"""Chaos: PO events through the hub while its processes, its Redis and its targets misbehave.

For each store (``--store sqlite|redis|both``) a fresh hub runs as processes, like in
production: ``pohub simulate`` (the five targets), ``pohub serve --workers 0`` (gateway
only) and ``--workers`` ``pohub worker`` processes (``--lease-s 3``), with a temp config
whose targets retry on a short schedule (0.2 s .. 2 s, ``max_age_s`` 900) and time out
after 1 s. Routes: ``uniware -> appliqloud, enkash, leo, alphaalpha``.

The sender pushes ``--pos`` x ``--events`` Uniware ``approvedPurchaseOrder`` events: event
``e`` of a PO is the sample with that PO's ``code`` and line quantity ``10 + e`` (so every
event changes the PO). A PO's events go out one after another (the next only once the
previous was accepted, i.e. answered 2xx); a push that fails (gateway down, 5xx,
connection error) is sent again, identical, until accepted (at most 120 s per push).

While it sends, chaos runs (every step bounded):
* a random worker gets SIGKILL every 2-6 s and is restarted 0.5 s later;
* the gateway gets SIGKILL at 40 % of the pushes and is restarted 1 s later;
* (redis) redis-server (AOF on, ``appendfsync everysec``) is stopped (SIGTERM) at 60 % (and
  at least 3 s after the gateway kill) and restarted on the same port and data directory 1 s later;
* every target fails 30 % of requests, rotating every 5 s between 500, 429 with
  ``Retry-After: 1`` and a 1.5 s delay (a timeout for the hub) then 503.
Chaos goes on ``--chaos-after`` s after the last push (workers are busiest then), then stops, faults are cleared and the hub is given up to
``--drain-timeout`` s to finish every delivery.

Then the checks, at the simulators (``GET /{target}/_received``) against the hub's records
(``GET /api/v1/messages?system=uniware``, paged): a target request is tied to its event by
its ``Idempotency-Key`` (``<delivery id>:<round>:<step name>``; the delivery ids come from the records).
* exactly once in effect: no Idempotency-Key recorded twice (the kit records a repeat of a
  key once and counts it in ``duplicates``: "duplicates absorbed");
* order: per (target, PO) the events arrive in the order they were accepted;
* agreement: every accepted event is in the hub's records; a delivery the hub calls
  ``delivered`` reached the target, a ``dead`` one did not; nothing dead that should not be
  (no delivery should end dead here: every fault is retryable);
* lost = accepted (event, target) pairs that had no effect at the target (must be 0),
  of which "no-op" = the hub marked delivered with no request sent.

    uv run python bench/chaos.py [--store both] [--pos 1000 --events 10] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup as s

TARGETS = ["appliqloud", "enkash", "leo", "alphaalpha"]
ROUTES = {"uniware": TARGETS}
RETRY = "    retry: {schedule: [0.2, 0.5, 1, 2], max_age_s: 900}\n    timeout_s: 1"
FAULTS = [
    {"fail_rate": 0.3, "status": 500},
    {"fail_rate": 0.3, "status": 429, "retry_after": 1},
    {"fail_rate": 0.3, "status": 503, "delay_ms": 1500},  # the hub times out after 1 s
]
ADMIN = {"Authorization": "Bearer bench-key-admin"}


def chaos_config(tmp: Path, sim: str, store: str) -> Path:
    path = s.write_config(tmp, sim, store, ROUTES, None)
    text = re.sub(
        r"(?m)^(    base_url: .*)$", lambda m: m.group(1) + "\n" + RETRY, path.read_text()
    )
    path.write_text(text)
    return path


def po_event(base: dict[str, Any], code: str, event: int) -> bytes:
    body = dict(base)
    body["code"] = code
    qty = 10 + event
    line = dict(base["purchaseOrderItems"][0], quantity=qty, total=qty * 100)
    body["purchaseOrderItems"] = [line]
    return json.dumps(body).encode()


class Redis:
    """redis-server with AOF on a fixed port and data dir, so it can be restarted."""

    def __init__(self, procs: s.Procs, tmp: Path) -> None:
        self.procs, self.port, self.dir = procs, s.free_port(), tmp / "redis"
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
               str(self.dir), "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]  # fmt: skip
        self.proc = self.procs.start("redis", cmd, cpu=s.OTHER_CPU)
        s.wait_port(self.port, self.proc)

    def restart(self) -> None:
        assert self.proc is not None
        self.procs.stop(self.proc)  # SIGTERM: redis fsyncs the AOF and exits
        time.sleep(1)
        self.start()


class Hub:
    """Gateway + workers as processes; kill and restart them."""

    def __init__(self, procs: s.Procs, config: Path, env: dict[str, str], n_workers: int) -> None:
        self.procs, self.config, self.env = procs, config, env
        self.port = s.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.gateway = self._gateway()
        self.workers = [self._worker(i) for i in range(n_workers)]
        self.kills = Counter[str]()

    def _gateway(self) -> subprocess.Popen[bytes]:
        args = ["serve", "--config", str(self.config), "--port", str(self.port), "--workers", "0"]
        return s.pohub(self.procs, "gateway", args, self.env, None, self.port)

    def _worker(self, i: int) -> subprocess.Popen[bytes]:
        args = ["worker", "--config", str(self.config), "--lease-s", "3", "--concurrency", "32"]
        return s.pohub(self.procs, f"worker-{i}", args, self.env)

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc in self.procs.running:
            self.procs.running.remove(proc)

    def kill_worker(self, rng: random.Random) -> None:
        i = rng.randrange(len(self.workers))
        self._kill(self.workers[i])
        self.kills["worker"] += 1
        time.sleep(0.5)
        self.workers[i] = self._worker(i)

    def kill_gateway(self) -> None:
        self._kill(self.gateway)
        self.kills["gateway"] += 1
        time.sleep(1)
        self.gateway = self._gateway()

    def counts(self) -> dict[str, int] | None:
        try:
            got: dict[str, int] = httpx.get(
                f"{self.url}/api/v1/stats/counts", headers=ADMIN, timeout=10
            ).json()
            return got
        except (httpx.HTTPError, ValueError):
            return None


# the sender -----------------------------------------------------------------------------
class Sender:
    def __init__(self, url: str, headers: dict[str, str], pos: int, events: int, run: str) -> None:
        self.url, self.headers, self.pos, self.events, self.run = url, headers, pos, events, run
        self.total = pos * events
        self.base = json.loads(s.SAMPLE)
        self.pushes = 0  # HTTP attempts
        self.failed_pushes = 0
        self.accepted: dict[str, list[str]] = defaultdict(list)  # PO -> message ids, send order
        self.n_accepted = 0
        self.given_up = 0
        self.rejected = 0
        self.done = False

    def code(self, po: int) -> str:
        return f"C{self.run}-{po:05d}"

    async def push(self, client: httpx.AsyncClient, po: int, event: int) -> None:
        body = po_event(self.base, self.code(po), event)
        deadline = time.monotonic() + 120
        for _ in range(2000):
            if time.monotonic() > deadline:
                break
            self.pushes += 1
            try:
                reply = await client.post(s.INBOUND_PATH, content=body, headers=self.headers)
            except httpx.HTTPError:
                reply = None
            if reply is not None and reply.status_code < 300:
                self.accepted[self.code(po)].append(reply.headers["X-Pohub-Message-Id"])
                self.n_accepted += 1
                return
            if reply is not None and 400 <= reply.status_code < 500 and reply.status_code != 429:
                self.rejected += 1
                print(f"  rejected {reply.status_code}: {reply.text[:200]}", flush=True)
                return
            self.failed_pushes += 1
            await asyncio.sleep(0.2)
        self.given_up += 1

    async def run_all(self, lanes: int = 32) -> None:
        async def lane(k: int) -> None:
            async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
                for event in range(self.events):
                    for po in range(k, self.pos, lanes):
                        await self.push(client, po, event)

        try:
            await asyncio.gather(*(lane(k) for k in range(lanes)))
        finally:
            self.done = True


def set_faults(sim: str, tick: int | None) -> None:
    with httpx.Client(timeout=10) as client:
        for i, target in enumerate(TARGETS):
            faults = {} if tick is None else FAULTS[(tick + i) % len(FAULTS)]
            client.put(f"{sim}/{target}/_faults", json=faults).raise_for_status()


def chaos(hub: Hub, redis: Redis | None, sim: str, sender: Sender, log: list[str],
          stop: threading.Event) -> None:  # fmt: skip
    rng = random.Random(7)
    started = time.monotonic()
    next_kill = started + rng.uniform(2, 6)
    next_fault, tick = started, 0
    gateway_done = redis_done = False
    gateway_at = started
    while not stop.is_set() and time.monotonic() - started < 3600:
        now = time.monotonic()
        progress = (sender.n_accepted + sender.given_up + sender.rejected) / sender.total
        if now >= next_fault:
            set_faults(sim, tick)
            tick, next_fault = tick + 1, now + 5
        if now >= next_kill:
            hub.kill_worker(rng)
            next_kill = time.monotonic() + rng.uniform(2, 6)
        if not gateway_done and progress >= 0.4:
            hub.kill_gateway()
            gateway_done, gateway_at = True, time.monotonic()
            log.append(f"gateway SIGKILL at {progress:.0%} of pushes, t={now - started:.1f} s")
        if (redis is not None and not redis_done and progress >= 0.6 and gateway_done
                and time.monotonic() - gateway_at >= 3):  # fmt: skip
            redis.restart()
            redis_done = True
            log.append(
                f"redis-server restarted at {progress:.0%} of pushes, t={now - started:.1f} s"
            )
        time.sleep(0.1)
    log.append(f"{hub.kills['worker']} worker SIGKILLs")


# the checks -------------------------------------------------------------------------------
def hub_messages(url: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=url, headers=ADMIN, timeout=120) as client:
        offset = 0
        for _ in range(10_000):
            page = client.get("/api/v1/messages", params={"system": "uniware", "limit": 500,
                                                          "offset": offset}).json()  # fmt: skip
            for m in page["items"]:
                out[m["id"]] = m
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break
    return out


def check(sim: str, hub_url: str, sender: Sender) -> dict[str, Any]:
    received: dict[str, dict[str, Any]] = {}
    with httpx.Client(timeout=120) as client:
        for t in TARGETS:
            received[t] = client.get(f"{sim}/{t}/_received").json()
    messages = hub_messages(hub_url)
    owner = {d["id"]: m["id"] for m in messages.values() for d in m["deliveries"]}
    order_of = {mid: (po, i) for po, ids in sender.accepted.items() for i, mid in enumerate(ids)}
    r: dict[str, Any] = Counter()
    problems: list[str] = []
    why = Counter[str]()
    per_target = {t: Counter[str]() for t in TARGETS}
    dups: dict[str, int] = {}
    seen_at: dict[str, set[str]] = {t: set() for t in TARGETS}  # message ids with an effect
    for t in TARGETS:
        keys = Counter[str]()
        sequence: dict[str, list[str]] = defaultdict(list)
        for rec in received[t]["received"]:
            key = rec["headers"].get("idempotency-key")
            if key is None:
                r["requests without a key"] += 1
                continue
            keys[key] += 1
            # Idempotency-Key = <delivery id>:<sending round>:<step name>
            mid = owner.get(key.rsplit(":", 2)[0], "?")
            if mid not in order_of:
                r["effects of unknown events"] += 1
                continue
            if mid not in seen_at[t]:
                seen_at[t].add(mid)
                sequence[order_of[mid][0]].append(mid)
        r["target requests"] += len(received[t]["received"])
        r["duplicates absorbed"] += received[t]["duplicates"]
        dups[t] = received[t]["duplicates"]
        r["double effects"] += sum(n - 1 for n in keys.values() if n > 1)
        for po, seq in sequence.items():
            idx = [order_of[m][1] for m in seq]
            if idx != sorted(idx):
                r["out-of-order (target, PO)"] += 1
                if len(problems) < 5:
                    problems.append(f"order {t} {po}: event indexes {idx}")
    for ids in sender.accepted.values():
        for mid in ids:
            m = messages.get(mid)
            if m is None:
                r["accepted but not in hub records"] += len(TARGETS)
                continue
            deliveries = {d["target"]: d for d in m["deliveries"]}
            for t in TARGETS:
                d: dict[str, Any] = deliveries.get(t) or {}
                got = mid in seen_at[t]
                state = d.get("state", "missing")
                if got:
                    r["delivered (effect at target)"] += 1
                per_target[t]["delivered" if got else "dead" if state == "dead" else "lost"] += 1
                if state == "delivered" and not got:
                    last = d["attempts"][-1] if d["attempts"] else {}
                    noop = last.get("status") in (0, None) and last.get("step") == 0
                    r[
                        "no-op: hub delivered, nothing sent"
                        if noop
                        else "hub delivered, target has none"
                    ] += 1
                    why[
                        f"{t}: delivered, {'no request (0 steps)' if noop else 'not at target'}"
                    ] += 1
                elif state == "dead":
                    r["dead"] += 1
                    if got:
                        r["dead but at target"] += 1
                    why[f"{t}: dead: {d.get('reason')}"] += 1
                elif state != "delivered":
                    r[f"unfinished ({state})"] += 1
                    if got:
                        r["at target but hub not delivered"] += 1
    r["lost"] = (r["accepted but not in hub records"] + r["hub delivered, target has none"]
                 + r["no-op: hub delivered, nothing sent"]
                 + sum(v for k, v in r.items() if k.startswith("unfinished")))  # fmt: skip
    r["hub messages"] = len(messages)
    problems += [f"{n} x {k}" for k, n in why.most_common(10)]
    return {"counts": dict(r), "problems": problems, "per_target": per_target, "dups": dups}


def run_store(store: str, args: argparse.Namespace) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="pohub-chaos-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        first = s.write_config(tmp, "http://127.0.0.1:1", "sqlite:///x", ROUTES, None)
        sim = s.start_simulators(procs, s.bench_env(first))
        redis = Redis(procs, tmp) if store == "redis" else None
        store_url = redis.url if redis else f"sqlite:///{tmp}/pohub.db"
        config = chaos_config(tmp, sim, store_url)
        env = {**s.bench_env(config), "POHUB_LOG_LEVEL": "WARNING"}
        hub = Hub(procs, config, env, args.workers)
        headers = {"Content-Type": "application/json",
                   **s.inbound_headers(config, env, "uniware")}  # fmt: skip
        sender = Sender(hub.url, headers, args.pos, args.events, run)
        log: list[str] = []
        stop = threading.Event()
        thread = threading.Thread(target=chaos, args=(hub, redis, sim, sender, log, stop))
        started = time.monotonic()
        thread.start()
        try:
            asyncio.run(sender.run_all())
            send_s = time.monotonic() - started
            stop.wait(args.chaos_after)  # workers keep being killed while they deliver
        finally:
            stop.set()
            thread.join(60)
        set_faults(sim, None)
        deadline = time.monotonic() + args.drain_timeout
        counts: dict[str, int] | None = None
        while time.monotonic() < deadline:
            counts = hub.counts()
            if counts and sum(counts.get(k, 0) for k in ("queued", "delivering", "retrying")) == 0:
                break
            time.sleep(1)
        drain_s = time.monotonic() - started - send_s - args.chaos_after
        result = check(sim, hub.url, sender)
        for name in ["gateway", *(f"worker-{i}" for i in range(args.workers))]:
            tail = procs.log_tail(name, 400)
            errors = [ln for ln in tail.splitlines() if "Traceback" in ln or '"error"' in ln]
            if errors:
                result["problems"].append(
                    f"{name} log: {len(errors)} error lines, e.g. {errors[-1][:300]}"
                )
    c = result["counts"]
    print(f"\n== {store}: {args.pos} POs x {args.events} events, {args.workers} workers; "
          f"pushing {send_s:.1f} s, chaos {args.chaos_after:g} s more, then drain {drain_s:.1f} s (hub counts at end: {counts})")  # fmt: skip
    for line in log:
        print(f"  chaos: {line}")
    routed = sender.n_accepted * len(TARGETS)
    print(f"  sent {sender.total} events ({sender.pushes} pushes, {sender.failed_pushes} failed and "
          f"re-sent, {sender.given_up} given up, {sender.rejected} rejected)")  # fmt: skip
    print(f"  accepted {sender.n_accepted} events = {routed} (event, target) deliveries; "
          f"hub records {c.get('hub messages', 0)} messages")  # fmt: skip
    print(f"  delivered {c.get('delivered (effect at target)', 0)}  "
          f"duplicates absorbed {c.get('duplicates absorbed', 0)}  dead {c.get('dead', 0)}  "
          f"lost {c.get('lost', 0)}  double effects {c.get('double effects', 0)}  "
          f"out-of-order {c.get('out-of-order (target, PO)', 0)}")  # fmt: skip
    for t, n in result["per_target"].items():
        print(f"    {t:<11} delivered {n['delivered']:>6}  dead {n['dead']:>5}  lost {n['lost']:>5}  "
              f"duplicates absorbed {result['dups'][t]}")  # fmt: skip
    for k, v in sorted(c.items()):
        print(f"    {k}: {v}")
    for p in result["problems"]:
        print(f"  ! {p}")
    ok = (
        c.get("lost", 0) == 0
        and c.get("dead", 0) == 0
        and not c.get("double effects")
        and not c.get("out-of-order (target, PO)")
        and sender.given_up == 0
    )
    print(f"  verdict: {'PASS' if ok else 'FAIL'}", flush=True)
    return {"store": store, "ok": ok, **c}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["sqlite", "redis", "both"], default="both")
    parser.add_argument("--pos", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    parser.add_argument(
        "--chaos-after",
        type=float,
        default=60.0,
        help="seconds chaos (kills, faults) goes on after the last push",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="100 POs x 5 events, chaos 15 s after the pushes, drain <= 60 s",
    )
    args = parser.parse_args()
    if args.quick:
        args.pos, args.events, args.drain_timeout, args.chaos_after = 100, 5, 60.0, 15.0
    stores = ["sqlite", "redis"] if args.store == "both" else [args.store]
    results = [run_store(store, args) for store in stores]
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
