"""The Redis backend: every state change that must not be lost or doubled is one Lua script.

Layout, safety argument, Redis Cluster notes and the AOF expectation: ``docs/redis.md``.
In short (``P`` is the prefix, ``pohub`` unless the URL says ``?prefix=...``):

- ``P:m:<id>``                  hash: ``json`` (message without deliveries), ``dids``, filter fields
- ``P:d:<id>``                  hash: one delivery (ISO datetimes, ``due`` score, ``line`` key)
- ``P:x:<id>``                  hash: attempt ordinal (1-based) -> its exchanges' JSON; read
                                only by ``get_message``, so claims and lists stay light
- ``P:line:{<po>}:<target>``    list: the unfinished deliveries of one (target, PO), seq order
- ``P:seq:{<po>}``              hash: target -> last seq handed out
- ``P:due``                     zset: line keys whose head is claimable, scored by its due time
- ``P:lease``                   zset: delivering delivery ids scored by lease expiry
- ``P:dedup``                   hash: dedup key -> message id
- ``P:po:{<po>}``               string: PO state JSON (WATCH/MULTI)
- ``P:idx:received`` / ``P:idx:sys:<system>`` / ``P:idx:po:{<po>}``  zsets of message ids
- ``P:idx:state:<state>``       sets of delivery ids per state (counts, ``deliveries()``, unpark)
- ``P:idx:rejected``            set of rejected message ids
- ``P:cp``                      hash: checkpoints
- ``P:xw:<system>``             hash: remote id -> hub PO number (the identity crosswalk)
- ``P:tc:<target>`` / ``P:tq:<target>`` / ``P:tr:<target>`` / ``P:targets``  per-target
                                counts by state, backlog by arrival, retrying by due time
                                (``backlog``; kept by every script that moves a delivery)
- ``P:audit``                   list: the audit log, newest first (JSON entries, LPUSH)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import orjson
import redis.asyncio as redis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import WatchError

from core.model import PurchaseOrder
from gateway.store.base import LEASE_EXPIRED, PoUpdate, Store
from gateway.store.records import (
    FINISHABLE,
    LEAST_FINISHED_FIRST,
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

log = structlog.get_logger(__name__)

QUEUED_OFFSET = 1e10
"""A QUEUED head is due at once: its score is its enqueue time minus ~317 years, so it sorts
before every due retry (FIFO among queued lines) and below any ``now`` a caller passes."""

SCAN_CHUNK = 500
SWEEP_BATCH = 1000
UNPARK_BATCH = 500

# Lua -------------------------------------------------------------------------------------
# Every script gets the key prefix as ARGV[1]. Helpers shared by all scripts:
_PRELUDE = """
local P = ARGV[1]
local function dkey(id) return P .. ':d:' .. id end
local function move(id, old, new)
  if old then redis.call('SREM', P .. ':idx:state:' .. old, id) end
  redis.call('SADD', P .. ':idx:state:' .. new, id)
  redis.call('HSET', dkey(id), 'state', new)
end
-- the one rule of P:due: a line is in it iff its head is queued/retrying, at the head's score
local function reindex(line)
  local head = redis.call('LINDEX', line, 0)
  if head then
    local f = redis.call('HMGET', dkey(head), 'state', 'due')
    if (f[1] == 'queued' or f[1] == 'retrying') and f[2] then
      redis.call('ZADD', P .. ':due', f[2], line)
      return
    end
  end
  redis.call('ZREM', P .. ':due', line)
