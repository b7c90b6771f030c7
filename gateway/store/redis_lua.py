"""The Lua scripts of the Redis store: each one atomic step inside one partition.

Every script gets the partition's key base ``P:{p<k>}`` as ``ARGV[1]`` and at least one key of
that partition in ``KEYS`` (so a cluster client routes it to the slot's primary); every key it
derives from ``ARGV[1]`` carries the same hash tag, so a script never leaves its slot. Why each
script exists and the one rule they keep: ``docs/redis.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from gateway.store import rules


def _lua_set(words: Iterable[str]) -> str:
    """A Lua table used as a set, from ``rules`` (a JSON string is a valid Lua string; a
    ``State`` is its value)."""
    items = sorted(str(w) for w in words)
    return "{" + ", ".join(f"[{json.dumps(w)}] = true" for w in items) + "}"


# Helpers shared by all scripts (``P`` is the partition's key base). The sets come from
# ``gateway.store.rules``; a move's own sources and clears are arguments of its call.
_SETS = f"""
local P = ARGV[1]
local OPEN = {_lua_set(rules.OPEN)}
local CLAIMABLE = {_lua_set(rules.CLAIM.sources)}
local DOUBT = {_lua_set(rules.DOUBT)}
"""
PRELUDE = (
    _SETS
    + """
-- a word list argument (rules.words) as a set test
local function has(set, word)
  return word ~= nil and string.find(' ' .. set .. ' ', ' ' .. word .. ' ', 1, true) ~= nil
end
local function dkey(id) return P .. ':d:' .. id end
-- compare-and-set's test: ``key`` still holds what the caller read (``expect``: the SHA-1
-- of the JSON it read, '0' when it read nothing)
local function unchanged(key, expect)
  local cur = redis.call('GET', key)
  if expect == '0' then return not cur end
  return cur ~= false and redis.sha1hex(cur) == expect
end
-- reset a move's ``clears`` (a word list) on a delivery that was in ``state``: the lease takes
-- its worker and its lease entry; a DOUBT reason of an OPEN delivery stays
local function clear(id, fields, state)
  local dk = dkey(id)
  for f in string.gmatch(fields, '%S+') do
    if f == 'lease_until' then
      redis.call('HDEL', dk, 'lease_until', 'worker')
      redis.call('ZREM', P .. ':lease', id)
    elseif f == 'reason' then
      local r = redis.call('HGET', dk, 'reason')
      if not (r and OPEN[state] and DOUBT[r]) then redis.call('HDEL', dk, 'reason') end
    else
      redis.call('HDEL', dk, f)
    end
  end
end
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
    if CLAIMABLE[f[1]] and f[2] then
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
)

# KEYS: m, dedup, idx:received, idx:sys, idx:po, seq, due, idx:state:queued, then (d, line)*
# ARGV: P, mid, dedup_key, json, received score, now iso, queued score, dids, system, po,
#       status, n, then (did, target)*, then (ingest only) new PO state or '', expected PO
#       state ('0': absent, else the SHA-1 of the JSON read), '1' to release the PO's
#       unknown_po parkings when it was absent, and rules.UNPARK's sources, clears and
#       target. KEYS then end with the PO key.
# Returns {1, seq...} (stored), {0, first id} (duplicate) or {-1} (PO state changed: retry).
ACCEPT = """
local mid, dedup = ARGV[2], ARGV[3]
if dedup ~= '' then
  local first = redis.call('HGET', KEYS[2], dedup)
  if first then return {0, first} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, mid} end
local n = tonumber(ARGV[12])
local po_state, expect = ARGV[13 + 2 * n], ARGV[14 + 2 * n]
if expect and expect ~= '' and not unchanged(KEYS[9 + 2 * n], expect) then
  return {-1}  -- ingest: the PO state is no longer what the caller read
end
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
if expect == '0' and ARGV[15 + 2 * n] == '1' then
  -- the PO is known from now: its deliveries parked as unknown_po go back to the queue
  local sources, clears, to = ARGV[16 + 2 * n], ARGV[17 + 2 * n], ARGV[18 + 2 * n]
  for _, m in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
    local dids = redis.call('HGET', P .. ':m:' .. m, 'dids') or ''
    for did in string.gmatch(dids, '%S+') do
      local f = redis.call('HMGET', dkey(did), 'state', 'park_kind', 'line')
      if has(sources, f[1]) and f[2] == 'unknown_po' then
        clear(did, clears, f[1])
        move(did, f[1], to)
        redis.call('HSET', dkey(did), 'next_at', ARGV[6], 'due', ARGV[7], 'updated_at', ARGV[6])
        reindex(f[3])
        track(did)
      end
    end
  end
end
return out
"""

