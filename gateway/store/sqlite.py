"""SQLite store: one file that the gateway and its worker processes share.

Why these settings:

- WAL lets readers (search, the operator UI) run while one writer commits, across processes.
- ``synchronous=NORMAL`` under WAL syncs the log at checkpoints instead of at every commit.
  A committed transaction is in the WAL file before ``COMMIT`` returns, so it survives a
  crash of any process; only a power loss or OS crash may lose the last few commits, and
  the file never corrupts. That is the trade for a write rate many times that of ``FULL``.
- ``busy_timeout``: another process holding the write lock makes us wait, not fail.
- Every write is one ``BEGIN IMMEDIATE`` transaction. It takes the write lock before the
  first read, so a claim's select and update can't interleave with another process's claim
  (no double claim) and a transaction never fails half-way while upgrading its lock.

All sqlite calls run on one dedicated thread per store, with one connection: the event loop
never blocks and the connection never crosses threads. Calls of one process run one after
the other; processes are serialised by the write lock.

Times are fixed-width ISO-8601 UTC text (``2026-01-01T00:00:00.000000+00:00``): text order is
time order and the file stays readable from the sqlite3 shell.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from core.model import PurchaseOrder
from gateway.store import rules
from gateway.store.base import MOVED, REFUSED, UNKNOWN, PoUpdate, Store
from gateway.store.records import (
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

T = TypeVar("T")
Sql = tuple[list[str], list[Any]]
PAGE = 500
UNPARK_BATCH = 500
BUSY_TIMEOUT_MS = 30_000

SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, system TEXT NOT NULL, po_number TEXT, received_at TEXT NOT NULL,
    dedup_key TEXT UNIQUE, status TEXT NOT NULL, body TEXT NOT NULL, headers TEXT NOT NULL,
    canonical TEXT NOT NULL, error TEXT, error_path TEXT, note TEXT);
CREATE INDEX IF NOT EXISTS messages_received ON messages(received_at);
CREATE INDEX IF NOT EXISTS messages_po ON messages(po_number, received_at);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY, message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    target TEXT NOT NULL, po_number TEXT NOT NULL, seq INTEGER NOT NULL, state TEXT NOT NULL,
    next_at TEXT NOT NULL, lease_until TEXT, reason TEXT, park_kind TEXT,
    step INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    worker TEXT, pinned_mapping TEXT, replayed_by TEXT);
CREATE INDEX IF NOT EXISTS deliveries_claim ON deliveries(state, next_at);
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_order ON deliveries(target, po_number, seq);
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries(target, po_number, seq)
    WHERE state NOT IN ('delivered', 'dead');
CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries(message_id);
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (delivery_id, ordinal)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempt_exchanges (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (delivery_id, ordinal)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS po_state (
    po_number TEXT PRIMARY KEY, json TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS remote_ids (
    system TEXT NOT NULL, remote_id TEXT NOT NULL, po_number TEXT NOT NULL,
    PRIMARY KEY (system, remote_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL);
COMMIT;
"""

# Head of line: no earlier delivery of the same target and PO is still open. The partial
# index ``deliveries_open`` keeps this probe off a PO's delivered history.
HEAD = """NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.target = d.target
    AND e.po_number = d.po_number AND e.seq < d.seq AND e.state NOT IN ('delivered', 'dead'))"""

# Two index-ordered scans that stop at :n rather than one sort of the whole backlog.
CLAIM = f"""
SELECT id FROM (
    SELECT * FROM (SELECT d.id, d.next_at FROM deliveries d
        WHERE d.state = 'queued' AND {HEAD} ORDER BY d.next_at LIMIT :n)
    UNION ALL
    SELECT * FROM (SELECT d.id, d.next_at FROM deliveries d
        WHERE d.state = 'retrying' AND d.next_at <= :now AND {HEAD} ORDER BY d.next_at LIMIT :n)
) ORDER BY next_at LIMIT :n"""

BACKLOG = """SELECT target,
    SUM(state = 'queued'), SUM(state = 'retrying'), SUM(state = 'delivering'),
    SUM(state = 'parked' AND park_kind IS NOT 'paused'),
    SUM(state = 'parked' AND park_kind IS 'paused'),
    MIN(CASE WHEN state IN ('queued', 'retrying', 'delivering')
        THEN (SELECT m.received_at FROM messages m WHERE m.id = d.message_id) END),
    MIN(CASE WHEN state = 'retrying' THEN next_at END)
FROM deliveries d WHERE state NOT IN ('delivered', 'dead') GROUP BY target"""
"""Per target, what is unfinished: its WHERE is the one of the partial index
``deliveries_open``, so the scan reads the unfinished deliveries only, never the history.
The oldest is dated by its message's arrival: how long the event has waited at the hub."""

