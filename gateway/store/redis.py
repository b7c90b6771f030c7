"""The Redis backend: every state change that must not be lost or doubled is one Lua script,
and every script runs inside one partition (one hash slot), so the same code runs on one Redis
and on a Redis Cluster.

Layout, safety argument, durability and sizing: ``docs/redis.md``. The modules beside this
one: ``redis_keys`` (partitions and key names), ``redis_lua`` (the scripts), ``redis_conn``
(URL forms and clients), ``redis_durable`` (what an acknowledgement waits for),
``redis_rows`` (replies -> records), ``redis_merge`` (newest-first merge of partitions).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import orjson
import structlog

from core.model import PurchaseOrder
from gateway.store import redis_durable, rules
from gateway.store import redis_rows as rows
from gateway.store.base import UNKNOWN, PoUpdate, Store
from gateway.store.records import (
    Attempt,
    AuditEntry,
    AuditPage,
    Delivery,
    Message,
    MessageFilter,
    Page,
    PoList,
    PoListItem,
    State,
    TargetLoad,
    attempt_parts,
    load_exchanges,
)
from gateway.store.records import now as utc_now
from gateway.store.redis_conn import Bounded, StoreMisconfigured, connect, parse_url, safe_url
from gateway.store.redis_keys import (
    GlobalKeys,
    Part,
    enc,
    new_delivery_id,
    partition_of,
    partition_of_delivery,
)
from gateway.store.redis_lua import PRELUDE, SCRIPTS
from gateway.store.redis_merge import merged
from gateway.store.redis_rows import queued_score, score
from gateway.store.rules import DELIVERY_STATES

log = structlog.get_logger(__name__)

SCAN_CHUNK = 500
SWEEP_BATCH = 1000
UNPARK_BATCH = 500
LIGHT_CHUNK = 10
"""Messages loaded per call by a light (list) read: at most ~10 bodies in memory at once."""
CAS_TRIES = 1000
CHANGED_UNDER_US = -2
"""``finish``'s answer when the PO's state changed since it was read: read it again."""
_COUNTED = ("queued", "retrying", "delivering", "parked", "paused")
"""The ``TargetLoad`` fields the per-target state counts fill in."""


def _at(score: float | None) -> datetime | None:
    return None if score is None else datetime.fromtimestamp(score, UTC)


def _sha(raw: str | None) -> str:
    """What the CAS scripts compare: '0' for "absent", else the SHA-1 of the JSON read."""
    return "0" if raw is None else hashlib.sha1(raw.encode()).hexdigest()


class RedisStore(Store):
    """``redis://``, ``redis+cluster://`` or ``redis+sentinel://`` (``redis_conn``): N workers
    on M machines share one Redis or one Cluster."""

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        self.settings = parse_url(url, prefix)
        self.url, self.prefix = self.settings.url, self.settings.prefix
        self.n = self.settings.partitions
        self.parts = [Part(self.prefix, k) for k in range(self.n)]
        self.g = GlobalKeys(self.prefix)
        self._r: Any = None
        self._scripts: dict[str, Any] = {}
        self._ready = False
        self._gate: Any = contextlib.nullcontext()
        self._wait: tuple[Any, ...] = ()
        self._rr = random.randrange(self.n)
        """Where the next claim starts: processes start at random partitions and each claim
        moves on by one, so no partition waits behind the others."""

    @property
    def cluster(self) -> bool:
        return self.settings.kind == "cluster"

    # keys ----------------------------------------------------------------------------------
    def part_of_po(self, po: str) -> Part:
        return self.parts[partition_of(po, self.n)]

    def _part_of_message(self, message: Message) -> Part:
        """A PO's messages live with the PO; one without a PO with its dedup key (so a resend
        meets the first copy), else with its id."""
        key = message.po_number or message.dedup_key or message.id
        return self.parts[partition_of(key, self.n)]

    def _part_of_delivery(self, did: str) -> Part | None:
        k = partition_of_delivery(did, self.n)
        return None if k is None else self.parts[k]

    def k_xw(self, system: str) -> str:
        return f"{self.prefix}:xw:{enc(system)}"

    # life cycle ----------------------------------------------------------------------------
    @property
    def r(self) -> Any:
        if self._r is None:
            raise RuntimeError("RedisStore is not open")
        return self._r

    async def open(self) -> None:
        """Connect, then check the partition count and persistence (``_setup``). Redis being
        down does not fail ``open`` (the checks then run before the first script);
        ``StoreMisconfigured`` does: the process must not start."""
        if self._r is not None:
            return
        raw = connect(self.settings)
        self._r = Bounded(raw) if self.cluster else raw
        self._gate = self._r.gate if self.cluster else contextlib.nullcontext()
        for name, body in SCRIPTS.items():
            # register_script runs EVALSHA and re-loads the script on NOSCRIPT (after a
            # restart or failover); on a Cluster, SCRIPT LOAD goes to every primary
            self._scripts[name] = raw.register_script(PRELUDE + body)
        if not await self.ping():
            log.warning("store.redis_unreachable", url=safe_url(self.url))
            return
        try:
            await self._setup()
        except StoreMisconfigured:
            await self.close()
            raise

    async def _setup(self) -> None:
        """Record the partition count on first use and refuse another one later; refuse a
        Redis written by the old one-partition layout; check persistence on every primary."""
        g = self.g
        created = await self.r.hsetnx(g.meta, "partitions", self.n)
        if created and await self.r.exists(g.legacy):
            await self.r.hdel(g.meta, "partitions")
            raise StoreMisconfigured(
                f"Redis holds the single-partition layout of an earlier pohub under prefix"
                f" {self.prefix!r} ({g.legacy}); start on an empty prefix or database"
            )
        recorded = int(await self.r.hget(g.meta, "partitions"))
        if recorded != self.n:
            raise StoreMisconfigured(
                f"this store was created with partitions={recorded} and this process says"
                f" partitions={self.n}: every process must use the same count (it is fixed at"
                f" creation; put ?partitions={recorded} in the store URL)"
            )
        has_waitaof = True
        for where, route in self._primaries():
            ok = await redis_durable.check_node(self.r, self.settings.durability, where, **route)
            has_waitaof = has_waitaof and ok
        self._wait = redis_durable.wait_command(
            self.settings.durability, has_waitaof, self.settings.wait_ms
        )
        self._ready = True

    def _primaries(self) -> list[tuple[str, dict[str, Any]]]:
        if not self.cluster:
            return [(safe_url(self.url), {})]
        return [(f"{n.host}:{n.port}", {"target_nodes": n}) for n in self.r.get_primaries()]

    async def close(self) -> None:
        if self._r is not None:
            await self._r.aclose()
            self._r = None

    async def ping(self) -> bool:
        if self._r is None:
            return False
        try:
            pong = await asyncio.wait_for(self._r.ping(), timeout=3.0)
            return bool(pong if not isinstance(pong, dict) else all(pong.values()))
        except Exception:
            return False

    async def _run(
        self, name: str, part: Part | None, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """Run script ``name`` in ``part`` (``KEYS`` default to the partition's ``due`` key,
        which routes it), or on a global key when ``part`` is None."""
        if not self._ready:
            await self._setup()
        base = part.base if part is not None else self.prefix
        declared = list(keys) if keys or part is None else [part.due]
        async with self._gate:
            return await self._scripts[name](keys=declared, args=[base, *args])

    async def _run_durable(
        self, name: str, part: Part, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """``_run`` for a write the hub acknowledges: with ``durability`` fsync/replica, the
        script and ``WAITAOF``/``WAIT`` go out on one connection (``redis_durable``)."""
        if not self._ready:
            await self._setup()
        if not self._wait:
            return await self._run(name, part, keys, args)
        from gateway.store.redis_waits import run_and_wait

        script = self._scripts[name]
        raw = self.r.raw if self.cluster else self.r
        async with self._gate:
            out, reply = await run_and_wait(raw, self.cluster, script, list(keys),
                                            [part.base, *args], self._wait)  # fmt: skip
        redis_durable.confirm(self._wait, reply)
        return out

    async def _flush_for_tests(self) -> None:
        """Delete this store's keys only (other prefixes in the same db are left alone)."""
        pattern = _glob_escape(self.prefix) + ":*"
        batch: list[str] = []
        async for key in self.r.scan_iter(match=pattern, count=1000):
            batch.append(key)
        for key in batch:  # one key per command: a Cluster refuses multi-slot deletes
            await self.r.unlink(key)
        self._ready = False

    # ingest --------------------------------------------------------------------------------
    async def find_duplicate(self, dedup_key: str) -> Message | None:
        """Asks every partition (N ``HGET``s): a dedup key lives with its message's PO."""
        found = await asyncio.gather(*(self.r.hget(p.dedup, dedup_key) for p in self.parts))
        for part, mid in zip(self.parts, found, strict=True):
            if mid:
                return await self._get_in(part, mid)
        return None

    def _accept_call(
        self, part: Part, message: Message, targets: list[str], at: datetime
    ) -> tuple[list[str], list[Any], list[str]]:
        """KEYS, ARGV and new delivery ids of the ``accept`` script."""
        po = message.po_number or ""
        dids = [new_delivery_id(part.k) for _ in targets]
        keys = [
            part.msg(message.id),
            part.dedup,
            part.received,
            part.idx_sys(message.system),
            part.idx_po(po),
            part.seq(po),
            part.due,
            part.state(State.QUEUED),
        ]
        args: list[Any] = [
            message.id,
            message.dedup_key or "",
            message.model_dump_json(exclude={"deliveries"}),
            score(message.received_at.timestamp()),
            at.isoformat(),
            queued_score(at),
            " ".join(dids),
            message.system,
            po,
            message.status.value,
            len(targets),
        ]
        for did, target in zip(dids, targets, strict=True):
            keys += [part.delivery(did), part.line(po, target)]
            args += [did, target]
        return keys, args, dids

    async def _accepted(
        self, part: Part, out: Any, message: Message, targets: list[str], dids: list[str],
        at: datetime,
    ) -> tuple[Message, bool]:  # fmt: skip
        if int(out[0]) == 0:
            first = await self._get_in(part, str(out[1]))
            if first is None:  # pragma: no cover - the dedup hash points at a deleted message
                raise LookupError(f"duplicate of missing message {out[1]}")
            return first, False
        po = message.po_number or ""
        stored = message.model_copy(deep=True)
        stored.deliveries = [
            Delivery(
                id=did,
                message_id=message.id,
                target=target,
                po_number=po,
                seq=int(seq),
                next_at=at,
                created_at=at,
                updated_at=at,
            )
            for did, target, seq in zip(dids, targets, out[1:], strict=True)
        ]
        return stored, True

    async def accept(self, message: Message, targets: list[str]) -> tuple[Message, bool]:
        at = utc_now()
        part = self._part_of_message(message)
        keys, args, dids = self._accept_call(part, message, targets, at)
        out = await self._run_durable("accept", part, keys, args)
        return await self._accepted(part, out, message, targets, dids, at)

    async def ingest(
        self, message: Message, targets: list[str], change: PoUpdate, release_unknown_po: bool
    ) -> tuple[Message, bool]:
        """One script: the PO's new state and the message with its deliveries are written
        together by ``accept`` (a duplicate writes neither), on condition that the PO's state
        is still the one ``change`` saw (compare-and-set on its SHA-1, instead of WATCH, which
        a Cluster client cannot do across a script); a concurrent event of the same PO makes
        this one start again from the state that one left. The same script hands back the
        PO's ``unknown_po`` parkings when the PO was unknown (``rules.UNPARK``)."""
        if message.po_number is None:
            return await self.accept(message, targets)
        part = self._part_of_message(message)
        if message.dedup_key is not None:  # a known duplicate: nothing to compute or write
            first = await self.r.hget(part.dedup, message.dedup_key)
            known = await self._get_in(part, first) if first else None
            if known is not None:
                return known, False
        key = part.po(message.po_number)
        for tries in range(CAS_TRIES):
            at = utc_now()
            raw = await self.r.get(key)
            current = PurchaseOrder.model_validate_json(raw) if raw else None
            new = change(current)
            keys, args, dids = self._accept_call(part, message, targets, at)
            keys.append(key)
            release = rules.UNPARK
            args += [new.model_dump_json() if new is not None else "", _sha(raw),
                     "1" if release_unknown_po else "", *_rule(release), _to(release).value]  # fmt: skip
            out = await self._run_durable("accept", part, keys, args)
            if int(out[0]) != -1:
                break
            await asyncio.sleep(min(0.05, 0.001 * tries))
        else:
            raise RuntimeError(f"ingest of PO {message.po_number!r} lost {CAS_TRIES} races")
        return await self._accepted(part, out, message, targets, dids, at)

    async def reject(self, message: Message) -> None:
        stored = message.model_copy(update={"status": State.REJECTED, "deliveries": []})
        part = self._part_of_message(stored)
        po = stored.po_number or ""
        keys = [part.msg(stored.id), part.received, part.idx_sys(stored.system),
                part.idx_po(po), part.rejected]  # fmt: skip
        args = [stored.id, stored.model_dump_json(exclude={"deliveries"}), stored.system, po,
                stored.error or "", score(stored.received_at.timestamp())]  # fmt: skip
        await self._run_durable("reject", part, keys, args)

    # queue ---------------------------------------------------------------------------------
    async def claim(
        self, worker: str, limit: int, lease_s: float, now: datetime | None = None
    ) -> list[tuple[Delivery, Message]]:
        """Partitions in turn from a moving start, each asked for what is still missing."""
        if limit <= 0:
            return []
        at = now or utc_now()
        until = at + timedelta(seconds=lease_s)
        start, self._rr = self._rr, (self._rr + 1) % self.n
        out: list[tuple[Delivery, Message]] = []
        for i in range(self.n):
            part = self.parts[(start + i) % self.n]
            args = [score(at.timestamp()), at.isoformat(), limit - len(out),
                    score(until.timestamp()), until.isoformat(), worker]  # fmt: skip
            for flat, row in await self._run("claim", part, [], args):
                delivery = rows.delivery(flat)
                message = rows.message(row)
                if message is None:  # pragma: no cover - a delivery without its message
                    log.error("store.orphan_delivery", delivery_id=delivery.id)
                    continue
                out.append((delivery, message))
            if len(out) >= limit:
                break
        return out

    async def _finish(
        self, delivery_id: str, attempt: Attempt | None, outcome: rules.Outcome, move: rules.Move
    ) -> int:
        part = self._part_of_delivery(delivery_id)
        if part is None:
            return UNKNOWN
        args = _finish_args(delivery_id, attempt, outcome, move)
        return int(await self._run("finish", part, [], [*args, "", "", ""]))

    async def _finish_and_update(
        self, delivery_id: str, attempt: Attempt | None, outcome: rules.Outcome, po_number: str,
        change: PoUpdate,
    ) -> int:  # fmt: skip
        """One script writes the PO's new state and the delivery's outcome, on condition that
        the PO is still the one ``change`` saw (compare-and-set on its SHA-1, as ``ingest``).

        Two writes (the base class's ``update_po`` then ``finish``) let a worker killed
        between them, or a restart losing the last second of an ``everysec`` AOF, keep what
        the delivery taught (EnKash's new object version) while the delivery itself was
        still unfinished: its next sending rendered the *next* version and EnKash applied
        one event as two version steps (full Redis chaos run, issue 12)."""
        part = self._part_of_delivery(delivery_id)
        if part is None:
            return UNKNOWN
        if self.part_of_po(po_number).k != part.k:  # a PO's deliveries live with the PO
            return await super()._finish_and_update(
                delivery_id, attempt, outcome, po_number, change
            )
        key = part.po(po_number)
        args = _finish_args(delivery_id, attempt, outcome, rules.FINISH)
        for tries in range(CAS_TRIES):
            raw = await self.r.get(key)
            new = change(PurchaseOrder.model_validate_json(raw) if raw else None)
            po = [key, _sha(raw), new.model_dump_json()] if new is not None else ["", "", ""]
            moved = int(await self._run("finish", part, [], [*args, *po]))
            if moved != CHANGED_UNDER_US:
                return moved
            await asyncio.sleep(min(0.05, 0.001 * tries))
        raise RuntimeError(f"finish_and_update of PO {po_number!r} lost {CAS_TRIES} races")

    async def extend(
        self, worker: str, delivery_ids: list[str], lease_s: float, now: datetime | None = None
    ) -> int:
        until = (now or utc_now()) + timedelta(seconds=lease_s)
        by_part: dict[int, list[str]] = defaultdict(list)
        for did in delivery_ids:
            part = self._part_of_delivery(did)
            if part is not None:
                by_part[part.k].append(did)
        n = 0
        for k, ids in by_part.items():
            args = [worker, score(until.timestamp()), until.isoformat(), *ids]
            n += int(await self._run("extend", self.parts[k], [], args))
        return n

    async def _sweep(self, at: datetime, move: rules.Move, reason: str) -> int:
        total = 0
        args = [score(at.timestamp()), at.isoformat(), SWEEP_BATCH, reason,
                *_rule(move), _to(move).value]  # fmt: skip
        for part in self.parts:
            while True:
                seen, given = await self._run("sweep", part, [], args)
                total += int(given)
                if int(seen) < SWEEP_BATCH:
                    break
        return total

    async def _unpark(
        self, move: rules.Move, at: datetime, target: str | None, park_kind: str | None,
        po_number: str | None,
    ) -> int:  # fmt: skip
        def opt(value: str | None) -> str:
            return "" if value is None else "=" + value

        to = _to(move)
        args = [opt(target), opt(park_kind), opt(po_number), at.isoformat(), _due(to, at),
                *_rule(move), to.value]  # fmt: skip
        parts = [self.part_of_po(po_number)] if po_number is not None else self.parts
        n = 0
        for part in parts:  # bounded batches: SSCAN each source's index, re-queue what matches
            for source in sorted(move.sources):
                cursor = 0
                while True:
                    cursor, ids = await self.r.sscan(part.state(source), cursor,
                                                     count=UNPARK_BATCH)  # fmt: skip
                    if ids:
                        n += int(await self._run("unpark", part, [], [*args, *ids]))
                    if int(cursor) == 0:
                        break
        return n

    async def _replay(
        self, delivery_id: str, move: rules.Move, at: datetime, pin: str | None, by: str | None
    ) -> int:
        part = self._part_of_delivery(delivery_id)
        if part is None:
            return UNKNOWN
        to = _to(move)
        args = [delivery_id, at.isoformat(), _due(to, at), pin or "", by or "", *_rule(move),
                to.value]  # fmt: skip
        return int(await self._run("replay", part, [], args))

    # records -------------------------------------------------------------------------------
    async def _load(self, part: Part, ids: Sequence[str]) -> list[Message]:
        if not ids:
            return []
        found = await self._run("load", part, [], list(ids))
        return [m for m in (rows.message(row) for row in found) if m is not None]

    async def _load_light(
        self, part: Part, ids: Sequence[str], sizes: dict[str, int]
    ) -> list[Message]:
        """``_load`` for lists: a few messages per call, each stripped of its body, headers
        and events (kinds kept) before the next call, so a page never holds its bodies."""
        out: list[Message] = []
        for i in range(0, len(ids), LIGHT_CHUNK):
            for message in await self._load(part, ids[i : i + LIGHT_CHUNK]):
                sizes[message.id] = len(message.body.encode())
                message.body, message.headers = "", {}
                message.canonical = [{"kind": e.get("kind")} for e in message.canonical]
                out.append(message)
        return out

    async def _get_in(self, part: Part, message_id: str) -> Message | None:
        found = await self._load(part, [message_id])
        if not found:
            return None
        await self._with_exchanges(part, found[0].deliveries)
        return found[0]

    async def _find(self, message_id: str) -> Part | None:
        """The partition holding a message (ids are the caller's: N ``EXISTS``, concurrent)."""
        if self.n == 1:
            return self.parts[0]
        hits = await asyncio.gather(*(self.r.exists(p.msg(message_id)) for p in self.parts))
        return next((p for p, hit in zip(self.parts, hits, strict=True) if hit), None)

    async def get_message(self, message_id: str) -> Message | None:
        part = await self._find(message_id)
        return None if part is None else await self._get_in(part, message_id)

    async def _with_exchanges(self, part: Part, deliveries: list[Delivery]) -> None:
        """Fill in each attempt's exchanges (kept apart in ``P:{p<k>}:x:<delivery id>``)."""
        tried = [d for d in deliveries if d.attempts]
        found = await asyncio.gather(*(self.r.hgetall(part.exchanges(d.id)) for d in tried))
        for delivery, by_ordinal in zip(tried, found, strict=True):
            for ordinal, raw in by_ordinal.items():
                index = int(ordinal) - 1
                if 0 <= index < len(delivery.attempts):
                    delivery.attempts[index].exchanges = load_exchanges(raw)

    def _index_for(self, flt: MessageFilter) -> tuple[list[Part], Any, str, str, bool]:
        """(partitions, index key of a partition, min, max, exact): the narrowest index;
        exact when it answers ``flt`` alone. A PO's messages are all in its partition."""
        lo = score(flt.since.timestamp()) if flt.since else "-inf"
        hi = "(" + score(flt.until.timestamp()) if flt.until else "+inf"
        residual = any(value is not None for value in (
            flt.status, flt.target, flt.reason, flt.po_prefix, flt.message_id, flt.message_state
        ))  # fmt: skip
        if flt.po_number is not None:
            po = flt.po_number
            exact = not residual and flt.system is None
            return [self.part_of_po(po)], lambda p: p.idx_po(po), lo, hi, exact
        if flt.system is not None:
            system = flt.system
            return self.parts, lambda p: p.idx_sys(system), lo, hi, not residual
        return self.parts, lambda p: p.received, lo, hi, not residual

    def _fetcher(self, part: Part, key: str, lo: str, hi: str, flt: MessageFilter | None) -> Any:
        async def fetch(start: int, count: int) -> tuple[list[tuple[str, float]], int]:
            found = await self.r.zrevrangebyscore(key, hi, lo, start=start, num=count,
                                                  withscores=True)  # fmt: skip
            if flt is None or not found:
                return found, len(found)
            metas = await self._run("meta", part, [], [mid for mid, _ in found])
            kept = [row for row, meta in zip(found, metas, strict=True)
                    if meta and rows.matches(row[0], meta, flt)]  # fmt: skip
            return kept, len(found)

        return fetch

    async def _newest_first(
        self, flt: MessageFilter, chunk: int
    ) -> AsyncIterator[tuple[Part, str]]:
        """(partition, id) of messages matching ``flt``, newest first across partitions."""
        parts, key, lo, hi, exact = self._index_for(flt)
        check = None if exact else flt
        async for i, mid in merged([self._fetcher(p, key(p), lo, hi, check) for p in parts], chunk):
            yield parts[i], mid

    async def search(
        self, flt: MessageFilter, offset: int = 0, limit: int = 50, *, light: bool = False
    ) -> Page:
        parts, key, lo, hi, exact = self._index_for(flt)
        page: list[tuple[Part, str]] = []
        if exact:  # counts per partition, and at most offset + limit ids read from each
            counts = await asyncio.gather(*(self.r.zcount(key(p), lo, hi) for p in parts))
            total = sum(int(c) for c in counts)
            seen = 0
            async for found in self._newest_first(flt, min(SCAN_CHUNK, offset + limit)):
                if seen >= offset + limit:
                    break
                if seen >= offset:
                    page.append(found)
                seen += 1
        else:  # residual filters: one scan both pages and counts (cost grows with the window)
            total = 0
            async for found in self._newest_first(flt, SCAN_CHUNK):
                if offset <= total < offset + limit:
                    page.append(found)
                total += 1
        sizes: dict[str, int] = {}
        items = await self._load_page(page, sizes if light else None)
        return Page(items=items, total=total, offset=offset, limit=limit, body_sizes=sizes)

    async def _load_page(
        self, page: list[tuple[Part, str]], sizes: dict[str, int] | None
    ) -> list[Message]:
        """Load a page from its partitions, keeping the page's order."""
        by_part: dict[int, list[str]] = defaultdict(list)
        for part, mid in page:
            by_part[part.k].append(mid)
        ids = [mid for _, mid in page]
        loaded: dict[str, Message] = {}
        for k, some in by_part.items():
            part = self.parts[k]
            got = await (self._load_light(part, some, sizes) if sizes is not None
                         else self._load(part, some))  # fmt: skip
            loaded.update((m.id, m) for m in got)
        return [loaded[mid] for mid in ids if mid in loaded]

    async def deliveries(self, flt: MessageFilter) -> AsyncIterator[Delivery]:
        if flt.status in DELIVERY_STATES:
            assert flt.status is not None
            parts = [self.part_of_po(flt.po_number)] if flt.po_number is not None else self.parts
            for part in parts:
                async for delivery in self._deliveries_by_state(part, flt.status, flt):
                    yield delivery
            return
        if flt.status is not None:  # REJECTED / RECEIVED are message states: no deliveries
            return
        msg_flt = flt.model_copy(update={"target": None, "reason": None, "message_state": None})
        parts, key, lo, hi, exact = self._index_for(msg_flt)
        for part in parts:
            fetch = self._fetcher(part, key(part), lo, hi, None if exact else msg_flt)
            start = 0
            while True:
                found, read = await fetch(start, SCAN_CHUNK)
                start += read
                for message in await self._load(part, [mid for mid, _ in found]):
                    for d in message.deliveries:
                        if rules.delivery_matches(flt, message, d):
                            yield d
                if read < SCAN_CHUNK:
                    break

    async def _deliveries_by_state(
        self, part: Part, state: State, flt: MessageFilter
    ) -> AsyncIterator[Delivery]:
        """The deliveries in ``state``'s index; the message's own fields (system, PO, time)
        read from its hash only when ``flt`` tests one."""
        need_msg = any(t.attr != "id" for t, _ in rules.given(flt, rules.MESSAGE_TERMS))
        cursor = 0
        while True:
            cursor, chunk = await self.r.sscan(part.state(state), cursor, count=SCAN_CHUNK)
            hashes = await asyncio.gather(*(self.r.hgetall(part.delivery(d)) for d in chunk))
            found = [rows.delivery(h) for h in hashes if h and h.get("state") == state.value]
            metas: list[Any] = [None] * len(found)
            if need_msg and found:
                metas = await asyncio.gather(
                    *(self.r.hmget(part.msg(d.message_id), "system", "po", "rts") for d in found)
                )
            for d, meta in zip(found, metas, strict=True):
                if meta is not None and meta[0] is None:
                    continue  # a delivery without its message
                system, po, rts = meta or ("", d.po_number, 0)
                message = rows.Seen(d.message_id, system, po or None,
                                    datetime.fromtimestamp(float(rts), UTC))  # fmt: skip
                if rules.delivery_matches(flt, message, d):
                    yield d
            if int(cursor) == 0:
                return

    async def counts(self) -> dict[str, int]:
        """``SCARD``s of every partition's state sets, summed (N small scripts)."""
        names = [f"idx:state:{s.value}" for s in DELIVERY_STATES] + ["idx:rejected"]
        each = await asyncio.gather(*(self._run("counts", p, [], names) for p in self.parts))
        totals = [sum(int(v[i]) for v in each) for i in range(len(names))]
        out = {s.value: totals[i] for i, s in enumerate(DELIVERY_STATES)}
        out[State.REJECTED.value] = totals[-1]
        return out

    async def backlog(self) -> dict[str, TargetLoad]:
        """Per target, the ``backlog`` script of every partition (a few keys per target each),
        merged: counts added, the oldest arrival and the next retry the earliest."""
        each = await asyncio.gather(*(self._run("backlog", p, [], []) for p in self.parts))
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        oldest: dict[str, float] = {}
        retry: dict[str, float] = {}
        for rows_of_part in each:
            for name, flat, first, soonest in rows_of_part:
                target = str(name)
                for k, v in rows.pairs(flat).items():
                    counts[target][k] += int(v)
                if first:
                    oldest[target] = min(oldest.get(target, float("inf")), float(first))
                if soonest:
                    retry[target] = min(retry.get(target, float("inf")), float(soonest))
        out: dict[str, TargetLoad] = {}
        for target, by_state in counts.items():
            load = TargetLoad(
                **{k: max(0, by_state.get(k, 0)) for k in _COUNTED},
                oldest_at=_at(oldest.get(target)), next_retry_at=_at(retry.get(target)),
            )  # fmt: skip
            if load.backlog or load.parked or load.paused:
                out[target] = load
        return out

    # PO state ------------------------------------------------------------------------------
    async def purchase_orders(
        self, prefix: str | None = None, offset: int = 0, limit: int = 50
    ) -> PoList:
        """Walks every partition's per-PO message indexes (``P:{p<k>}:idx:po:<po>``) with
        SCAN: cost grows with the number of POs, fine for an operator's list, not for a hot
        path (``docs/redis.md``)."""
        found: list[tuple[str, Part]] = []
        for part in self.parts:
            stem = part.idx_po("")
            pattern = _glob_escape(stem) + "*"
            async for key in self.r.scan_iter(match=pattern, count=1000):
                po = unquote(str(key)[len(stem) :])
                if rules.starts(po, prefix):
                    found.append((po, part))
        items: list[PoListItem] = []
        for i in range(0, len(found), SCAN_CHUNK):
            chunk = found[i : i + SCAN_CHUNK]
            counts = await asyncio.gather(*(self.r.zcard(p.idx_po(po)) for po, p in chunk))
            latest = await asyncio.gather(
                *(self.r.zrevrange(p.idx_po(po), 0, 0, withscores=True) for po, p in chunk)
            )
            states = await asyncio.gather(*(self.r.get(p.po(po)) for po, p in chunk))
            for (po, _), count, last, state in zip(chunk, counts, latest, states, strict=True):
                if not count or not last:
                    continue
                status = orjson.loads(state).get("status") if state else None
                items.append(PoListItem(po_number=po, messages=int(count), status=status,
                                        last_received_at=datetime.fromtimestamp(last[0][1], UTC)))  # fmt: skip
        items.sort(key=lambda r: (-r.last_received_at.timestamp(), r.po_number))
        return PoList(items=items[offset : offset + limit], total=len(items), offset=offset,
                      limit=limit)  # fmt: skip

    # audit log -----------------------------------------------------------------------------
    async def add_audit(self, entry: AuditEntry) -> None:
        """One list outside the partitions (one key, one slot): every process's manual
        actions in the order they happened."""
        await self.r.lpush(self.g.audit, entry.model_dump_json())

    async def audit(self, offset: int = 0, limit: int = 100) -> AuditPage:
        total = await self.r.llen(self.g.audit)
        raw = await self.r.lrange(self.g.audit, offset, offset + limit - 1)
        items = [AuditEntry.model_validate_json(r) for r in raw]
        return AuditPage(items=items, total=int(total), offset=offset, limit=limit)

    async def get_po(self, po_number: str) -> PurchaseOrder | None:
        raw = await self.r.get(self.part_of_po(po_number).po(po_number))
        return PurchaseOrder.model_validate_json(raw) if raw else None

    async def update_po(self, po_number: str, change: PoUpdate) -> PurchaseOrder | None:
        """Read, change, then compare-and-set (``cas`` script) until no one wrote between."""
        part = self.part_of_po(po_number)
        key = part.po(po_number)
        for tries in range(CAS_TRIES):
            raw = await self.r.get(key)
            current = PurchaseOrder.model_validate_json(raw) if raw else None
            new = change(current)
            if new is None:  # nothing to store
                return current
            if int(await self._run("cas", part, [key], [_sha(raw), new.model_dump_json()])):
                return new
            await asyncio.sleep(min(0.05, 0.001 * tries))
        raise RuntimeError(f"update_po({po_number!r}) lost {CAS_TRIES} races in a row")

    async def timeline(self, po_number: str) -> list[Message]:
        part = self.part_of_po(po_number)
        ids = await self.r.zrange(part.idx_po(po_number), 0, -1)
        out: list[Message] = []
        for i in range(0, len(ids), SCAN_CHUNK):
            out += await self._load(part, ids[i : i + SCAN_CHUNK])
        return out

    # identity ------------------------------------------------------------------------------
    async def link_remote(
        self, system: str, remote_id: str, po_number: str, *, replace: bool = True
    ) -> str:
        args = [remote_id, po_number, "1" if replace else "0"]
        return str(await self._run("link", None, [self.k_xw(system)], args))

    async def find_remote(self, system: str, remote_id: str) -> str | None:
        value = await self.r.hget(self.k_xw(system), remote_id)
        return None if value is None else str(value)

    # checkpoints ---------------------------------------------------------------------------
    async def get_checkpoint(self, name: str) -> str | None:
        value = await self.r.hget(self.g.cp, name)
        return None if value is None else str(value)

    async def set_checkpoint(self, name: str, value: str) -> None:
        await self.r.hset(self.g.cp, name, value)

    async def swap_checkpoint(self, name: str, expected: str | None, value: str) -> bool:
        args = [name, "0" if expected is None else "1", expected or "", value]
        return int(await self._run("swap", None, [self.g.cp], args)) == 1