# ARGV: P, now score, now iso, limit, lease score, lease iso, worker
CLAIM = """
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
    if CLAIMABLE[f[1]] and f[2] and tonumber(f[2]) <= nownum then
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

# ARGV: P, id, state, next iso ('' keeps it), due score, reason, park_kind, step, attempt
#       json, now iso, exchanges json, sources, clears (rules.FINISH)
# Returns 1 (moved), 0 (its state is not a source: final stays final) or -1 (unknown).
FINISH = """
local id, st = ARGV[2], ARGV[3]
local dk = dkey(id)
local f = redis.call('HMGET', dk, 'state', 'line', 'last_attempt', 'attempts')
if not f[1] then return -1 end
if not has(ARGV[12], f[1]) then return 0 end
if ARGV[14] ~= '' then  -- with the PO's new state, on condition it is the one read (CAS)
  if not unchanged(ARGV[14], ARGV[15]) then return -2 end
  redis.call('SET', ARGV[14], ARGV[16])
end
local att = ARGV[9]
if att ~= '' then redis.call('HDEL', dk, 'replayed_by') end  -- the replay's attempt is made
if att ~= '' and att ~= f[3] then
  local cur = f[4] or '[]'
  if cur == '[]' then cur = '[' .. att .. ']' else cur = string.sub(cur, 1, -2) .. ',' .. att .. ']' end
  redis.call('HSET', dk, 'attempts', cur, 'last_attempt', att)
  if ARGV[11] ~= '' then
    redis.call('HSET', P .. ':x:' .. id, #cjson.decode(cur), ARGV[11])
  end
end
clear(id, ARGV[13], f[1])
move(id, f[1], st)
redis.call('HSET', dk, 'step', ARGV[8], 'updated_at', ARGV[10])
if ARGV[6] ~= '' then redis.call('HSET', dk, 'reason', ARGV[6]) else redis.call('HDEL', dk, 'reason') end
if ARGV[7] ~= '' then
  redis.call('HSET', dk, 'park_kind', ARGV[7])
else
  redis.call('HDEL', dk, 'park_kind')
end
if ARGV[4] ~= '' then redis.call('HSET', dk, 'next_at', ARGV[4], 'due', ARGV[5]) end
if not OPEN[st] then redis.call('LREM', f[2], 0, id) end
reindex(f[2])
track(id)
return 1
"""

# ARGV: P, worker, lease score, lease iso, ids...
EXTEND = """
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

# ARGV: P, now score, now iso, batch, reason, sources, clears, to (rules.SWEEP)
SWEEP = """
local ids = redis.call('ZRANGEBYSCORE', P .. ':lease', '-inf', ARGV[2], 'LIMIT', 0,
                       tonumber(ARGV[4]))
local n = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', P .. ':lease', id)
  local dk = dkey(id)
  local f = redis.call('HMGET', dk, 'state', 'line')
  if has(ARGV[6], f[1]) then
    clear(id, ARGV[7], f[1])
    move(id, f[1], ARGV[8])
    redis.call('HSET', dk, 'next_at', ARGV[3], 'due', ARGV[2], 'updated_at', ARGV[3],
               'reason', ARGV[5])
    reindex(f[2])
    track(id)
    n = n + 1
  end
end
return {#ids, n}
"""

# ARGV: P, '='..target or '', '='..park_kind or '', '='..po or '', now iso, due score,
#       sources, clears, to (rules.UNPARK), ids...
# One bounded batch of candidate ids (read from the parked index with SSCAN by the caller):
# no script walks the whole parked set at once.
UNPARK = """
local n = 0
for i = 10, #ARGV do
  local id = ARGV[i]
  local dk = dkey(id)
  local f = redis.call('HMGET', dk, 'target', 'park_kind', 'po_number', 'line', 'state')
  if has(ARGV[7], f[5])
      and (ARGV[2] == '' or '=' .. (f[1] or '') == ARGV[2])
      and (ARGV[3] == '' or '=' .. (f[2] or '') == ARGV[3])
      and (ARGV[4] == '' or '=' .. (f[3] or '') == ARGV[4]) then
    clear(id, ARGV[8], f[5])
    move(id, f[5], ARGV[9])
    redis.call('HSET', dk, 'next_at', ARGV[5], 'due', ARGV[6], 'updated_at', ARGV[5])
    reindex(f[4])
    track(id)
    n = n + 1
  end
end
return n
"""

# KEYS: checkpoint hash. ARGV: P, name, '1' if a value is expected else '0', expected, value
SWAP = """
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if (ARGV[3] == '0' and not cur) or (ARGV[3] == '1' and cur == ARGV[4]) then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[5])
  return 1
end
return 0
"""

# ARGV: P, id, now iso, due score, pinned mapping version or '', who replayed it or '',
#       sources, clears, to (rules.REPLAY). Returns 1, 0 (not a source) or -1 (unknown).
REPLAY = """
local id = ARGV[2]
local dk = dkey(id)
local f = redis.call('HMGET', dk, 'state', 'line', 'seq')
if not f[1] then return -1 end
if not has(ARGV[7], f[1]) then return 0 end
if not OPEN[f[1]] then
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
clear(id, ARGV[8], f[1])
move(id, f[1], ARGV[9])
redis.call('HSET', dk, 'next_at', ARGV[3], 'due', ARGV[4], 'updated_at', ARGV[3])
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
LOAD = """
local out = {}
for i = 2, #ARGV do out[#out + 1] = loadmsg(ARGV[i]) end
return out
"""

# ARGV: P, message ids...   -> per id: false | {system, po, status, error, {target, state,
#                              reason}*, received score}
META = """
local out = {}
for i = 2, #ARGV do
  local m = redis.call('HMGET', P .. ':m:' .. ARGV[i], 'system', 'po', 'status', 'error', 'dids',
                       'rts')
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
    out[#out + 1] = {m[1], m[2] or '', m[3] or '', m[4] or '', ds, m[6] or '0'}
  end
end
return out
"""

# KEYS: xw hash. ARGV: P, remote id, po number, '1' to replace. -> the po number now linked
LINK = """
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  return ARGV[3]
end
redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
return redis.call('HGET', KEYS[1], ARGV[2])
"""

# KEYS: PO key. ARGV: P, expected ('0': absent, else SHA-1 of the JSON read), new JSON.
# Compare-and-set instead of WATCH/MULTI: works the same on one Redis and on a Cluster.
CAS = """
if not unchanged(KEYS[1], ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
return 1
"""

# KEYS: m, idx:received, idx:sys, idx:po (or a dummy when no PO), idx:rejected
# ARGV: P, mid, json, system, po, error, received score
REJECT = """
redis.call('HSET', KEYS[1], 'json', ARGV[3], 'dids', '', 'system', ARGV[4], 'po', ARGV[5],
           'status', 'rejected', 'error', ARGV[6], 'rts', ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[2])
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[4], ARGV[7], ARGV[2]) end
redis.call('SADD', KEYS[5], ARGV[2])
return 1
"""

# ARGV: P -> per target: {name, {field, count}*, oldest creation score, next retry score}
BACKLOG = """
local out = {}
for _, t in ipairs(redis.call('SMEMBERS', P .. ':targets')) do
  local q = redis.call('ZRANGE', P .. ':tq:' .. t, 0, 0, 'WITHSCORES')
  local r = redis.call('ZRANGE', P .. ':tr:' .. t, 0, 0, 'WITHSCORES')
  out[#out + 1] = {t, redis.call('HGETALL', P .. ':tc:' .. t), q[2] or '', r[2] or ''}
end
return out
"""

COUNTS = """
local out = {}
for i = 2, #ARGV do out[#out + 1] = redis.call('SCARD', P .. ':' .. ARGV[i]) end
return out
"""


SCRIPTS = {
    "accept": ACCEPT,
    "claim": CLAIM,
    "finish": FINISH,
    "sweep": SWEEP,
    "extend": EXTEND,
    "unpark": UNPARK,
    "replay": REPLAY,
    "swap": SWAP,
    "load": LOAD,
    "meta": META,
    "counts": COUNTS,
    "backlog": BACKLOG,
    "link": LINK,
    "cas": CAS,
    "reject": REJECT,
}
"""Every script by name, each prefixed with ``PRELUDE`` when registered."""