IDS = "(SELECT value FROM json_each(?))"
"""A list parameter as one JSON array: no limit on the number of ids."""


def _ts(dt: datetime) -> str:
    """Naive datetimes are taken as UTC: the contract speaks UTC throughout."""
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def _now() -> str:
    return _ts(datetime.now(UTC))


def _path(url: str) -> str:
    """``sqlite:///rel/path.db`` is relative, ``sqlite:////abs/path.db`` absolute."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"bad sqlite URL {url!r}: use sqlite:///path/to/file.db")
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")  # before WAL: that needs a lock
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.create_function("pohub_starts", 2, rules.starts, deterministic=True)
    conn.create_function("pohub_contains", 2, rules.contains, deterministic=True)
    conn.executescript(SCHEMA)
    _migrate(conn)
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Columns added since a file was created (``CREATE TABLE IF NOT EXISTS`` keeps old ones)."""
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(messages)")}
    if "note" not in columns:
        conn.execute("ALTER TABLE messages ADD COLUMN note TEXT")
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(deliveries)")}
    if "pinned_mapping" not in columns:
        conn.execute("ALTER TABLE deliveries ADD COLUMN pinned_mapping TEXT")
    if "replayed_by" not in columns:
        conn.execute("ALTER TABLE deliveries ADD COLUMN replayed_by TEXT")


# rows -> records ---------------------------------------------------------------------------
ATTEMPTS = f"SELECT delivery_id, json FROM attempts WHERE delivery_id IN {IDS}"
ATTEMPTS_WITH_EXCHANGES = f"""SELECT a.delivery_id, a.json, x.json AS exchanges FROM attempts a
    LEFT JOIN attempt_exchanges x USING (delivery_id, ordinal) WHERE a.delivery_id IN {IDS}"""


def _deliveries(
    conn: sqlite3.Connection, where: str, args: list[Any], exchanges: bool = False
) -> list[Delivery]:
    """Deliveries with their attempts; the attempts' exchanges only when asked (detail)."""
    rows = conn.execute(f"SELECT d.* FROM deliveries d WHERE {where}", args).fetchall()
    ids = json.dumps([r["id"] for r in rows])
    attempts: dict[str, list[Attempt]] = {}
    sql = ATTEMPTS_WITH_EXCHANGES if exchanges else ATTEMPTS
    for a in conn.execute(f"{sql} ORDER BY delivery_id, ordinal", (ids,)):
        attempt = Attempt.model_validate_json(a["json"])
        if exchanges:
            attempt.exchanges = load_exchanges(a["exchanges"])
        attempts.setdefault(a["delivery_id"], []).append(attempt)
    return [Delivery.model_validate({**r, "attempts": attempts.get(r["id"], [])}) for r in rows]


def _message(row: sqlite3.Row) -> Message:
    data = dict(row)
    return Message.model_validate(
        {**data, "headers": json.loads(data["headers"]), "canonical": json.loads(data["canonical"])}
    )


_LIGHT = (
    "m.id, m.system, m.po_number, m.received_at, m.dedup_key, m.status, '' AS body, "
    "'{}' AS headers, (SELECT json_group_array(json_object('kind', json_extract(value, '$.kind'))) "
    "FROM json_each(m.canonical)) AS canonical, m.error, m.error_path, m.note, "
    "length(CAST(m.body AS BLOB)) AS body_size"
)
"""A message without its body and headers, its events reduced to their kind (``light``)."""


def _messages(
    conn: sqlite3.Connection, tail: str, args: list[Any], exchanges: bool = False,
    sizes: dict[str, int] | None = None,
) -> list[Message]:  # fmt: skip
    """Messages with their deliveries and attempts, two extra queries for any number;
    with ``sizes``, light ones (``_LIGHT``) and their body sizes put in ``sizes``."""
    columns = "m.*" if sizes is None else _LIGHT
    rows = conn.execute(f"SELECT {columns} FROM messages m {tail}", args).fetchall()
    if sizes is not None:
        sizes.update((r["id"], r["body_size"]) for r in rows)
    found = [_message(r) for r in rows]
    by_id = {m.id: m for m in found}
    where = f"d.message_id IN {IDS} ORDER BY d.target, d.seq"
    for d in _deliveries(conn, where, [json.dumps(list(by_id))], exchanges):
        by_id[d.message_id].deliveries.append(d)
    return found


def _insert_message(conn: sqlite3.Connection, m: Message) -> None:
    conn.execute(
        "INSERT INTO messages (id, system, po_number, received_at, dedup_key, status, body, "
        "headers, canonical, error, error_path, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (m.id, m.system, m.po_number, _ts(m.received_at), m.dedup_key, m.status.value, m.body,
         json.dumps(m.headers), json.dumps(m.canonical, default=str), m.error, m.error_path,
         m.note),
    )  # fmt: skip


