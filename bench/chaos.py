"""Chaos: PO events from four systems through the hub while its processes, its Redis and its
targets misbehave, and the targets act like the real systems (issue 12).

For each store (``--store sqlite|redis|both``) a fresh hub runs as processes, like in
production: ``pohub simulate`` (the five systems), ``pohub serve --workers 0`` (gateway
only) and ``--workers`` ``pohub worker`` processes (``--lease-s 3``), with a temp config
whose targets retry on a short schedule (0.2 s .. 2 s, ``max_age_s`` 900) and time out after
1 s. The simulators ignore ``Idempotency-Key`` (their default: no vendor document defines
it, ``honour_keys`` stays off), so a request sent twice takes effect twice, as it would at
the real system.

**Sources and routes** (the temp config; every route delivers with the shipped mappings):
``uniware -> leo, appliqloud, alphaalpha``; ``enkash -> leo, appliqloud``; ``leo ->
uniware, enkash``; ``appliqloud -> alphaalpha``. AppliQloud's deliveries go out in bulk requests
(``systems.appliqloud.batch``: ``--appliqloud-batch`` POs at most, default 20, waiting up to
20 ms; 1: one PO a request); each such request carries its members' keys, comma-separated,
and the checks below read each key as its own write. Not routed, and why: Uniware -> EnKash
parks until EnKash names the PO ("identity missing"); anything past APPROVED to AlphaAlpha
dies there (``approve-supplier`` is the supplier's step, ``hubMayApproveForSupplier:
false``), so AlphaAlpha only gets events that ask for CREATED or APPROVED (Leo's CONFIRMED
goes to Uniware and EnKash, and AppliQloud's status-less updates are on POs Leo never
touches).

**The sender** pushes ``--pos`` x ``--events`` (at most 10) events, event ``e`` of a PO
as ``PLANS`` says, line quantity ``10 + e`` where the event carries lines. Even POs follow
the *status* plan: Uniware ``approvedPurchaseOrder`` (CREATED), then EnKash
``req-status-change`` names the PO (``objectId`` ``ENK-<code>``, version 0 -> 1, to
PENDING_APPROVAL) so the hub can write to EnKash, then Leo ``processAsync`` (APPROVED, then
CONFIRMED) and Uniware (APPROVED) take turns. Odd POs follow the *document* plan: Uniware
(CREATED, then APPROVED) and AppliQloud bulk ``update`` (one PO, INR, no status) take
turns. A Leo status that repeats what the hub last wrote to Leo would be an echo (routed
nowhere), so Leo always says something new.

A PO's events go out one after another (the next once the previous was answered 2xx), each
with its own ``Idempotency-Key`` (the hub dedups a re-sent push by it); a push that fails
(gateway down, 5xx, connection error) is sent again, identical, until accepted (at most
120 s per push: else "given up").

While it sends, chaos runs (every step bounded):
* a random worker gets SIGKILL every 2-6 s and is restarted 0.5 s later;
* the gateway gets SIGKILL at 40 % of the pushes and is restarted 1 s later;
* (redis) redis-server (AOF on, ``appendfsync everysec``) is stopped (SIGTERM) at 60 % (and
  at least 3 s after the gateway kill) and restarted on the same port and data directory 1 s later;
* (redis-cluster: 3 primaries + 3 replicas, ``--durability`` as given) instead, the primary
  owning partition 0 gets SIGKILL at the same moment; once its replica has been promoted
  and the cluster is whole again, the killed node restarts and rejoins as a replica
  (``bench/_chaos_cluster.py``);
* every target fails 30 % of requests, rotating every 5 s between 500, 429 with
  ``Retry-After: 1`` and a 1.5 s delay (a timeout for the hub) then 503; and on top of that
  ``--drop-reply`` (0.15) of the requests it does apply lose their reply (``drop_reply_rate``:
  the effect happens, the hub sees a connection drop).
Chaos goes on ``--chaos-after`` s after the last push, then stops, faults are cleared and the
hub is given up to ``--drain-timeout`` s to finish every delivery.

**The checks**, at the simulators (``GET /{system}/_received``: the requests each applied,
in order) against the hub's records (``GET /api/v1/messages``, paged). A target request is
tied to its event by the ``Idempotency-Key`` the hub still sends (``<delivery id>:<round>:
<step>``); the calls that only read (AlphaAlpha ``find/{id}``, steps ``read`` and
``read-back``, and the reconcile's ``dynamic-search``, step ``find-created``) are the hub's
**read-backs**, counted apart from writes. EnKash's simulator lists a refused stale version
in ``_received`` too, so the check replays its version rule to tell applied from refused.
* **re-sent requests**: a write key applied more than once (the hub sent it again after a
  failure it could not tell from a loss). Not a failure in itself: upsert targets (Uniware,
  Leo, AppliQloud) take the same event twice with no harm;
* **double effects** (business level, keys being ignored): at AlphaAlpha, one AlphaAlpha
  PO per hub PO, judged against the hub's crosswalk (``GET /api/v1/purchase-orders/{po}``,
  ``remote_ids``): an order no hub PO holds (a create that took effect twice), an order
  held by two hub POs, an order acted on (approve, patch, receive...) for a hub PO that does
  not hold it, a hub PO that wrote there and holds none, and an order held by a hub PO
  other than its creator whose content differs from the holder's create (AlphaAlpha numbers
  its POs in creation order, so the n-th create applied made ``AA-PO-n``; later calls name
  the PO in their path; the count is cross-checked with its ``dynamic-search``). A create
  request carries nothing of the hub, so until the hub claims the order it made, identical
  orders are interchangeable: one hub PO adopting the identical order another's create
  made, while that one creates its own, is one order each, not a double effect; an
  AlphaAlpha order with more received than ordered; a non-idempotent AlphaAlpha step
  (create, a lifecycle action, comment, receive-goods) applied twice for one delivery; one
  hub event applied at EnKash as more than one version step, or an EnKash version applied
  twice; a delivery dead of a refused repeat (AlphaAlpha 409, EnKash STALE_VERSION) also
  counts as dead;
* **out of order**: per (target, PO), a write of an older event after a newer one's;
* **agreement and lost**: every accepted (event, routed target) pair has a write at the
  target; a delivery the hub calls ``delivered`` reached the target, a ``dead`` one's reason
  is shown (no delivery should end dead: every fault is retryable).

Verdict PASS: 0 lost, 0 double effects, 0 out of order, 0 dead, 0 given up.

    uv run python bench/chaos.py [--store both] [--pos 1000 --events 10] [--quick]
    uv run python bench/chaos.py --store redis-cluster --durability replica --quick
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
from bench._chaos_cluster import ClusterChaos

ROUTES = {
    "uniware": ["leo", "appliqloud", "alphaalpha"],
    "enkash": ["leo", "appliqloud"],
    "leo": ["uniware", "enkash"],
    "appliqloud": ["alphaalpha"],
}
TARGETS = sorted({t for targets in ROUTES.values() for t in targets})
UPSERT = frozenset({"uniware", "leo", "appliqloud"})
"""Targets that take a whole document (or status) each time: a resend is harmless."""
PLANS: dict[str, list[tuple[str, str | None]]] = {
    # (source, status it says) per event; a PO's family is its number modulo 3. "status":
    # EnKash names the PO, Leo moves it on, and Leo's writes to Uniware and EnKash follow.
    # "document": AppliQloud updates the whole PO for AlphaAlpha. "mixed": both on one PO,
    # with a Uniware PENDING_APPROVAL queued behind an AppliQloud update (the update must not
    # drive AlphaAlpha past it: docs/reliability.md, finding D) and Leo statuses written to
    # Uniware after an AppliQloud update (which must not erase Uniware's ``created``: C).
    "status": [("uniware", "CREATED"), ("enkash", "PENDING_APPROVAL"), ("leo", "APPROVED"),
               ("uniware", "APPROVED"), ("leo", "CONFIRMED"), ("uniware", "APPROVED"),
               ("leo", "CONFIRMED"), ("uniware", "APPROVED"), ("leo", "CONFIRMED"),
               ("uniware", "APPROVED")],
    "document": [("uniware", "CREATED"), ("appliqloud", None), ("uniware", "APPROVED"),
                 ("appliqloud", None), ("uniware", "APPROVED"), ("appliqloud", None),
                 ("uniware", "APPROVED"), ("appliqloud", None), ("uniware", "APPROVED"),
                 ("appliqloud", None)],
    "mixed": [("uniware", "CREATED"), ("enkash", "PENDING_APPROVAL"), ("appliqloud", None),
              ("uniware", "PENDING_APPROVAL"), ("leo", "APPROVED"), ("uniware", "APPROVED"),
              ("appliqloud", None), ("leo", "CONFIRMED"), ("uniware", "APPROVED"),
              ("appliqloud", None)],
}  # fmt: skip
FAMILIES = ("status", "document", "mixed")
MAX_EVENTS = 10
INBOUND = {
    "uniware": ("POST", "/inbound/uniware/approvedPurchaseOrder"),
    "leo": ("POST", "/inbound/leo/leo-order-domaingateway-api/api/v2/Order/processAsync"),
    "appliqloud": ("PUT", "/inbound/appliqloud/pic/link/purchase-orders/update"),
    "enkash": ("POST", "/inbound/enkash/api/v0/purchase-order/req-status-change"),
}
SAMPLES = s.ROOT / "adapters"
RETRY = "    retry: {schedule: [0.2, 0.5, 1, 2], max_age_s: 900}\n    timeout_s: 1"
FAULTS = [
    {"fail_rate": 0.3, "status": 500},
    {"fail_rate": 0.3, "status": 429, "retry_after": 1},
    {"fail_rate": 0.3, "status": 503, "delay_ms": 1500},  # the hub times out after 1 s
]
ADMIN = {"Authorization": "Bearer bench-key-admin"}
AA_SEARCH = "/alphaalpha/api/v1/purchase-orders/dynamic-search"
IDEMPOTENT_AA = frozenset({"update"})
"""AlphaAlpha writes a repeat of which changes nothing (a PATCH of the whole product list);
every other one (create, lifecycle actions, comment, receive-goods) acts again."""
READ_STEPS = frozenset({"read", "read-back", "find-created"})
"""Steps that only read the target's state (AlphaAlpha ``find/{id}`` and the reconcile's
``dynamic-search`` for a PO an unanswered create made): the hub's read-backs."""
AA_ID = re.compile(r"^/api/v1/purchase-orders/(?!find/|dynamic-search|stats)([^/]+)")
"""The AlphaAlpha PO a call names in its path (PATCH ``{id}``, ``{id}/<action>``)."""