def _finish_args(
    delivery_id: str, attempt: Attempt | None, outcome: rules.Outcome, move: rules.Move
) -> list[Any]:
    """The ``finish`` script's arguments, less the PO's compare-and-set (ARGV 14-16)."""
    due_at = outcome.next_at
    light, exchanges = attempt_parts(attempt) if attempt else ("", "")
    return [delivery_id, outcome.state.value, due_at.isoformat() if due_at else "",
            _due(outcome.state, due_at) if due_at else "", outcome.reason or "",
            outcome.park_kind or "", int(outcome.step), light, outcome.at.isoformat(),
            exchanges, *_rule(move)]  # fmt: skip


def _rule(move: rules.Move) -> list[str]:
    """A move's sources and clears as script arguments (word lists)."""
    return [rules.words(move.sources), " ".join(move.clears)]


def _to(move: rules.Move) -> State:
    """The one state a requeue moves to."""
    (to,) = move.targets
    return to


def _due(state: State, at: datetime) -> str:
    """The ``due`` score of a delivery due at ``at``: a queued one sorts before any retry."""
    return queued_score(at) if state is State.QUEUED else score(at.timestamp())


def _glob_escape(text: str) -> str:
    """``text`` with the glob characters of ``SCAN MATCH`` escaped, to match literally."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