# filters -----------------------------------------------------------------------------------
def _where(terms: Iterable[tuple[str, Any]]) -> Sql:
    """The SQL terms whose value is given, and their arguments."""
    kept = [(sql, value) for sql, value in terms if value is not None]
    return [sql for sql, _ in kept], [value for _, value in kept]


SQL_TESTS = {
    rules.EXACT: "{} = ?", rules.PREFIX: "pohub_starts({}, ?)",
    rules.CONTAINS: "pohub_contains({}, ?)", rules.SINCE: "{} >= ?", rules.UNTIL: "{} < ?",
}  # fmt: skip
"""Each kind of ``rules.TERMS`` term in SQL; prefix and substring call the rules' own Python
(registered as SQL functions), so case folds the same on every backend."""


def _terms(flt: MessageFilter, terms: Iterable[rules.Term], alias: str) -> Sql:
    """The SQL of the ``rules`` terms ``flt`` sets (a term's attribute is its column)."""
    found = rules.given(flt, tuple(terms))
    where = [SQL_TESTS[t.kind].format(f"{alias}.{t.attr}") for t, _ in found]
    return where, [_ts(v) if isinstance(v, datetime) else v for _, v in found]


def _message_where(flt: MessageFilter) -> Sql:
    return _terms(flt, rules.MESSAGE_TERMS, "m")


def _delivery_where(flt: MessageFilter) -> Sql:
    return _terms(flt, rules.DELIVERY_TERMS, "d")


def _message_state_where(state: State) -> str:
    """The message's own state (``aggregate``): a delivery in ``state`` and none less finished."""
    if state is State.REJECTED:
        return "m.status = 'rejected'"
    if state is State.RECEIVED:
        return ("m.status != 'rejected' AND NOT EXISTS (SELECT 1 FROM deliveries d "
                "WHERE d.message_id = m.id)")  # fmt: skip
    order = [s.value for s in LEAST_FINISHED_FIRST]
    before = order[: order.index(state.value)] if state.value in order else order
    has = "EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.state = '{}')"
    clause = has.format(state.value) + "".join(f" AND NOT {has.format(s)}" for s in before)
    return f"m.status != 'rejected' AND {clause}"


def _search_where(flt: MessageFilter) -> Sql:
    """``rules.search_matches`` in SQL: the message terms, its own state, and the delivery
    terms passed by one delivery, or by the message itself when it is rejected (``reason``
    against its error) or has no delivery (``status=received``)."""
    where, args = _message_where(flt)
    if flt.message_state is not None:
        where.append(_message_state_where(flt.message_state))
    dw, da = _delivery_where(flt)
    if not dw:
        return where, args
    ways = [f"EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND "
            f"{' AND '.join(dw)})"]  # fmt: skip
    if flt.status in (None, State.REJECTED) and flt.target is None:
        ways.append("m.status = 'rejected'" + (" AND pohub_contains(m.error, ?)"
                                                if flt.reason is not None else ""))  # fmt: skip
        da += [flt.reason] if flt.reason is not None else []
    if flt.status is State.RECEIVED and flt.target is None and flt.reason is None:
        ways.append(_message_state_where(State.RECEIVED))
    where.append("(" + " OR ".join(f"({w})" for w in ways) + ")")
    return where, args + da


def _clause(where: list[str]) -> str:
    return f"WHERE {' AND '.join(where)}" if where else ""


def _states(states: Iterable[State]) -> str:
    """A set of states as the JSON array ``IDS`` reads."""
    return json.dumps(sorted(s.value for s in states))


def _moving(move: rules.Move, to: State, at: str, where: list[str], args: list[Any],
            sets: dict[str, Any] | None = None) -> tuple[str, list[Any]]:  # fmt: skip
    """The UPDATE of ``move`` on the deliveries matching ``where``: only from its sources
    (``rules``, as arguments), due at ``at``, its ``clears`` reset (the lease takes the
    worker; a ``rules.DOUBT`` reason of an open delivery stays), ``sets`` set."""
    move.check(to)
    terms, params = ["state = ?", "next_at = ?", "updated_at = ?"], [to.value, at, _now()]
    for field in move.clears:
        if field == rules.LEASE:
            terms += ["lease_until = NULL", "worker = NULL"]
        elif field == "reason":
            terms.append(f"reason = CASE WHEN state IN {IDS} AND reason IN {IDS} "
                         "THEN reason ELSE NULL END")  # fmt: skip
            params += [_states(rules.OPEN), json.dumps(sorted(rules.DOUBT))]
        else:
            terms.append(f"{field} = NULL")
    for column, value in (sets or {}).items():
        terms.append(f"{column} = ?")
        params.append(value)
    sql = (f"UPDATE deliveries SET {', '.join(terms)} "
           f"WHERE state IN {IDS} AND {' AND '.join(where)}")  # fmt: skip
    return sql, [*params, _states(move.sources), *args]