def plan_of(po: int, event: int) -> tuple[str, str | None]:
    return PLANS[FAMILIES[po % len(FAMILIES)]][event]


def chaos_config(tmp: Path, sim: str, store: str, batch: int = 1) -> Path:
    """The temp config; ``batch`` above 1: AppliQloud's deliveries go out that many POs a
    request at most (``systems.appliqloud.batch``, issue 14), waiting up to 20 ms."""
    path = s.write_config(tmp, sim, store, ROUTES, None)
    text = re.sub(
        r"(?m)^(    base_url: .*)$", lambda m: m.group(1) + "\n" + RETRY, path.read_text()
    )
    if batch > 1:
        text = re.sub(
            r"(?m)^(  appliqloud:\n    base_url: .*)$",
            lambda m: f"{m.group(1)}\n    batch: {{max: {batch}, wait_ms: 20}}",
            text,
        )
    path.write_text(text)
    return path


# the events -------------------------------------------------------------------------------
class Events:
    """Event ``e`` of PO ``code`` as its source system sends it: (source, body, headers)."""

    def __init__(self) -> None:
        self.uniware = json.loads((SAMPLES / "uniware/samples/approved-po.json").read_bytes())
        self.appliqloud = json.loads((SAMPLES / "appliqloud/samples/update.json").read_bytes())
        self.enkash = json.loads(
            (SAMPLES / "enkash/samples/status-change-request.json").read_bytes()
        )

    def build(self, po: int, code: str, event: int) -> tuple[str, bytes, dict[str, str]]:
        source, says = plan_of(po, event)
        qty = 10 + event
        headers: dict[str, str] = {}
        body: dict[str, Any]
        if source == "uniware":
            body = dict(self.uniware, code=code, statusCode=says)
            line = self.uniware["purchaseOrderItems"][0]
            body["purchaseOrderItems"] = [dict(line, quantity=qty, total=qty * 100)]
        elif source == "enkash":
            body = json.loads(json.dumps(self.enkash))
            status = body["poStatus"]
            status.update(objectId=f"ENK-{code}", buyerPONumber=code, buyerAction="APPROVE",
                          buyerRemarks="")  # fmt: skip
            status["objectVersion"] = {"currentVersion": 0, "newVersion": 1}
            status["poStatusTransition"] = {"currentStatus": "CREATED", "newStatus": says}
        elif source == "leo":
            body = {"documentNumber": code, "lob": "DEFAULT", "subType": "PO", "status": says}
            headers = {"event": "POStatusUpdate", "subtypeAppId": "pohub"}
        else:
            body = json.loads(json.dumps(self.appliqloud))
            po_in = body["inputs"][0]
            po_in["header"].update(purchaseOrderId=code, currencyId="INR")
            po_in["items"][0].update(itemId="1", quantity=qty, netUnitPrice=100)
        return source, json.dumps(body).encode(), headers


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
    def __init__(self, url: str, headers: dict[str, dict[str, str]], pos: int, events: int,
                 run: str) -> None:  # fmt: skip
        self.url, self.headers, self.pos, self.events, self.run = url, headers, pos, events, run
        self.total = pos * events
        self.bodies = Events()
        self.pushes = 0  # HTTP attempts
        self.failed_pushes = 0
        self.accepted: dict[str, list[str]] = defaultdict(list)  # PO -> message ids, send order
        self.source: dict[str, str] = {}  # message id -> source system
        self.by_source = Counter[str]()
        self.n_accepted = 0
        self.given_up = 0
        self.rejected = 0
        self.done = False

    def code(self, po: int) -> str:
        return f"C{self.run}-{po:05d}"

    async def push(self, client: httpx.AsyncClient, po: int, event: int) -> None:
        code = self.code(po)
        source, body, extra = self.bodies.build(po, code, event)
        method, path = INBOUND[source]
        headers = {"Content-Type": "application/json", **self.headers[source], **extra,
                   "Idempotency-Key": f"chaos-{code}-{event}"}  # fmt: skip
        deadline = time.monotonic() + 120
        for _ in range(2000):
            if time.monotonic() > deadline:
                break
            self.pushes += 1
            try:
                reply = await client.request(method, path, content=body, headers=headers)
            except httpx.HTTPError:
                reply = None
            if reply is not None and reply.status_code < 300:
                (mid,) = reply.headers["X-Pohub-Message-Id"].split(",")
                self.accepted[code].append(mid)
                self.source[mid] = source
                self.by_source[source] += 1
                self.n_accepted += 1
                return
            if reply is not None and 400 <= reply.status_code < 500 and reply.status_code != 429:
                self.rejected += 1
                print(f"  rejected {source} {reply.status_code}: {reply.text[:300]}", flush=True)
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