end
-- per-target indexes read by Store.backlog (call after a delivery's fields are final):
-- P:tc:<t> counts by state ('paused' for parked by a pause), P:tq:<t> the backlog (queued,
-- retrying, delivering) scored by creation, P:tr:<t> the retrying scored by due time
local BACKLOG = {queued = true, retrying = true, delivering = true}
local function track(id)
  local dk = dkey(id)
  local f = redis.call('HMGET', dk, 'state', 'target', 'cts', 'due', 'tstate', 'park_kind')
  local st, t = f[1], f[2]
  if not st or not t then return end
  if st == 'parked' and f[6] == 'paused' then st = 'paused' end
  if f[5] ~= st then
    if f[5] then redis.call('HINCRBY', P .. ':tc:' .. t, f[5], -1) end
    redis.call('HINCRBY', P .. ':tc:' .. t, st, 1)
    redis.call('HSET', dk, 'tstate', st)
    redis.call('SADD', P .. ':targets', t)
  end
  if BACKLOG[st] then
    redis.call('ZADD', P .. ':tq:' .. t, f[3] or 0, id)
  else
    redis.call('ZREM', P .. ':tq:' .. t, id)
  end
  if st == 'retrying' and f[4] then
    redis.call('ZADD', P .. ':tr:' .. t, f[4], id)
  else
    redis.call('ZREM', P .. ':tr:' .. t, id)
  end
end
local function loadmsg(mid)
  local m = redis.call('HMGET', P .. ':m:' .. mid, 'json', 'dids')
  if not m[1] then return false end
  local out = {m[1]}
  if m[2] then
    for did in string.gmatch(m[2], '%S+') do
      out[#out + 1] = redis.call('HGETALL', dkey(did))
    end
  end
  return out
end
"""

# KEYS: m, dedup, idx:received, idx:sys, idx:po, seq, due, idx:state:queued, then (d, line)*
# ARGV: P, mid, dedup_key, json, received score, now iso, queued score, dids, system, po,
#       status, n, then (did, target)*
_ACCEPT = """
local mid, dedup = ARGV[2], ARGV[3]
if dedup ~= '' then
  local first = redis.call('HGET', KEYS[2], dedup)
  if first then return {0, first} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, mid} end
local n = tonumber(ARGV[12])
local po_state = ARGV[13 + 2 * n]
if po_state and po_state ~= '' then redis.call('SET', KEYS[9 + 2 * n], po_state) end
redis.call('HSET', KEYS[1], 'json', ARGV[4], 'dids', ARGV[8], 'system', ARGV[9],
           'po', ARGV[10], 'status', ARGV[11], 'rts', ARGV[5])
if dedup ~= '' then redis.call('HSET', KEYS[2], dedup, mid) end
redis.call('ZADD', KEYS[3], ARGV[5], mid)
redis.call('ZADD', KEYS[4], ARGV[5], mid)
if ARGV[10] ~= '' then redis.call('ZADD', KEYS[5], ARGV[5], mid) end
local out = {1}
for i = 1, n do
  local did, target = ARGV[11 + 2 * i], ARGV[12 + 2 * i]
  local dk, line = KEYS[7 + 2 * i], KEYS[8 + 2 * i]
  local seq = redis.call('HINCRBY', KEYS[6], target, 1)
  redis.call('HSET', dk, 'id', did, 'message_id', mid, 'target', target, 'po_number', ARGV[10],
             'seq', seq, 'state', 'queued', 'next_at', ARGV[6], 'due', ARGV[7], 'step', 0,
             'attempts', '[]', 'created_at', ARGV[6], 'updated_at', ARGV[6], 'line', line,
             'cts', ARGV[5])
  redis.call('SADD', KEYS[8], did)
  redis.call('RPUSH', line, did)
  reindex(line)
  track(did)
  out[#out + 1] = seq
end
return out
"""

# ARGV: P, now score, now iso, limit, lease score, lease iso, worker
_CLAIM = """
local now, nowiso, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local nownum = tonumber(now)
local out = {}
local rounds = 0
while #out < limit and rounds < 100 do
  rounds = rounds + 1
  local lines = redis.call('ZRANGEBYSCORE', P .. ':due', '-inf', now, 'LIMIT', 0, limit - #out)
  if #lines == 0 then break end
  for _, line in ipairs(lines) do
    local head = redis.call('LINDEX', line, 0)
    local f = {}
    if head then f = redis.call('HMGET', dkey(head), 'state', 'due', 'message_id') end
    if (f[1] == 'queued' or f[1] == 'retrying') and f[2] and tonumber(f[2]) <= nownum then
      move(head, f[1], 'delivering')
      redis.call('HSET', dkey(head), 'lease_until', ARGV[6], 'worker', ARGV[7],
                 'updated_at', nowiso)
      redis.call('ZADD', P .. ':lease', ARGV[5], head)
      redis.call('ZREM', P .. ':due', line)
      track(head)
      out[#out + 1] = {redis.call('HGETALL', dkey(head)), loadmsg(f[3])}
    else
      reindex(line)  -- stale entry: drops the line or re-scores it above now
    end
  end
end
return out
"""

# ARGV: P, id, state, next iso, due score, reason, park_kind, step, attempt json, now iso,
#       exchanges json
_FINISH = """
local id, st = ARGV[2], ARGV[3]
local dk = dkey(id)
local f = redis.call('HMGET', dk, 'state', 'line', 'last_attempt', 'attempts')
if not f[1] then return -1 end
if f[1] == 'delivered' or f[1] == 'dead' then return 0 end
local att = ARGV[9]
if att ~= '' then redis.call('HDEL', dk, 'replayed_by') end
if att ~= '' and att ~= f[3] then
  local cur = f[4] or '[]'
  if cur == '[]' then cur = '[' .. att .. ']' else cur = string.sub(cur, 1, -2) .. ',' .. att .. ']' end
  redis.call('HSET', dk, 'attempts', cur, 'last_attempt', att)
  if ARGV[11] ~= '' then
    redis.call('HSET', P .. ':x:' .. id, #cjson.decode(cur), ARGV[11])
  end
end
move(id, f[1], st)
redis.call('HSET', dk, 'step', ARGV[8], 'updated_at', ARGV[10])
redis.call('HDEL', dk, 'lease_until', 'worker')
redis.call('ZREM', P .. ':lease', id)
if ARGV[6] ~= '' then redis.call('HSET', dk, 'reason', ARGV[6]) else redis.call('HDEL', dk, 'reason') end
if ARGV[7] ~= '' then
  redis.call('HSET', dk, 'park_kind', ARGV[7])
else
  redis.call('HDEL', dk, 'park_kind')
end
if st == 'retrying' or st == 'queued' then
  redis.call('HSET', dk, 'next_at', ARGV[4], 'due', ARGV[5])
end
if st == 'delivered' or st == 'dead' then redis.call('LREM', f[2], 0, id) end
reindex(f[2])
track(id)
return 1
"""

# ARGV: P, worker, lease score, lease iso, ids...
_EXTEND = """
local n = 0
for i = 5, #ARGV do
  local id = ARGV[i]
  local f = redis.call('HMGET', dkey(id), 'state', 'worker')
  if f[1] == 'delivering' and f[2] == ARGV[2] then
    redis.call('HSET', dkey(id), 'lease_until', ARGV[4])
    redis.call('ZADD', P .. ':lease', ARGV[3], id)
    n = n + 1
  end
end
return n
"""

# ARGV: P, now score, now iso, queued score (unused), batch, reason
_SWEEP = """
local ids = redis.call('ZRANGEBYSCORE', P .. ':lease', '-inf', ARGV[2], 'LIMIT', 0,
                       tonumber(ARGV[5]))
local n = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', P .. ':lease', id)
  local dk = dkey(id)
  local f = redis.call('HMGET', dk, 'state', 'line')
  if f[1] == 'delivering' then
    move(id, 'delivering', 'retrying')
    redis.call('HSET', dk, 'next_at', ARGV[3], 'due', ARGV[2], 'updated_at', ARGV[3],
               'reason', ARGV[6])
    redis.call('HDEL', dk, 'lease_until', 'worker')
    reindex(f[2])
    track(id)
    n = n + 1
  end
end
return {#ids, n}
"""

# ARGV: P, '='..target or '', '='..park_kind or '', '='..po or '', now iso, queued score, ids...
# One bounded batch of candidate ids (read from the parked index with SSCAN by the caller):
# no script walks the whole parked set at once.
_UNPARK = """
local n = 0
for i = 7, #ARGV do
  local id = ARGV[i]
  local dk = dkey(id)
  local f = redis.call('HMGET', dk, 'target', 'park_kind', 'po_number', 'line', 'state')
  if f[5] == 'parked'
      and (ARGV[2] == '' or '=' .. (f[1] or '') == ARGV[2])
      and (ARGV[3] == '' or '=' .. (f[2] or '') == ARGV[3])
      and (ARGV[4] == '' or '=' .. (f[3] or '') == ARGV[4]) then
    move(id, 'parked', 'queued')
    redis.call('HSET', dk, 'next_at', ARGV[5], 'due', ARGV[6], 'updated_at', ARGV[5])
    redis.call('HDEL', dk, 'reason', 'park_kind')
    reindex(f[4])
    track(id)
    n = n + 1
  end
end
return n
"""

# KEYS: checkpoint hash. ARGV: P, name, '1' if a value is expected else '0', expected, value
_SWAP = """
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if (ARGV[3] == '0' and not cur) or (ARGV[3] == '1' and cur == ARGV[4]) then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[5])
  return 1
end
return 0
"""

# ARGV: P, id, now iso, queued score, pinned mapping version or '', who replayed it or ''
_REPLAY = """
local id = ARGV[2]
local dk = dkey(id)
local f = redis.call('HMGET', dk, 'state', 'line', 'seq')
if not f[1] then return -1 end
if f[1] == 'delivering' then return 0 end
if f[1] == 'delivered' or f[1] == 'dead' then
  -- back into its line in seq order, but never in front of an in-flight head
  local seq = tonumber(f[3])
  local present, pivot, pos = false, false, 0
  for i, x in ipairs(redis.call('LRANGE', f[2], 0, -1)) do
    if x == id then present = true end
    if not pivot and x ~= id and tonumber(redis.call('HGET', dkey(x), 'seq') or '0') > seq then
      pivot, pos = x, i
    end
  end
  if not present then
    if not pivot then
      redis.call('RPUSH', f[2], id)
    elseif pos == 1 and redis.call('HGET', dkey(pivot), 'state') == 'delivering' then
      redis.call('LINSERT', f[2], 'AFTER', pivot, id)
    else
      redis.call('LINSERT', f[2], 'BEFORE', pivot, id)
    end
  end
end
move(id, f[1], 'queued')
redis.call('HSET', dk, 'next_at', ARGV[3], 'due', ARGV[4], 'updated_at', ARGV[3])
redis.call('HDEL', dk, 'reason', 'park_kind', 'lease_until', 'worker')
if ARGV[5] ~= '' then
  redis.call('HSET', dk, 'pinned_mapping', ARGV[5])
else
  redis.call('HDEL', dk, 'pinned_mapping')
end
if ARGV[6] ~= '' then
  redis.call('HSET', dk, 'replayed_by', ARGV[6])
else
  redis.call('HDEL', dk, 'replayed_by')
end
reindex(f[2])
track(id)
return 1
"""

# read-only snapshots --------------------------------------------------------------------
# ARGV: P, message ids...   -> per id: false | {json, hgetall(d)...}
_LOAD = """
local out = {}
for i = 2, #ARGV do out[#out + 1] = loadmsg(ARGV[i]) end
return out
"""

# ARGV: P, message ids...   -> per id: false | {system, po, status, error, {target, state, reason}*}
_META = """
local out = {}
for i = 2, #ARGV do
  local m = redis.call('HMGET', P .. ':m:' .. ARGV[i], 'system', 'po', 'status', 'error', 'dids')
  if not m[1] then
    out[#out + 1] = false
  else
    local ds = {}
    if m[5] then
      for did in string.gmatch(m[5], '%S+') do
        local f = redis.call('HMGET', dkey(did), 'target', 'state', 'reason')
        ds[#ds + 1] = f[1] or ''
        ds[#ds + 1] = f[2] or ''
        ds[#ds + 1] = f[3] or ''
      end
    end
    out[#out + 1] = {m[1], m[2] or '', m[3] or '', m[4] or '', ds}
  end
end
return out
"""

# KEYS: xw hash. ARGV: P, remote id, po number, '1' to replace. -> the po number now linked
_LINK = """
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  return ARGV[3]
end
redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
return redis.call('HGET', KEYS[1], ARGV[2])
"""

# ARGV: P, (id, creation score)*: index deliveries written before the per-target indexes
# existed (``RedisStore._index_targets``); deliveries already indexed are left as they are
_TRACK = """
for i = 2, #ARGV, 2 do
  local dk = dkey(ARGV[i])
  if redis.call('EXISTS', dk) == 1 and not redis.call('HGET', dk, 'tstate') then
    redis.call('HSETNX', dk, 'cts', ARGV[i + 1])
    track(ARGV[i])
  end
end
return 1
"""

# ARGV: P -> per target: {name, {field, count}*, oldest creation score, next retry score}
_BACKLOG = """
local out = {}
for _, t in ipairs(redis.call('SMEMBERS', P .. ':targets')) do
  local q = redis.call('ZRANGE', P .. ':tq:' .. t, 0, 0, 'WITHSCORES')
  local r = redis.call('ZRANGE', P .. ':tr:' .. t, 0, 0, 'WITHSCORES')
  out[#out + 1] = {t, redis.call('HGETALL', P .. ':tc:' .. t), q[2] or '', r[2] or ''}
end
return out
"""

_COUNTS = """
local out = {}
for i = 2, #ARGV do out[#out + 1] = redis.call('SCARD', P .. ':' .. ARGV[i]) end
return out
"""

DELIVERY_STATES = (
    State.QUEUED,
    State.DELIVERING,
    State.DELIVERED,
    State.RETRYING,
    State.PARKED,
    State.DEAD,
)


def _enc(part: str) -> str:
    """A key component with ``{}:%`` and friends escaped, so keys never collide or mis-tag."""
    return quote(part, safe="")


def _score(ts: float) -> str:
    return repr(float(ts))


def _queued_score(at: datetime) -> str:
    return _score(at.timestamp() - QUEUED_OFFSET)


def _pairs(flat: Sequence[Any]) -> dict[str, str]:
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def _delivery(flat: Sequence[Any] | dict[str, str]) -> Delivery:
    h = flat if isinstance(flat, dict) else _pairs(flat)
    return Delivery.model_validate(
        {
            "id": h["id"],
            "message_id": h["message_id"],
            "target": h["target"],
            "po_number": h.get("po_number", ""),
            "seq": int(h["seq"]),
            "state": h["state"],
            "next_at": h["next_at"],
            "lease_until": h.get("lease_until"),
            "reason": h.get("reason"),
            "park_kind": h.get("park_kind"),
            "step": int(h.get("step") or 0),
            "pinned_mapping": h.get("pinned_mapping") or None,
            "replayed_by": h.get("replayed_by") or None,
            "attempts": orjson.loads(h.get("attempts") or "[]"),
            "created_at": h["created_at"],
            "updated_at": h["updated_at"],
        }
    )


def _message(row: Any) -> Message | None:
    """``false | {json, hgetall(d)...}`` from the load scripts -> Message with deliveries."""
    if not row:
        return None
    msg = Message.model_validate_json(row[0])
    msg.deliveries = [_delivery(d) for d in row[1:] if d]
    return msg


def _split_prefix(url: str, prefix: str | None) -> tuple[str, str]:
    """Take ``?prefix=`` out of the URL (redis-py would refuse an unknown option)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    found = [v for k, v in query if k == "prefix"]
    rest = [(k, v) for k, v in query if k != "prefix"]
    chosen = prefix or (found[-1] if found else "") or "pohub"
    return urlunsplit(parts._replace(query=urlencode(rest))), chosen


MAX_CONNECTIONS = 64
LIGHT_CHUNK = 10
"""Messages loaded per call by a light (list) read: at most ~10 bodies in memory at once."""
POOL_WAIT_S = 20.0


class RedisStore(Store):
    """``redis://host:port/db[?prefix=pohub]``: N workers on M machines share one Redis."""

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        self.url, self.prefix = _split_prefix(url, prefix)
        p = self.prefix
        self.k_due = f"{p}:due"
        self.k_lease = f"{p}:lease"
        self.k_dedup = f"{p}:dedup"
        self.k_cp = f"{p}:cp"
        self.k_received = f"{p}:idx:received"
        self.k_rejected = f"{p}:idx:rejected"
        self.k_audit = f"{p}:audit"
        self._r: Any = None
        self._scripts: dict[str, Any] = {}

    # keys ----------------------------------------------------------------------------------
    def k_msg(self, mid: str) -> str:
        return f"{self.prefix}:m:{mid}"

    def k_del(self, did: str) -> str:
        return f"{self.prefix}:d:{did}"

    def k_exchanges(self, did: str) -> str:
        return f"{self.prefix}:x:{did}"

    def k_line(self, po: str, target: str) -> str:
        return f"{self.prefix}:line:{{{_enc(po)}}}:{_enc(target)}"

    def k_seq(self, po: str) -> str:
        return f"{self.prefix}:seq:{{{_enc(po)}}}"

    def k_po(self, po: str) -> str:
        return f"{self.prefix}:po:{{{_enc(po)}}}"

    def k_idx_po(self, po: str) -> str:
        return f"{self.prefix}:idx:po:{{{_enc(po)}}}"

    def k_idx_sys(self, system: str) -> str:
        return f"{self.prefix}:idx:sys:{_enc(system)}"

    def k_xw(self, system: str) -> str:
        return f"{self.prefix}:xw:{_enc(system)}"

    def k_state(self, state: State) -> str:
        return f"{self.prefix}:idx:state:{state.value}"

    # life cycle ----------------------------------------------------------------------------
    @property
    def r(self) -> Any:
        if self._r is None:
            raise RuntimeError("RedisStore is not open")
        return self._r

    async def open(self) -> None:
        if self._r is not None:
            return
        # A blocking pool: past MAX_CONNECTIONS a call waits for a free connection (up to
        # POOL_WAIT_S) instead of failing with "Too many connections" under a burst.
        pool = redis.BlockingConnectionPool.from_url(
            self.url,
            max_connections=MAX_CONNECTIONS,
            timeout=POOL_WAIT_S,
            decode_responses=True,
            socket_connect_timeout=2.0,
            socket_timeout=15.0,
            health_check_interval=15,
            # reconnect on a dropped connection (a Redis restart): 3 tries, 0.1 s .. 1 s apart
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), 3),
        )
        self._r = redis.Redis(connection_pool=pool)
        for name, body in {
            "accept": _ACCEPT,
            "claim": _CLAIM,
            "finish": _FINISH,
            "sweep": _SWEEP,
            "extend": _EXTEND,
            "unpark": _UNPARK,
            "replay": _REPLAY,
            "swap": _SWAP,
            "load": _LOAD,
            "meta": _META,
            "counts": _COUNTS,
            "track": _TRACK,
            "backlog": _BACKLOG,
            "link": _LINK,
        }.items():
            # register_script runs EVALSHA and re-loads the script on NOSCRIPT (after a restart)
            self._scripts[name] = self._r.register_script(_PRELUDE + body)
        if not await self.ping():
            log.warning("store.redis_unreachable", url=self._safe_url())
            return
        await self._index_targets()

    async def _index_targets(self) -> None:
        """Once per store: put the unfinished deliveries written before the per-target
        indexes of ``backlog`` existed into them (bounded batches of each state's set; a
        delivery a script moved meanwhile is already indexed and left alone)."""
        marker = f"{self.prefix}:tidx"
        if await self.r.exists(marker):
            return
        for state in (State.QUEUED, State.RETRYING, State.DELIVERING, State.PARKED):
            async for chunk in _chunks(self.r.sscan_iter(self.k_state(state), count=SCAN_CHUNK)):
                async with self.r.pipeline(transaction=False) as p:
                    for did in chunk:
                        p.hget(self.k_del(did), "message_id")
                    mids = await p.execute()
                async with self.r.pipeline(transaction=False) as p:
                    for mid in mids:
                        p.hget(self.k_msg(mid or "-"), "rts")
                    scores = await p.execute()
                args = [x for did, ts in zip(chunk, scores, strict=True) if ts for x in (did, ts)]
                if args:
                    await self._run("track", [], args)
        await self.r.set(marker, "1")

    def _safe_url(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))

    async def close(self) -> None:
        if self._r is not None:
            await self._r.aclose()
            self._r = None

    async def ping(self) -> bool:
        if self._r is None:
            return False
        try:
            return bool(await asyncio.wait_for(self._r.ping(), timeout=3.0))
        except Exception:
            return False

    async def _run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return await self._scripts[name](keys=list(keys), args=[self.prefix, *args])

    async def _flush_for_tests(self) -> None:
        """Delete this store's keys only (other prefixes in the same db are left alone)."""
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in self.prefix) + ":*"
        batch: list[str] = []
        async for key in self.r.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await self.r.unlink(*batch)
                batch.clear()
        if batch:
            await self.r.unlink(*batch)

    # ingest --------------------------------------------------------------------------------
    async def find_duplicate(self, dedup_key: str) -> Message | None:
        mid = await self.r.hget(self.k_dedup, dedup_key)
        return await self.get_message(mid) if mid else None

    def _accept_call(
        self, message: Message, targets: list[str], at: datetime
    ) -> tuple[list[str], list[Any], list[str]]:
        """KEYS, ARGV and new delivery ids of the ``accept`` script."""
        po = message.po_number or ""
        dids = [uuid.uuid4().hex for _ in targets]
        keys = [
            self.k_msg(message.id),
            self.k_dedup,
            self.k_received,
            self.k_idx_sys(message.system),
            self.k_idx_po(po),
            self.k_seq(po),
            self.k_due,
            self.k_state(State.QUEUED),
        ]
        args: list[Any] = [
            message.id,
            message.dedup_key or "",
            message.model_dump_json(exclude={"deliveries"}),
            _score(message.received_at.timestamp()),
            at.isoformat(),
            _queued_score(at),
            " ".join(dids),
            message.system,
            po,
            message.status.value,
            len(targets),
        ]
        for did, target in zip(dids, targets, strict=True):
            keys += [self.k_del(did), self.k_line(po, target)]
            args += [did, target]
        return keys, args, dids

    async def _accepted(
        self, out: Any, message: Message, targets: list[str], dids: list[str], at: datetime
    ) -> tuple[Message, bool]:
        if int(out[0]) == 0:
            first = await self.get_message(str(out[1]))
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
        keys, args, dids = self._accept_call(message, targets, at)
        out = await self._run("accept", keys, args)
        return await self._accepted(out, message, targets, dids, at)

    async def ingest(
        self, message: Message, targets: list[str], change: PoUpdate, release_unknown_po: bool
    ) -> tuple[Message, bool]:
        """One transaction: the PO's new state and the message with its deliveries are
        written together by the ``accept`` script (a duplicate writes neither), under a
        WATCH of the PO's key, so a concurrent event of the same PO makes this one start
        again from the state that one left. Un-parking "unknown PO" deliveries follows."""
        if message.dedup_key is not None:  # a known duplicate: nothing to compute or write
            known = await self.find_duplicate(message.dedup_key)
            if known is not None:
                return known, False
        if message.po_number is None:
            return await self.accept(message, targets)
        key = self.k_po(message.po_number)
        for tries in range(1000):
            at = utc_now()
            async with self.r.pipeline(transaction=True) as tx:
                try:
                    await tx.watch(key)
                    raw = await tx.get(key)
                    current = PurchaseOrder.model_validate_json(raw) if raw else None
                    new = change(current)
                    keys, args, dids = self._accept_call(message, targets, at)
                    keys.append(key)
                    args.append(new.model_dump_json() if new is not None else "")
                    tx.multi()
                    await self._scripts["accept"](keys=keys, args=[self.prefix, *args], client=tx)
                    (out,) = await tx.execute()
                    break
                except WatchError:
                    await asyncio.sleep(min(0.05, 0.001 * tries))
        else:
            raise RuntimeError(f"ingest of PO {message.po_number!r} lost 1000 races in a row")
        stored, created = await self._accepted(out, message, targets, dids, at)
        if created and release_unknown_po and current is None:
            await self.unpark(park_kind="unknown_po", po_number=message.po_number)
        return stored, created

    async def reject(self, message: Message) -> None:
        stored = message.model_copy(update={"status": State.REJECTED, "deliveries": []})
        ts = _score(stored.received_at.timestamp())
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(
                self.k_msg(stored.id),
                mapping={
                    "json": stored.model_dump_json(exclude={"deliveries"}),
                    "dids": "",
                    "system": stored.system,
                    "po": stored.po_number or "",
                    "status": State.REJECTED.value,
                    "error": stored.error or "",
                    "rts": ts,
                },
            )
            tx.zadd(self.k_received, {stored.id: ts})
            tx.zadd(self.k_idx_sys(stored.system), {stored.id: ts})
            if stored.po_number:
                tx.zadd(self.k_idx_po(stored.po_number), {stored.id: ts})
            tx.sadd(self.k_rejected, stored.id)
            await tx.execute()

    # queue ---------------------------------------------------------------------------------
    async def claim(
        self, worker: str, limit: int, lease_s: float, now: datetime | None = None
    ) -> list[tuple[Delivery, Message]]:
        if limit <= 0:
            return []
        at = now or _now()
        until = at + timedelta(seconds=lease_s)
        rows = await self._run(
            "claim",
            [],
            [
                _score(at.timestamp()),
                at.isoformat(),
                int(limit),
                _score(until.timestamp()),
                until.isoformat(),
                worker,
            ],
        )
        out: list[tuple[Delivery, Message]] = []
        for flat, row in rows:
            delivery = _delivery(flat)
            message = _message(row)
            if message is None:  # pragma: no cover - a delivery without its message
                log.error("store.orphan_delivery", delivery_id=delivery.id)
                continue
            out.append((delivery, message))
        return out

    async def finish(
        self,
        delivery_id: str,
        attempt: Attempt | None,
        state: State,
        *,
        next_at: datetime | None = None,
        reason: str | None = None,
        park_kind: str | None = None,
        step: int = 0,
    ) -> None:
        if state not in FINISHABLE:
            raise ValueError(f"finish cannot move a delivery to {state.value}")
        at = _now()
        due_at = next_at or at
        due = _queued_score(due_at) if state is State.QUEUED else _score(due_at.timestamp())
        light, exchanges = attempt_parts(attempt) if attempt else ("", "")
        done = await self._run(
            "finish",
            [],
            [
                delivery_id,
                state.value,
                due_at.isoformat(),
                due,
                reason or "",
                park_kind or "",
                int(step),
                light,
                at.isoformat(),
                exchanges,
            ],
        )
        if int(done) == -1:
            raise KeyError(f"no delivery {delivery_id!r}")

    async def extend(
        self, worker: str, delivery_ids: list[str], lease_s: float, now: datetime | None = None
    ) -> int:
        if not delivery_ids:
            return 0
        until = (now or _now()) + timedelta(seconds=lease_s)
        args = [worker, _score(until.timestamp()), until.isoformat(), *delivery_ids]
        return int(await self._run("extend", [], args))

    async def sweep(self, now: datetime | None = None) -> int:
        at = now or _now()
        total = 0
        while True:
            seen, given = await self._run(
                "sweep",
                [],
                [
                    _score(at.timestamp()),
                    at.isoformat(),
                    _queued_score(at),
                    SWEEP_BATCH,
                    LEASE_EXPIRED,
                ],
            )
            total += int(given)
            if int(seen) < SWEEP_BATCH:
                return total

    async def unpark(
        self,
        *,
        target: str | None = None,
        park_kind: str | None = None,
        po_number: str | None = None,
    ) -> int:
        at = _now()

        def opt(value: str | None) -> str:
            return "" if value is None else "=" + value

        filters = [opt(target), opt(park_kind), opt(po_number), at.isoformat(), _queued_score(at)]
        n, cursor = 0, 0
        while True:  # bounded batches: SSCAN the parked index, re-queue what matches
            cursor, ids = await self.r.sscan(self.k_state(State.PARKED), cursor, count=UNPARK_BATCH)
            if ids:
                n += int(await self._run("unpark", [], [*filters, *ids]))
            if int(cursor) == 0:
                return n

    async def replay(self, delivery_id: str, pin: str | None = None, by: str | None = None) -> bool:
        at = _now()
        args = [delivery_id, at.isoformat(), _queued_score(at), pin or "", by or ""]
        n = await self._run("replay", [], args)
        return int(n) == 1

    # records -------------------------------------------------------------------------------
    async def _load(self, ids: Sequence[str]) -> list[Message]:
        if not ids:
            return []
        rows = await self._run("load", [], list(ids))
        return [m for m in (_message(row) for row in rows) if m is not None]

    async def _load_light(self, ids: Sequence[str], sizes: dict[str, int]) -> list[Message]:
        """``_load`` for lists: a few messages per call, each stripped of its body, headers
        and events (kinds kept) before the next call, so a page never holds its bodies."""
        out: list[Message] = []
        for i in range(0, len(ids), LIGHT_CHUNK):
            for message in await self._load(ids[i : i + LIGHT_CHUNK]):
                sizes[message.id] = len(message.body.encode())
                message.body, message.headers = "", {}
                message.canonical = [{"kind": e.get("kind")} for e in message.canonical]
                out.append(message)
        return out

    async def get_message(self, message_id: str) -> Message | None:
        found = await self._load([message_id])
        if not found:
            return None
        await self._with_exchanges(found[0].deliveries)
        return found[0]

    async def _with_exchanges(self, deliveries: list[Delivery]) -> None:
        """Fill in each attempt's exchanges (kept apart in ``P:x:<delivery id>``)."""
        tried = [d for d in deliveries if d.attempts]
        async with self.r.pipeline(transaction=False) as pipe:
            for d in tried:
                pipe.hgetall(self.k_exchanges(d.id))
            found = await pipe.execute()
        for delivery, by_ordinal in zip(tried, found, strict=True):
            for ordinal, raw in by_ordinal.items():
                index = int(ordinal) - 1
                if 0 <= index < len(delivery.attempts):
                    delivery.attempts[index].exchanges = load_exchanges(raw)

    def _index_for(self, flt: MessageFilter) -> tuple[str, str, str, bool]:
        """(zset, min, max, exact): the narrowest index; exact when it answers ``flt`` alone."""
        lo = _score(flt.since.timestamp()) if flt.since else "-inf"
        hi = "(" + _score(flt.until.timestamp()) if flt.until else "+inf"
        residual = any(
            value is not None
            for value in (
                flt.status,
                flt.target,
                flt.reason,
                flt.po_prefix,
                flt.message_id,
                flt.message_state,
            )
        )
        if flt.po_number is not None:
            return self.k_idx_po(flt.po_number), lo, hi, not residual and flt.system is None
        if flt.system is not None:
            return self.k_idx_sys(flt.system), lo, hi, not residual
        return self.k_received, lo, hi, not residual

    async def _scan(self, flt: MessageFilter) -> AsyncIterator[list[str]]:
        """Message ids matching ``flt``, newest first, in chunks (filtered here, in Python)."""
        key, lo, hi, exact = self._index_for(flt)
        start = 0
        while True:
            ids: list[str] = await self.r.zrevrangebyscore(key, hi, lo, start=start, num=SCAN_CHUNK)
            if not ids:
                return
            start += len(ids)
            if exact:
                yield ids
            else:
                metas = await self._run("meta", [], ids)
                yield [
                    mid
                    for mid, meta in zip(ids, metas, strict=True)
                    if meta and _starts(mid, flt.message_id) and _matches(meta, flt)
                ]
            if len(ids) < SCAN_CHUNK:
                return

    async def search(
        self, flt: MessageFilter, offset: int = 0, limit: int = 50, *, light: bool = False
    ) -> Page:
        key, lo, hi, exact = self._index_for(flt)
        if exact:
            total = int(await self.r.zcount(key, lo, hi))
            page = await self.r.zrevrangebyscore(key, hi, lo, start=offset, num=limit)
        else:  # residual filters: one scan both pages and counts (cost grows with the window)
            total, page = 0, []
            async for chunk in self._scan(flt):
                for mid in chunk:
                    if offset <= total < offset + limit:
                        page.append(mid)
                    total += 1
        sizes: dict[str, int] = {}
        items = await (self._load_light(page, sizes) if light else self._load(page))
        return Page(items=items, total=total, offset=offset, limit=limit, body_sizes=sizes)

    async def deliveries(self, flt: MessageFilter) -> AsyncIterator[Delivery]:
        if flt.status in DELIVERY_STATES:
            assert flt.status is not None
            async for delivery in self._deliveries_by_state(flt.status, flt):
                yield delivery
            return
        if flt.status is not None:  # REJECTED / RECEIVED are message states: no deliveries
            return
        msg_flt = flt.model_copy(update={"target": None, "reason": None})
        async for chunk in self._scan(msg_flt):
            for message in await self._load(chunk):
                for d in message.deliveries:
                    if _delivery_matches(d, flt):
                        yield d

    async def _deliveries_by_state(
        self, state: State, flt: MessageFilter
    ) -> AsyncIterator[Delivery]:
        need_msg = flt.system is not None or flt.since is not None or flt.until is not None
        async for chunk in _chunks(self.r.sscan_iter(self.k_state(state), count=SCAN_CHUNK)):
            async with self.r.pipeline(transaction=False) as p:
                for did in chunk:
                    p.hgetall(self.k_del(did))
                rows = await p.execute()
            found = [_delivery(h) for h in rows if h and h.get("state") == state.value]
            found = [d for d in found if _delivery_matches(d, flt)]
            if need_msg and found:
                async with self.r.pipeline(transaction=False) as p:
                    for d in found:
                        p.hmget(self.k_msg(d.message_id), "system", "rts")
                    metas = await p.execute()
                found = [
                    d
                    for d, (system, rts) in zip(found, metas, strict=True)
                    if system is not None and _msg_matches(system, float(rts), flt)
                ]
            for d in found:
                yield d

    async def counts(self) -> dict[str, int]:
        names = [f"idx:state:{s.value}" for s in DELIVERY_STATES] + ["idx:rejected"]
        values = await self._run("counts", [], names)
        out = {s.value: int(v) for s, v in zip(DELIVERY_STATES, values, strict=False)}
        out[State.REJECTED.value] = int(values[-1])
        return out

    async def backlog(self) -> dict[str, TargetLoad]:
        out: dict[str, TargetLoad] = {}
        for name, flat, oldest, retry in await self._run("backlog", [], []):
            counts = {k: max(0, int(v)) for k, v in _pairs(flat).items()}
            load = TargetLoad(
                **{k: counts.get(k, 0) for k in TargetLoad.model_fields if k in _COUNTED},
                oldest_at=_at(oldest), next_retry_at=_at(retry),
            )  # fmt: skip
            if load.backlog or load.parked or load.paused:
                out[str(name)] = load
        return out

    async def purchase_orders(
        self, prefix: str | None = None, offset: int = 0, limit: int = 50
    ) -> PoList:
        """Walks the per-PO message indexes (``P:idx:po:{<po>}``) with SCAN: cost grows with
        the number of POs, which is fine for an operator's list, not for a hot path."""
        escaped = "".join("\\" + c if c in "*?[]\\" else c for c in self.prefix)
        keys: list[str] = [k async for k in self.r.scan_iter(match=f"{escaped}:idx:po:*",
                                                             count=1000)]  # fmt: skip
        head = len(f"{self.prefix}:idx:po:{{")
        found: list[tuple[str, str]] = []
        for key in keys:
            po = unquote(key[head:-1])
            if _starts(po, prefix):
                found.append((po, key))
        rows: list[PoListItem] = []
        for i in range(0, len(found), SCAN_CHUNK):
            chunk = found[i : i + SCAN_CHUNK]
            async with self.r.pipeline(transaction=False) as p:
                for po, key in chunk:
                    p.zcard(key)
                    p.zrevrange(key, 0, 0, withscores=True)
                    p.get(self.k_po(po))
                out = await p.execute()
            for j, (po, _) in enumerate(chunk):
                count, latest, state = out[3 * j : 3 * j + 3]
                if not count or not latest:
                    continue
                status = orjson.loads(state).get("status") if state else None
                rows.append(PoListItem(po_number=po, messages=int(count), status=status,
                                       last_received_at=datetime.fromtimestamp(latest[0][1], UTC)))  # fmt: skip
        rows.sort(key=lambda r: (-r.last_received_at.timestamp(), r.po_number))
        return PoList(items=rows[offset : offset + limit], total=len(rows), offset=offset,
                      limit=limit)  # fmt: skip

    # audit log -----------------------------------------------------------------------------
    async def add_audit(self, entry: AuditEntry) -> None:
        await self.r.lpush(self.k_audit, entry.model_dump_json())

    async def audit(self, offset: int = 0, limit: int = 100) -> AuditPage:
        async with self.r.pipeline(transaction=True) as p:
            p.llen(self.k_audit)
            p.lrange(self.k_audit, offset, offset + limit - 1)
            total, raw = await p.execute()
        items = [AuditEntry.model_validate_json(r) for r in raw]
        return AuditPage(items=items, total=int(total), offset=offset, limit=limit)

    # PO state ------------------------------------------------------------------------------
    async def get_po(self, po_number: str) -> PurchaseOrder | None:
        raw = await self.r.get(self.k_po(po_number))
        return PurchaseOrder.model_validate_json(raw) if raw else None

    async def update_po(self, po_number: str, change: PoUpdate) -> PurchaseOrder | None:
        key = self.k_po(po_number)
        for tries in range(1000):
            async with self.r.pipeline(transaction=True) as tx:
                try:
                    await tx.watch(key)
                    raw = await tx.get(key)
                    current = PurchaseOrder.model_validate_json(raw) if raw else None
                    new = change(current)
                    if new is None:  # nothing to store
                        await tx.unwatch()
                        return current
                    tx.multi()
                    tx.set(key, new.model_dump_json())
                    await tx.execute()
                    return new
                except WatchError:
                    await asyncio.sleep(min(0.05, 0.001 * tries))
        raise RuntimeError(f"update_po({po_number!r}) lost 1000 races in a row")

    async def timeline(self, po_number: str) -> list[Message]:
        ids = await self.r.zrange(self.k_idx_po(po_number), 0, -1)
        out: list[Message] = []
        for i in range(0, len(ids), SCAN_CHUNK):
            out += await self._load(ids[i : i + SCAN_CHUNK])
        return out

    # identity ------------------------------------------------------------------------------
    async def link_remote(
        self, system: str, remote_id: str, po_number: str, *, replace: bool = True
    ) -> str:
        args = [remote_id, po_number, "1" if replace else "0"]
        return str(await self._run("link", [self.k_xw(system)], args))

    async def find_remote(self, system: str, remote_id: str) -> str | None:
        value = await self.r.hget(self.k_xw(system), remote_id)
        return None if value is None else str(value)

    # checkpoints ---------------------------------------------------------------------------
    async def get_checkpoint(self, name: str) -> str | None:
        value = await self.r.hget(self.k_cp, name)
        return None if value is None else str(value)

    async def set_checkpoint(self, name: str, value: str) -> None:
        await self.r.hset(self.k_cp, name, value)

    async def swap_checkpoint(self, name: str, expected: str | None, value: str) -> bool:
        args = [name, "0" if expected is None else "1", expected or "", value]
        return int(await self._run("swap", [self.k_cp], args)) == 1


# helpers -----------------------------------------------------------------------------------
_COUNTED = ("queued", "retrying", "delivering", "parked", "paused")


def _now() -> datetime:
    return utc_now()


def _at(score: str) -> datetime | None:
    return datetime.fromtimestamp(float(score), UTC) if score else None


async def _chunks(it: AsyncIterator[str]) -> AsyncIterator[list[str]]:
    batch: list[str] = []
    async for item in it:
        batch.append(item)
        if len(batch) >= SCAN_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _msg_matches(system: str, rts: float, flt: MessageFilter) -> bool:
    if flt.system is not None and system != flt.system:
        return False
    if flt.since is not None and rts < flt.since.timestamp():
        return False
    return not (flt.until is not None and rts >= flt.until.timestamp())


def _aggregate(status: str, flat: Sequence[str]) -> State:
    """``aggregate`` on a ``_META`` row: the message's own state."""
    if status == State.REJECTED.value:
        return State.REJECTED
    states = {flat[i + 1] for i in range(0, len(flat), 3)}
    if not states:
        return State.RECEIVED
    return next((s for s in LEAST_FINISHED_FIRST if s.value in states), State.DELIVERED)


def _starts(text: str | None, prefix: str | None) -> bool:
    """``text`` starts with ``prefix`` in any case (no prefix: always)."""
    return prefix is None or (text or "").casefold().startswith(prefix.casefold())


def _delivery_matches(d: Delivery, flt: MessageFilter) -> bool:
    return (
        (flt.status is None or d.state is flt.status)
        and (flt.target is None or d.target == flt.target)
        and (flt.po_number is None or d.po_number == flt.po_number)
        and _starts(d.po_number, flt.po_prefix)
        and _starts(d.message_id, flt.message_id)
        and (flt.reason is None or flt.reason.lower() in (d.reason or "").lower())
    )


def _matches(meta: Sequence[Any], flt: MessageFilter) -> bool:
    """Search semantics on a ``_META`` row: ``status``/``target``/``reason`` match one delivery
    (a rejected message matches ``status=rejected`` and ``reason`` against its error)."""
    system, po, status, error, flat = meta
    if flt.system is not None and system != flt.system:
        return False
    if flt.po_number is not None and po != flt.po_number:
        return False
    if not _starts(po, flt.po_prefix):
        return False
    if flt.message_state is not None and _aggregate(status, flat) is not flt.message_state:
        return False
    if flt.status is None and flt.target is None and flt.reason is None:
        return True
    if status == State.REJECTED.value:
        return (
            flt.status in (None, State.REJECTED)
            and flt.target is None
            and (flt.reason is None or flt.reason.lower() in error.lower())
        )
    triples = [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]
    if flt.status is State.RECEIVED and not triples:
        return flt.target is None and flt.reason is None
    return any(
        (flt.status is None or state == flt.status.value)
        and (flt.target is None or target == flt.target)
        and (flt.reason is None or flt.reason.lower() in (reason or "").lower())
        for target, state, reason in triples
    )