def _unparking(move: rules.Move, at: str, target: str | None, park_kind: str | None,
               po_number: str | None, batch: int | None = None) -> tuple[str, list[Any]]:  # fmt: skip
    """``move`` (an unpark) of the deliveries with these fields; with ``batch``, of that many
    at most (the caller repeats it until fewer move)."""
    where, args = _where([("target = ?", target), ("park_kind = ?", park_kind),
                          ("po_number = ?", po_number)])  # fmt: skip
    where = where or ["1"]
    if batch is not None:
        inner = (f"SELECT rowid FROM deliveries INDEXED BY deliveries_claim "
                 f"WHERE state IN {IDS} AND {' AND '.join(where)} LIMIT {int(batch)}")  # fmt: skip
        where, args = [f"rowid IN ({inner})"], [_states(move.sources), *args]
    return _moving(move, State.QUEUED, at, where, args)


def _release_unknown_po(c: sqlite3.Connection, po_number: str, target: str | None = None) -> None:
    """Hand the PO's deliveries parked ``unknown_po`` (all, or one target's) back to the
    queue (``rules.UNPARK``), inside the caller's write transaction (ingest, ``link_new``)."""
    c.execute(*_unparking(rules.UNPARK, _now(), target, "unknown_po", po_number))


def _moved(sql: str, args: list[Any], delivery_id: str, c: sqlite3.Connection) -> int:
    """Run one delivery's move: ``MOVED``, ``REFUSED`` (its state is not a source) or
    ``UNKNOWN``."""
    if c.execute(sql, args).rowcount:
        return MOVED
    known = c.execute("SELECT 1 FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
    return REFUSED if known else UNKNOWN


def _finishing(
    delivery_id: str, attempt: Attempt | None, outcome: rules.Outcome, move: rules.Move
) -> Callable[[sqlite3.Connection], int]:
    """The statements of ``finish``, for one write transaction."""
    due = _ts(outcome.next_at) if outcome.next_at else None
    terms = ["state = ?", "next_at = COALESCE(?, next_at)", "reason = ?", "park_kind = ?",
             "step = ?", "updated_at = ?"]  # fmt: skip
    terms += ["lease_until = NULL, worker = NULL" if f == rules.LEASE else f"{f} = NULL"
              for f in move.clears]  # fmt: skip
    if outcome.ends_replay:
        terms.append("replayed_by = NULL")
    sql = f"UPDATE deliveries SET {', '.join(terms)} WHERE id = ? AND state IN {IDS}"
    args = [outcome.state.value, due, outcome.reason, outcome.park_kind, outcome.step,
            _ts(outcome.at), delivery_id, _states(move.sources)]  # fmt: skip

    def finish(c: sqlite3.Connection) -> int:
        moved = _moved(sql, args, delivery_id, c)
        if moved == MOVED and attempt is not None:
            light, exchanges = attempt_parts(attempt)
            c.execute(
                "INSERT INTO attempts SELECT ?, COALESCE(MAX(ordinal), 0) + 1, ? "
                "FROM attempts WHERE delivery_id = ?",
                (delivery_id, light, delivery_id),
            )
            if exchanges:
                c.execute(
                    "INSERT INTO attempt_exchanges SELECT ?, MAX(ordinal), ? "
                    "FROM attempts WHERE delivery_id = ?",
                    (delivery_id, exchanges, delivery_id),
                )
        return moved

    return finish


class SqliteStore(Store):
    """The embedded backend (``sqlite:///var/pohub.db``)."""

    def __init__(self, url: str) -> None:
        self.path = _path(url)
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: list[
            tuple[
                Callable[[sqlite3.Connection], Any], asyncio.Future[Any], asyncio.AbstractEventLoop
            ]
        ] = []
        self._flush_scheduled = False
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []

    # plumbing ----------------------------------------------------------------------------
    async def _run(self, fn: Callable[[sqlite3.Connection], T], write: bool = False) -> T:
        """Run ``fn`` as one transaction on the store thread; reads get one snapshot too.

        Writes are group-committed: every write waiting when the store thread comes round
        runs in one ``BEGIN IMMEDIATE`` ... ``COMMIT``, each inside its own savepoint so one
        failing op does not undo the others. A COMMIT costs far more than the statements
        (about 0.35 ms here), so under load this multiplies accepted messages per second;
        each caller still hears back only after the COMMIT that made its write durable.
        """
        if self._thread is None:
            raise RuntimeError("SqliteStore is not open")
        loop = asyncio.get_running_loop()
        if not write:
            return await loop.run_in_executor(self._thread, self._transact, fn, False)
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._pending.append((fn, future, loop))
            schedule = not self._flush_scheduled
            self._flush_scheduled = True
        if schedule:
            self._thread.submit(self._flush)
        return await future

    async def _point_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read of a few rows by key (a PO, a link, a dedup key): on the caller's thread,
        with that thread's own read-only connection, instead of a hop to the store thread.

        The hop (a queued job, a thread wake-up, a wake-up of the event loop to settle the
        future) costs several times what the indexed read does, and ingest and delivery do
        one or two such reads per message (issue 14). Bounded (primary-key or unique-index
        lookups only, never a scan); WAL lets it read the last committed state while the
        store thread writes, so a caller sees every write it was told is done. An in-memory
        database has one connection: its reads keep the hop."""
        if self.path == ":memory:":
            return await self._run(fn)
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._readers.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            conn.execute("COMMIT")

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            self._flush_scheduled = False
        if not batch:
            return
        conn = self._conn
        assert conn is not None
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _, _ in batch:
                outcomes.append(_in_savepoint(conn, fn))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(None, exc)] * len(batch)
        for (_, future, loop), (result, error) in zip(batch, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, future, result, error)

    def _transact(self, fn: Callable[[sqlite3.Connection], T], write: bool) -> T:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    # life cycle --------------------------------------------------------------------------
    async def open(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pohub-sqlite")
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._thread, _connect, self.path)

    async def close(self) -> None:
        if self._thread is None:
            return
        conn, thread = self._conn, self._thread
        self._conn, self._thread = None, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(thread, conn.close)
        thread.shutdown(wait=True)
        with self._lock:
            readers, self._reader_conns = self._reader_conns, []
        self._readers = threading.local()
        for reader in readers:
            reader.close()

    async def ping(self) -> bool:
        try:
            return await self._run(lambda c: c.execute("SELECT 1").fetchone()[0] == 1)
        except (sqlite3.Error, RuntimeError):
            return False

    # ingest ------------------------------------------------------------------------------
    async def find_duplicate(self, dedup_key: str) -> Message | None:
        found = await self._point_read(lambda c: _messages(c, "WHERE m.dedup_key = ?", [dedup_key]))
        return found[0] if found else None

    async def accept(self, message: Message, targets: list[str]) -> tuple[Message, bool]:
        return await self._run(lambda c: _accept(c, message, targets), True)

    async def ingest(
        self, message: Message, targets: list[str], change: PoUpdate, release_unknown_po: bool
    ) -> tuple[Message, bool]:
        """Dedup, PO state, accept and release in one write transaction: one round trip."""

        def ingest(c: sqlite3.Connection) -> tuple[Message, bool]:
            if message.dedup_key is not None:
                known = _messages(c, "WHERE m.dedup_key = ?", [message.dedup_key])
                if known:
                    return known[0], False
            was_known = False
            if message.po_number is not None:
                state = _po(c, message.po_number)
                was_known = state is not None
                _write_po(c, message.po_number, change(state))
            stored = _accept(c, message, targets)
            if release_unknown_po and not was_known and message.po_number is not None:
                _release_unknown_po(c, message.po_number)
            return stored

        return await self._run(ingest, True)

    async def reject(self, message: Message) -> None:
        rejected = message.model_copy(update={"status": State.REJECTED, "deliveries": []})
        await self._run(lambda c: _insert_message(c, rejected), True)

    # queue -------------------------------------------------------------------------------
    async def claim(
        self, worker: str, limit: int, lease_s: float, now: datetime | None = None
    ) -> list[tuple[Delivery, Message]]:
        """A QUEUED delivery is due whatever its ``next_at`` (the time it was queued, kept for
        order): only RETRYING waits for its time. So a clock a little behind in another
        process, or a caller's explicit ``now``, never strands fresh work."""
        at = now or datetime.now(UTC)
        lease = _ts(at + timedelta(seconds=lease_s))

        def claim(c: sqlite3.Connection) -> list[tuple[Delivery, Message]]:
            ids = [r[0] for r in c.execute(CLAIM, {"n": limit, "now": _ts(at)})]
            if not ids:
                return []
            c.execute(
                f"UPDATE deliveries SET state = 'delivering', lease_until = ?, worker = ?, "
                f"updated_at = ? WHERE id IN {IDS}",
                (lease, worker, _now(), json.dumps(ids)),
            )
            found = {d.id: d for d in _deliveries(c, f"d.id IN {IDS}", [json.dumps(ids)])}
            mids = json.dumps(list({d.message_id for d in found.values()}))
            msgs = {m.id: m for m in _messages(c, f"WHERE m.id IN {IDS}", [mids])}
            return [(found[i], msgs[found[i].message_id]) for i in ids]

        return await self._run(claim, True)

    async def _finish(
        self, delivery_id: str, attempt: Attempt | None, outcome: rules.Outcome, move: rules.Move
    ) -> int:
        return int(await self._run(_finishing(delivery_id, attempt, outcome, move), True))

    async def _finish_and_update(
        self, delivery_id: str, attempt: Attempt | None, outcome: rules.Outcome, po_number: str,
        change: PoUpdate,
    ) -> int:  # fmt: skip
        """One write transaction: the PO's new state, then the delivery's outcome."""
        finishing = _finishing(delivery_id, attempt, outcome, rules.FINISH)

        def both(c: sqlite3.Connection) -> int:
            new = change(_po(c, po_number))
            moved = finishing(c)
            if moved != UNKNOWN:  # no delivery, no outcome: nothing of it is written
                _write_po(c, po_number, new)
            return moved

        return int(await self._run(both, True))

    async def extend(
        self, worker: str, delivery_ids: list[str], lease_s: float, now: datetime | None = None
    ) -> int:
        if not delivery_ids:
            return 0
        until = _ts((now or datetime.now(UTC)) + timedelta(seconds=lease_s))
        sql = (
            f"UPDATE deliveries SET lease_until = ? WHERE id IN {IDS} "
            "AND state = 'delivering' AND worker = ?"
        )
        args = (until, json.dumps(delivery_ids), worker)
        return int(await self._run(lambda c: c.execute(sql, args).rowcount, True))

    async def _sweep(self, at: datetime, move: rules.Move, reason: str) -> int:
        stamp = _ts(at)
        sql, args = _moving(move, State.RETRYING, stamp, ["lease_until < ?"], [stamp],
                            {"reason": reason})  # fmt: skip
        return int(await self._run(lambda c: c.execute(sql, args).rowcount, True))

    async def _unpark(
        self, move: rules.Move, at: datetime, target: str | None, park_kind: str | None,
        po_number: str | None,
    ) -> int:  # fmt: skip
        """In bounded batches, each its own write: a mapping that unparks thousands never
        holds the write lock (and every ingest behind it) for the whole lot."""
        sql, args = _unparking(move, _ts(at), target, park_kind, po_number, UNPARK_BATCH)
        total = 0
        while True:
            moved = int(await self._run(lambda c: c.execute(sql, args).rowcount, True))
            total += moved
            if moved < UNPARK_BATCH:
                return total

    async def _replay(
        self, delivery_id: str, move: rules.Move, at: datetime, pin: str | None, by: str | None
    ) -> int:
        """Keeps ``step``: steps a target already took (AlphaAlpha) are not taken twice."""
        sql, args = _moving(move, State.QUEUED, _ts(at), ["id = ?"], [delivery_id],
                            {"pinned_mapping": pin, "replayed_by": by})  # fmt: skip
        return int(await self._run(partial(_moved, sql, args, delivery_id), True))

    # records -----------------------------------------------------------------------------
    async def get_message(self, message_id: str) -> Message | None:
        found = await self._run(lambda c: _messages(c, "WHERE m.id = ?", [message_id], True))
        return found[0] if found else None

    async def search(
        self, flt: MessageFilter, offset: int = 0, limit: int = 50, *, light: bool = False
    ) -> Page:
        where, args = _search_where(flt)
        tail = f"{_clause(where)} ORDER BY m.received_at DESC, m.id DESC LIMIT ? OFFSET ?"

        def search(c: sqlite3.Connection) -> Page:
            total = c.execute(f"SELECT COUNT(*) FROM messages m {_clause(where)}", args)
            count = total.fetchone()[0]
            sizes: dict[str, int] | None = {} if light else None
            items = _messages(c, tail, [*args, limit, offset], sizes=sizes)
            return Page(items=items, total=count, offset=offset, limit=limit,
                        body_sizes=sizes or {})  # fmt: skip

        return await self._run(search)

    async def deliveries(self, flt: MessageFilter) -> AsyncIterator[Delivery]:
        """Keyset pages on rowid: each page is its own short read, so writers are not held
        off and memory stays flat however many rows match. ``NOT INDEXED`` keeps the scan in
        rowid order: through the state index every page would sort all matches again."""
        where, args = _message_where(flt)
        dw, da = _delivery_where(flt)
        sql = (
            "SELECT d.rowid FROM deliveries d NOT INDEXED JOIN messages m ON m.id = d.message_id "
            f"WHERE {' AND '.join([*where, *dw, 'd.rowid > ?'])} ORDER BY d.rowid LIMIT {PAGE}"
        )

        def page(c: sqlite3.Connection, after: int) -> tuple[int, list[Delivery]]:
            rowids = [r[0] for r in c.execute(sql, [*args, *da, after])]
            found = _deliveries(c, f"d.rowid IN {IDS} ORDER BY d.rowid", [json.dumps(rowids)])
            return (rowids[-1] if rowids else after), found

        last = 0
        while True:
            last, batch = await self._run(partial(page, after=last))
            for delivery in batch:
                yield delivery
            if len(batch) < PAGE:
                return

    async def counts(self) -> dict[str, int]:
        def counts(c: sqlite3.Connection) -> dict[str, int]:
            found = {s.value: 0 for s in rules.DELIVERY_STATES}
            found.update(c.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state"))
            rejected = c.execute("SELECT COUNT(*) FROM messages WHERE status = 'rejected'")
            found["rejected"] = rejected.fetchone()[0]
            return found

        return await self._run(counts)

    async def backlog(self) -> dict[str, TargetLoad]:
        def backlog(c: sqlite3.Connection) -> dict[str, TargetLoad]:
            names = ("queued", "retrying", "delivering", "parked", "paused", "oldest_at",
                     "next_retry_at")  # fmt: skip
            return {row[0]: TargetLoad.model_validate(dict(zip(names, row[1:], strict=True)))
                    for row in c.execute(BACKLOG)}  # fmt: skip

        return await self._run(backlog)

    async def purchase_orders(
        self, prefix: str | None = None, offset: int = 0, limit: int = 50
    ) -> PoList:
        where = "m.po_number IS NOT NULL" + (" AND pohub_starts(m.po_number, ?)" if prefix else "")
        args = [prefix] if prefix else []
        sql = (
            "SELECT m.po_number, COUNT(*) AS messages, MAX(m.received_at) AS last_received_at, "
            "(SELECT json_extract(p.json, '$.status') FROM po_state p "
            "WHERE p.po_number = m.po_number) AS status "
            f"FROM messages m WHERE {where} GROUP BY m.po_number "
            "ORDER BY last_received_at DESC, m.po_number LIMIT ? OFFSET ?"
        )

        def listing(c: sqlite3.Connection) -> PoList:
            total = c.execute(f"SELECT COUNT(DISTINCT m.po_number) FROM messages m WHERE {where}",
                              args).fetchone()[0]  # fmt: skip
            rows = c.execute(sql, [*args, limit, offset]).fetchall()
            items = [PoListItem.model_validate(dict(r)) for r in rows]
            return PoList(items=items, total=total, offset=offset, limit=limit)

        return await self._run(listing)

    # audit log ---------------------------------------------------------------------------
    async def add_audit(self, entry: AuditEntry) -> None:
        sql = "INSERT INTO audit (json) VALUES (?)"
        await self._run(lambda c: c.execute(sql, (entry.model_dump_json(),)), True)

    async def audit(self, offset: int = 0, limit: int = 100) -> AuditPage:
        def page(c: sqlite3.Connection) -> AuditPage:
            total = c.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
            rows = c.execute("SELECT json FROM audit ORDER BY seq DESC LIMIT ? OFFSET ?",
                             (limit, offset)).fetchall()  # fmt: skip
            items = [AuditEntry.model_validate_json(r[0]) for r in rows]
            return AuditPage(items=items, total=total, offset=offset, limit=limit)

        return await self._run(page)

    # PO state ----------------------------------------------------------------------------
    async def get_po(self, po_number: str) -> PurchaseOrder | None:
        return await self._point_read(lambda c: _po(c, po_number))

    async def update_po(self, po_number: str, change: PoUpdate) -> PurchaseOrder | None:
        """``change`` runs on the store thread inside the write transaction: keep it pure and
        quick. ``None`` from it writes nothing; ``version`` counts the row's writes."""

        def update(c: sqlite3.Connection) -> PurchaseOrder | None:
            new = change(_po(c, po_number))
            _write_po(c, po_number, new)
            return new

        return await self._run(update, True)

    async def timeline(self, po_number: str) -> list[Message]:
        tail = "WHERE m.po_number = ? ORDER BY m.received_at, m.id"
        return await self._run(lambda c: _messages(c, tail, [po_number]))

    # identity ----------------------------------------------------------------------------
    async def link_remote(
        self, system: str, remote_id: str, po_number: str, *, replace: bool = True
    ) -> str:
        conflict = "DO UPDATE SET po_number = excluded.po_number" if replace else "DO NOTHING"
        insert = (
            f"INSERT INTO remote_ids VALUES (?, ?, ?) ON CONFLICT (system, remote_id) {conflict}"
        )

        def link(c: sqlite3.Connection) -> str:
            c.execute(insert, (system, remote_id, po_number))
            return str(_remote_po(c, system, remote_id))

        return await self._run(link, True)

    async def find_remote(self, system: str, remote_id: str) -> str | None:
        return await self._point_read(lambda c: _remote_po(c, system, remote_id))

    async def lookup(
        self, po_number: str, pairs: list[tuple[str, str]]
    ) -> tuple[PurchaseOrder | None, dict[tuple[str, str], str]]:
        """One read (one snapshot, on the caller's thread: ``_point_read``) instead of one
        per pair and one for the state."""

        def read(c: sqlite3.Connection) -> tuple[PurchaseOrder | None, dict[tuple[str, str], str]]:
            found = {pair: _remote_po(c, *pair) for pair in pairs}
            return _po(c, po_number), {k: v for k, v in found.items() if v is not None}

        return await self._point_read(read)

    async def link_new(self, pairs: list[tuple[str, str]], po_number: str) -> list[str]:
        """One write transaction for every link and its unpark."""
        insert = (
            "INSERT INTO remote_ids VALUES (?, ?, ?) ON CONFLICT (system, remote_id) DO NOTHING"
        )

        def link(c: sqlite3.Connection) -> list[str]:
            linked = []
            for system, remote_id in pairs:
                if c.execute(insert, (system, remote_id, po_number)).rowcount:
                    _release_unknown_po(c, po_number, system)
                    linked.append(system)
            return linked

        return await self._run(link, True)

    # checkpoints -------------------------------------------------------------------------
    async def get_checkpoint(self, name: str) -> str | None:
        sql = "SELECT value FROM checkpoints WHERE name = ?"
        row = await self._run(lambda c: c.execute(sql, (name,)).fetchone())
        return None if row is None else str(row[0])

    async def set_checkpoint(self, name: str, value: str) -> None:
        sql = (
            "INSERT INTO checkpoints VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        )
        await self._run(lambda c: c.execute(sql, (name, value)), True)

    async def swap_checkpoint(self, name: str, expected: str | None, value: str) -> bool:
        args: tuple[str, ...]
        if expected is None:
            sql, args = "INSERT OR IGNORE INTO checkpoints VALUES (?, ?)", (name, value)
        else:
            sql = "UPDATE checkpoints SET value = ? WHERE name = ? AND value = ?"
            args = (value, name, expected)
        return bool(await self._run(lambda c: c.execute(sql, args).rowcount, True))


def _po(c: sqlite3.Connection, po_number: str) -> PurchaseOrder | None:
    row = c.execute("SELECT json FROM po_state WHERE po_number = ?", (po_number,)).fetchone()
    return None if row is None else PurchaseOrder.model_validate_json(row[0])


def _remote_po(c: sqlite3.Connection, system: str, remote_id: str) -> str | None:
    sql = "SELECT po_number FROM remote_ids WHERE system = ? AND remote_id = ?"
    row = c.execute(sql, (system, remote_id)).fetchone()
    return None if row is None else str(row[0])


def _write_po(c: sqlite3.Connection, po_number: str, new: PurchaseOrder | None) -> None:
    if new is not None:
        c.execute(
            "INSERT INTO po_state VALUES (?, ?, 1) ON CONFLICT (po_number) DO UPDATE "
            "SET json = excluded.json, version = version + 1",
            (po_number, new.model_dump_json()),
        )


def _accept(c: sqlite3.Connection, message: Message, targets: list[str]) -> tuple[Message, bool]:
    """Dedup, then the message and one delivery per target with the next ``seq`` of its line.

    The stored message is returned as built here (``RETURNING seq``), not read back: this is
    the inbound hot path.
    """
    if message.dedup_key is not None:
        known = _messages(c, "WHERE m.dedup_key = ?", [message.dedup_key])
        if known:
            return known[0], False
    _insert_message(c, message)
    line, stamp = message.po_number or message.id, _now()
    deliveries = []
    for target in dict.fromkeys(targets):
        delivery_id = f"{message.id}:{target}"
        (seq,) = c.execute(
            "INSERT INTO deliveries (id, message_id, target, po_number, seq, state, "
            "next_at, created_at, updated_at) SELECT ?, ?, ?, ?, COALESCE(MAX(seq), 0) "
            "+ 1, 'queued', ?, ?, ? FROM deliveries WHERE target = ? AND po_number = ? "
            "RETURNING seq",
            (delivery_id, message.id, target, line, stamp, stamp, stamp, target, line),
        ).fetchone()
        deliveries.append(Delivery(id=delivery_id, message_id=message.id, target=target,
                                   po_number=line, seq=seq))  # fmt: skip
    return message.model_copy(update={"deliveries": deliveries}), True


def _in_savepoint(
    conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any]
) -> tuple[Any, BaseException | None]:
    conn.execute("SAVEPOINT op")
    try:
        result = fn(conn)
    except Exception as exc:
        conn.execute("ROLLBACK TO op")
        conn.execute("RELEASE op")
        return None, exc
    conn.execute("RELEASE op")
    return result, None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