def set_faults(sim: str, tick: int | None, drop_reply: float) -> None:
    with httpx.Client(timeout=10) as client:
        for i, target in enumerate(TARGETS):
            faults: dict[str, Any] = {}
            if tick is not None:
                faults = {**FAULTS[(tick + i) % len(FAULTS)], "drop_reply_rate": drop_reply}
            client.put(f"{sim}/{target}/_faults", json=faults).raise_for_status()


def chaos(hub: Hub, redis: Redis | ClusterChaos | None, sim: str, sender: Sender, log: list[str],
          stop: threading.Event, drop_reply: float) -> None:  # fmt: skip
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
            set_faults(sim, tick, drop_reply)
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
            what = getattr(redis, "what", "redis-server restarted")
            log.append(f"{what} at {progress:.0%} of pushes, t={now - started:.1f} s")
        time.sleep(0.1)
    log.append(f"{hub.kills['worker']} worker SIGKILLs")


# the checks -------------------------------------------------------------------------------
def hub_messages(url: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=url, headers=ADMIN, timeout=120) as client:
        offset = 0
        for _ in range(10_000):
            page = client.get("/api/v1/messages", params={"limit": 500, "offset": offset}).json()
            for m in page["items"]:
                out[m["id"]] = m
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break
    return out


def aa_orders(sim: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    """Every order AlphaAlpha holds, through its own ``dynamic-search`` (pages of 1,000)."""
    out: list[dict[str, Any]] = []
    with httpx.Client(base_url=sim, headers=auth, timeout=120) as client:
        for page in range(10_000):
            got = client.get(AA_SEARCH, params={"page": page, "size": 1000})
            got.raise_for_status()
            body = got.json()
            out += body["content"]
            if body["last"] or not body["content"]:
                break
    return out


def _over_received(order: dict[str, Any]) -> list[str]:
    """Products of an AlphaAlpha order with more received (accepted + rejected) than ordered."""
    ordered = {p["productId"]: float(p["quantity"]) for p in order.get("products") or []}
    arrived: dict[str, float] = defaultdict(float)
    for key in ("acceptedProducts", "rejectedProducts"):
        for p in order.get(key) or []:
            arrived[p["productId"]] += float(p["quantity"])
    return [f"{pid} {n:g} of {ordered.get(pid, 0):g}" for pid, n in arrived.items()
            if n > ordered.get(pid, 0) + 1e-9]  # fmt: skip


def check(sim: str, hub_url: str, sender: Sender, aa_auth: dict[str, str]) -> dict[str, Any]:
    received: dict[str, dict[str, Any]] = {}
    with httpx.Client(timeout=120) as client:
        for t in TARGETS:
            received[t] = client.get(f"{sim}/{t}/_received").json()
    orders = aa_orders(sim, aa_auth)
    messages = hub_messages(hub_url)
    holders = aa_holders(hub_url, sender.accepted)
    return analyse(received, orders, messages, sender.accepted, sender.source, holders)


def aa_holders(url: str, accepted: dict[str, list[str]]) -> dict[str, str]:
    """The hub's crosswalk at AlphaAlpha: hub PO -> the AlphaAlpha PO it holds (the PO
    state's ``remote_ids``), for every hub PO the run pushed."""
    out: dict[str, str] = {}
    with httpx.Client(base_url=url, headers=ADMIN, timeout=120) as client:
        for po in accepted:
            for tries in range(5):  # a busy hub may answer 429/503: ask again, never guess
                got = client.get(f"/api/v1/purchase-orders/{po}")
                if got.status_code == 200:
                    break
                time.sleep(0.5 * (tries + 1))
            else:
                raise RuntimeError(
                    f"hub: GET purchase-orders/{po}: {got.status_code} {got.text[:200]}"
                )
            held = ((got.json().get("po") or {}).get("remote_ids") or {}).get("alphaalpha")
            if held:
                out[po] = held
    return out


def analyse(received: dict[str, dict[str, Any]], orders: list[dict[str, Any]],
            messages: dict[str, dict[str, Any]], accepted: dict[str, list[str]],
            source: dict[str, str], holders: dict[str, str] | None = None,
            ) -> dict[str, Any]:  # fmt: skip
    """The checks, from what the simulators and the hub hold (also ``--recheck`` a dump).

    ``holders`` (the hub's crosswalk, hub PO -> AlphaAlpha PO) settles who an AlphaAlpha
    PO belongs to: a create request carries nothing of the hub, so until the hub claims
    the PO it made, identical creates are interchangeable (see ``_aa_doubles``)."""
    owner = {d["id"]: m["id"] for m in messages.values() for d in m["deliveries"]}
    place = {mid: (po, i) for po, ids in accepted.items() for i, mid in enumerate(ids)}
    r: Counter[str] = Counter()
    problems: list[str] = []
    why = Counter[str]()
    per_target = {t: Counter[str]() for t in TARGETS}
    written: dict[str, set[str]] = {t: set() for t in TARGETS}  # message ids with a write there
    applied = Counter[tuple[str, str, str]]()  # (target, delivery id, step) -> times applied
    creates = Counter[str]()  # hub PO -> AlphaAlpha creates applied
    aa_ids: dict[str, set[str]] = defaultdict(set)  # hub PO -> AlphaAlpha POs it made or wrote
    aa_pos: dict[str, set[str]] = defaultdict(set)  # AlphaAlpha PO -> hub POs that did
    made: dict[str, tuple[str, str]] = {}  # AlphaAlpha PO -> (hub PO that created it, content)
    acted: dict[str, set[str]] = defaultdict(set)  # AlphaAlpha PO -> hub POs that acted on it
    versions: dict[str, Counter[int]] = defaultdict(Counter)  # EnKash objectId -> newVersion
    for t in TARGETS:
        keys = Counter[str]()
        held: dict[str, int] = {}  # EnKash objectId -> the version it holds
        newest: dict[str, tuple[int, str]] = {}  # PO -> (newest event index written, its step)
        for rec in received[t]["received"]:
            header = rec["headers"].get("idempotency-key")
            if header is None:
                r["target requests without a key"] += 1
                continue
            # a bulk request (AppliQloud batch, issue 14) carries one key per PO it holds
            if "," in header:
                per_target[t]["bulk requests"] += 1
            for key in header.split(","):
                # Idempotency-Key = <delivery id>:<sending round>:<step name>
                delivery, _, step = key.rsplit(":", 2)
                mid = owner.get(delivery, "?")
                if mid not in place:
                    r["target requests of unknown events"] += 1
                    continue
                po, index = place[mid]
                if rec["method"] == "GET" or step in READ_STEPS:
                    per_target[t]["read-backs"] += 1
                    continue
                if t == "enkash" and not _enkash_takes(rec, held):
                    per_target[t]["refused (stale version)"] += 1
                    continue
                per_target[t]["writes"] += 1
                keys[key] += 1
                applied[(t, delivery, step)] += 1
                written[t].add(mid)
                if index < newest.get(po, (-1, ""))[0]:
                    per_target[t]["out of order"] += 1
                    if len(problems) < 8:
                        problems.append(f"order {t} {po}: event {index} ({step}) written after "
                                        f"event {newest[po][0]} ({newest[po][1]})")  # fmt: skip
                else:
                    newest[po] = (index, step)
                if t == "alphaalpha":
                    # AlphaAlpha numbers its POs in creation order (AA-PO-000001, ...): the n-th
                    # create it applied made AA-PO-n; later calls name the PO in their path
                    if step == "create":
                        creates[po] += 1
                        aa_id = f"AA-PO-{sum(creates.values()):06d}"
                        made[aa_id] = (po, _aa_content(rec.get("json")))
                    else:
                        found = AA_ID.match(rec["path"])
                        aa_id = found.group(1) if found else "?"
                        acted[aa_id].add(po)
                    aa_ids[po].add(aa_id)
                    aa_pos[aa_id].add(po)
                if t == "enkash":
                    status = (rec.get("json") or {}).get("poStatus") or {}
                    versions[status.get("objectId", "?")][
                        (status.get("objectVersion") or {}).get("newVersion", -1)
                    ] += 1
        per_target[t]["re-sent"] = sum(n - 1 for n in keys.values() if n > 1)
        per_target[t]["dropped replies"] = received[t].get("dropped", 0)
    doubles = Counter[str]()
    if holders is None:  # an old dump: who created an order is whose it is
        _aa_doubles_by_creator(aa_ids, aa_pos, creates, doubles, problems)
    else:
        _aa_doubles(made, acted, holders, doubles, problems)
    if len(orders) != sum(creates.values()):
        problems.append(f"alphaalpha holds {len(orders)} orders; the hub's creates that took "
                        f"effect: {sum(creates.values())}")  # fmt: skip
    r["alphaalpha orders"] = len(orders)
    r["hub POs at alphaalpha"] = len(aa_ids)
    r["hub POs whose AlphaAlpha PO was adopted (no create applied)"] = len(
        set(aa_ids) - set(creates)
    )
    for order in orders:
        if over := _over_received(order):
            doubles["alphaalpha: received above ordered"] += 1
            problems.append(f"double alphaalpha {order['id']}: received {', '.join(over)}")
    for (t, delivery, step), n in applied.items():
        if n < 2:
            continue
        if t == "alphaalpha" and step not in IDEMPOTENT_AA and step != "create":
            doubles[f"alphaalpha: {step} applied twice for one delivery"] += n - 1
            if len(problems) < 12:
                po = place[owner[delivery]][0]
                problems.append(f"double alphaalpha {po}: {step} of delivery {delivery} x{n}")
        if t == "enkash":
            doubles["enkash: one event applied as more than one version step"] += n - 1
    for object_id, seen in versions.items():
        for version, n in seen.items():
            if n > 1:
                doubles["enkash: a version applied twice"] += n - 1
                if len(problems) < 12:
                    problems.append(f"double enkash {object_id}: newVersion {version} x{n}")
    for ids in accepted.values():
        for mid in ids:
            m = messages.get(mid)
            targets = ROUTES[source[mid]]
            if m is None:
                r["accepted but not in hub records"] += len(targets)
                continue
            deliveries = {d["target"]: d for d in m["deliveries"]}
            for t in targets:
                d: dict[str, Any] = deliveries.get(t) or {}
                got = mid in written[t]
                state = d.get("state", "missing")
                if not got and t == "alphaalpha" and state == "delivered" and holders:
                    # a create whose reply was lost, done by adopting the identical order
                    # another hub PO's create made (that one then made its own): no request
                    # of this delivery wrote anything, and none had to
                    held = holders.get(m["po_number"])
                    creator = made.get(held or "", (None, ""))[0]
                    if held is not None and creator not in (None, m["po_number"]):
                        got = True
                        r["alphaalpha: delivered by adopting an identical order"] += 1
                per_target[t]["delivered" if got else "dead" if state == "dead" else "lost"] += 1
                if got:
                    r["delivered (effect at target)"] += 1
                if state == "delivered" and not got:
                    # the hub's list gives summaries: the latest attempt, not every one
                    last = d.get("last_attempt") or (d.get("attempts") or [{}])[-1]
                    noop = last.get("status") in (0, None) and last.get("step") == 0
                    r["no-op: hub delivered, nothing sent" if noop
                      else "hub delivered, target has none"] += 1  # fmt: skip
                    why[f"{t}: delivered, {'no request (0 steps)' if noop else 'not at target'}"
                        f" ({source[mid]} event)"] += 1  # fmt: skip
                elif state == "dead":
                    r["dead"] += 1
                    reason = str(d.get("reason"))
                    if "409" in reason or "STALE_VERSION" in reason:
                        r["dead of a refused repeat (409 / STALE_VERSION)"] += 1
                    if got:
                        r["dead but at target"] += 1
                    why[f"{t}: dead: {_generic(reason)}"] += 1
                    if r["dead"] <= 5:
                        problems.append(f"dead {t} {m['po_number']} (message {mid}, "
                                        f"{source[mid]} event): {reason[:300]}")  # fmt: skip
                elif state != "delivered":
                    r[f"unfinished ({state})"] += 1
                    why[f"{t}: {state}: {_generic(str(d.get('reason')))}"] += 1
                    if got:
                        r["at target but hub not delivered"] += 1
    r["lost"] = (r["accepted but not in hub records"] + r["hub delivered, target has none"]
                 + r["no-op: hub delivered, nothing sent"]
                 + sum(v for k, v in r.items() if k.startswith("unfinished")))  # fmt: skip
    r["double effects"] = sum(doubles.values())
    r["out of order"] = sum(c["out of order"] for c in per_target.values())
    r["re-sent requests"] = sum(c["re-sent"] for c in per_target.values())
    r["read-backs"] = sum(c["read-backs"] for c in per_target.values())
    r["dropped replies"] = sum(c["dropped replies"] for c in per_target.values())
    r["hub messages"] = len(messages)
    problems += [f"{n} x {k}" for k, n in why.most_common(10)]
    problems += [f"{n} x double effect: {k}" for k, n in doubles.most_common()]
    raw = {"received": received, "alphaalpha_orders": orders, "messages": messages,
           "accepted": accepted, "source": source, "alphaalpha_holders": holders}  # fmt: skip
    return {"counts": dict(r), "problems": problems, "per_target": per_target, "raw": raw}


def _aa_doubles_by_creator(
    aa_ids: dict[str, set[str]], aa_pos: dict[str, set[str]], creates: Counter[str],
    doubles: Counter[str], problems: list[str],
) -> None:  # fmt: skip
    """Double effects at AlphaAlpha when the hub's crosswalk is unknown (a dump made before
    it was recorded): an order is its creator's."""
    for po, made in aa_ids.items():
        if len(made) > 1:
            doubles["alphaalpha: more than one AlphaAlpha PO for a hub PO"] += len(made) - 1
            if len(problems) < 12:
                problems.append(f"double alphaalpha {po}: {len(made)} AlphaAlpha POs "
                                f"({', '.join(sorted(made))}; {creates[po]} created)")  # fmt: skip
    for aa_id, pos in aa_pos.items():
        if len(pos) > 1:
            doubles["alphaalpha: one AlphaAlpha PO written for more than one hub PO"] += (
                len(pos) - 1
            )
            if len(problems) < 16:
                problems.append(f"double alphaalpha {aa_id}: written for hub POs "
                                f"{', '.join(sorted(pos))}")  # fmt: skip


def _aa_doubles(
    made: dict[str, tuple[str, str]], acted: dict[str, set[str]], holders: dict[str, str],
    doubles: Counter[str], problems: list[str],
) -> None:  # fmt: skip
    """Double effects at AlphaAlpha, business level: one AlphaAlpha PO per hub PO.

    - every order AlphaAlpha made is held by a hub PO (else a create took effect twice);
    - no two hub POs hold one order; every hub PO that created or acted holds one;
    - calls naming an order (approve, patch, receive...) come from its holder only;
    - an order held by a hub PO other than the one whose create made it (it adopted it after
      its own create's reply was lost) has the same content as the holder's create: the
      create request carries nothing of the hub, so identical orders are interchangeable
      until claimed, and a swap between them changes nothing anyone can see.
    """

    def note(kind: str, text: str) -> None:
        doubles[f"alphaalpha: {kind}"] += 1
        if len(problems) < 16:
            problems.append(f"double alphaalpha {text}")

    held_by: dict[str, list[str]] = defaultdict(list)
    for po, aa_id in holders.items():
        held_by[aa_id].append(po)
    content = {po: c for po, c in made.values()}
    for aa_id, pos in held_by.items():
        if len(pos) > 1:
            note("one AlphaAlpha PO held by more than one hub PO", f"{aa_id}: {sorted(pos)}")
    for aa_id, (creator, what) in sorted(made.items()):
        holder = held_by.get(aa_id, [None])[0]
        if holder is None:
            note("an AlphaAlpha PO no hub PO holds (a create took effect twice)",
                 f"{aa_id}: created for {creator}, held by none")  # fmt: skip
        elif holder != creator and content.get(holder, what) != what:
            note("an adopted AlphaAlpha PO unlike the holder's create",
                 f"{aa_id}: created for {creator}, held by {holder}")  # fmt: skip
    for aa_id, pos in sorted(acted.items()):
        holder = held_by.get(aa_id, [None])[0]
        for po in sorted(pos - {holder}):
            note("an AlphaAlpha PO acted on for a hub PO that does not hold it",
                 f"{aa_id}: by {po}, held by {holder}")  # fmt: skip
    for po in sorted({c for c, _ in made.values()} | {p for ps in acted.values() for p in ps}):
        if po not in holders:
            note("a hub PO that wrote to AlphaAlpha holds no AlphaAlpha PO", po)


def _aa_content(body: Any) -> str:
    """A create request's content, comparable: subsidiary and products, order-free."""
    if not isinstance(body, dict):
        return "?"
    products = sorted(json.dumps(p, sort_keys=True) for p in body.get("products") or [])
    return json.dumps([body.get("subsidiaryId"), products])


def _enkash_takes(rec: dict[str, Any], held: dict[str, int]) -> bool:
    """Whether EnKash applied this recorded status change, replaying its version check: a PO
    it does not hold yet is taken at any ``currentVersion``, afterwards ``currentVersion``
    must be the version it holds. (Its simulator answers a stale one 200 ``FAILURE
    STALE_VERSION`` and no longer lists it in ``_received``; the replay stays as a check.)"""
    status = (rec.get("json") or {}).get("poStatus") or {}
    object_id = status.get("objectId", "?")
    version = status.get("objectVersion") or {}
    if object_id in held and held[object_id] != version.get("currentVersion"):
        return False
    held[object_id] = version.get("newVersion", -1)
    return True


def _generic(reason: str) -> str:
    """A reason without its PO-specific ids, so that alike reasons count together."""
    reason = re.sub(r"C[0-9a-f]{6}-\d{5}", "<PO>", reason)
    reason = re.sub(r"AA-PO-\d+", "<AA id>", reason)
    return re.sub(r"\d+", "N", reason)[:240]


def aa_auth(config: Path, env: dict[str, str]) -> dict[str, str]:
    """What the hub sends AlphaAlpha (``Authorization: Bearer <token>``), for the checker's
    own ``dynamic-search``."""
    from adapters import registry
    from gateway.settings import secrets
    from gateway.settings.config import load_config

    auth = load_config(str(config), registry.system_ids()).systems["alphaalpha"].auth
    assert auth is not None
    return {"Authorization": f"Bearer {env[secrets.auth_env_names(auth)['token']]}"}


def run_store(store: str, args: argparse.Namespace) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="pohub-chaos-") as t, s.Procs(Path(t)) as procs:
        tmp = Path(t)
        first = s.write_config(tmp, "http://127.0.0.1:1", "sqlite:///x", ROUTES, None)
        sim = s.start_simulators(procs, s.bench_env(first))
        redis: Redis | ClusterChaos | None = None
        if store == "redis":
            redis = Redis(procs, tmp)
        elif store == "redis-cluster":
            redis = ClusterChaos(procs, tmp, args.durability)
        store_url = redis.url if redis else f"sqlite:///{tmp}/pohub.db"
        if store == "redis" and args.durability != "everysec":
            store_url += f"?durability={args.durability}"
        config = chaos_config(tmp, sim, store_url, args.appliqloud_batch)
        env = {**s.bench_env(config), "POHUB_LOG_LEVEL": "WARNING"}
        hub = Hub(procs, config, env, args.workers)
        headers = {source: s.inbound_headers(config, env, source) for source in ROUTES}
        sender = Sender(hub.url, headers, args.pos, args.events, run)
        log: list[str] = []
        stop = threading.Event()
        thread = threading.Thread(
            target=chaos, args=(hub, redis, sim, sender, log, stop, args.drop_reply)
        )
        started = time.monotonic()
        if not args.calm:
            thread.start()
        try:
            asyncio.run(sender.run_all())
            send_s = time.monotonic() - started
            stop.wait(0 if args.calm else args.chaos_after)  # kills go on while workers deliver
        finally:
            stop.set()
            if thread.is_alive():
                thread.join(60)
        set_faults(sim, None, 0)
        deadline = time.monotonic() + args.drain_timeout
        counts: dict[str, int] | None = None
        while time.monotonic() < deadline:
            counts = hub.counts()
            if counts and sum(counts.get(k, 0) for k in ("queued", "delivering", "retrying")) == 0:
                break
            time.sleep(1)
        drain_s = time.monotonic() - started - send_s - (0 if args.calm else args.chaos_after)
        result = check(sim, hub.url, sender, aa_auth(config, env))
        if args.dump:
            dump = Path(args.dump) / f"chaos-{store}-{run}.json"
            dump.parent.mkdir(parents=True, exist_ok=True)
            dump.write_text(json.dumps(result["raw"], indent=1, default=str))
            print(f"  dumped what the simulators and the hub hold to {dump}")
        for name in ["gateway", *(f"worker-{i}" for i in range(args.workers))]:
            tail = procs.log_tail(name, 400)
            errors = [ln for ln in tail.splitlines() if "Traceback" in ln or '"error"' in ln]
            if errors:
                result["problems"].append(
                    f"{name} log: {len(errors)} error lines, e.g. {errors[-1][:300]}"
                )
    c = result["counts"]
    label = f"{store} (durability {args.durability})" if store != "sqlite" else store
    print(f"\n== {label}: {args.pos} POs x {args.events} events, {args.workers} workers; "
          f"pushing {send_s:.1f} s, chaos {0 if args.calm else args.chaos_after:g} s more, "
          f"then drain {drain_s:.1f} s (hub counts at end: {counts})")  # fmt: skip
    for line in log:
        print(f"  chaos: {line}")
    routed = sum(len(ROUTES[sender.source[m]]) for ids in sender.accepted.values() for m in ids)
    sources = ", ".join(f"{k} {v}" for k, v in sorted(sender.by_source.items()))
    print(f"  sent {sender.total} events ({sources}; {sender.pushes} pushes, "
          f"{sender.failed_pushes} failed and re-sent, {sender.given_up} given up, "
          f"{sender.rejected} rejected)")  # fmt: skip
    print(f"  accepted {sender.n_accepted} events = {routed} (event, target) deliveries; "
          f"hub records {c.get('hub messages', 0)} messages")  # fmt: skip
    print(f"  delivered {c.get('delivered (effect at target)', 0)}  lost {c.get('lost', 0)}  "
          f"double effects {c.get('double effects', 0)}  out of order {c.get('out of order', 0)}  "
          f"dead {c.get('dead', 0)}  |  re-sent requests {c.get('re-sent requests', 0)}  "
          f"read-backs {c.get('read-backs', 0)}  replies dropped {c.get('dropped replies', 0)}")  # fmt: skip
    for t, n in result["per_target"].items():
        kind = "upsert" if t in UPSERT else "acts"
        print(f"    {t:<11} ({kind:<6}) delivered {n['delivered']:>5}  dead {n['dead']:>4}  lost {n['lost']:>4}  "
              f"writes {n['writes']:>5}  re-sent {n['re-sent']:>4}  read-backs {n['read-backs']:>4}  "
              f"out of order {n['out of order']:>3}  replies dropped {n['dropped replies']:>4}"
              + (f"  refused (stale version) {n['refused (stale version)']}"
                 if t == "enkash" else "")
              + (f"  bulk requests {n['bulk requests']}" if n["bulk requests"] else ""))  # fmt: skip
    for k, v in sorted(c.items()):
        print(f"    {k}: {v}")
    for p in result["problems"]:
        print(f"  ! {p}")
    ok = (
        c.get("lost", 0) == 0
        and c.get("dead", 0) == 0
        and not c.get("double effects")
        and not c.get("out of order")
        and sender.given_up == 0
        and sender.rejected == 0
    )
    print(f"  verdict: {'PASS' if ok else 'FAIL'}", flush=True)
    return {"store": store, "ok": ok, **c}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["sqlite", "redis", "redis-cluster", "both"],
                        default="both")  # fmt: skip
    parser.add_argument(
        "--durability",
        choices=["none", "everysec", "fsync", "replica"],
        default="everysec",
        help="the Redis store's durability setting (redis, redis-cluster); fsync on one Redis "
        "needs appendfsync always, which this script's Redis does not set",
    )
    parser.add_argument("--pos", type=int, default=1000)
    parser.add_argument(
        "--appliqloud-batch", type=int, default=20,
        help="AppliQloud deliveries per request at most (batch.max, wait_ms 20); 1: off",
    )  # fmt: skip
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
        "--drop-reply",
        type=float,
        default=0.15,
        help="share of applied target requests whose reply is lost (drop_reply_rate)",
    )
    parser.add_argument("--dump", help="directory: write the simulators' logs and the hub's "
                        "records there as JSON (to look into a failure)")  # fmt: skip
    parser.add_argument(
        "--calm",
        action="store_true",
        help="no kills and no faults: the same events and checks (a baseline)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="100 POs x 5 events, chaos 15 s after the pushes, drain <= 60 s",
    )
    parser.add_argument("--recheck", help="a --dump file: run the checks on it again, print "
                        "the counts and problems")  # fmt: skip
    args = parser.parse_args()
    if args.recheck:
        raw = json.loads(Path(args.recheck).read_text())
        again = analyse(raw["received"], raw["alphaalpha_orders"], raw["messages"],
                        raw["accepted"], raw["source"], raw.get("alphaalpha_holders"))  # fmt: skip
        for k, v in sorted(again["counts"].items()):
            print(f"    {k}: {v}")
        for p in again["problems"]:
            print(f"  ! {p}")
        return
    if args.quick:
        args.pos, args.events, args.drain_timeout, args.chaos_after = 100, 5, 60.0, 15.0
    if not 1 <= args.events <= MAX_EVENTS:
        parser.error(f"--events must be within 1..{MAX_EVENTS} (the event plans' length)")
    stores = ["sqlite", "redis"] if args.store == "both" else [args.store]
    results = [run_store(store, args) for store in stores]
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
