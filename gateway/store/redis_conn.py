"""How the Redis store reaches Redis: one server, a Cluster or a Sentinel-watched primary,
and what an acknowledgement waits for (the ``durability`` setting).

URL forms (every process of a hub must use the same one; the options travel in the URL so
the API, workers and tools cannot disagree):

- ``redis://host:port/db`` (also ``rediss://``, ``unix://``): one Redis.
- ``redis+cluster://host:port[,host:port...]``: a Redis Cluster (any reachable nodes; the
  client learns the rest). Database 0 only, as Cluster has no others.
- ``redis+sentinel://host:port[,host:port...]/service[/db]``: the primary that these
  Sentinels name for ``service`` (followed across failovers).

Options (query string, taken out before redis-py sees the URL): ``prefix`` (default
``pohub``), ``partitions`` (default 1 on one Redis or Sentinel, 16 on a Cluster; fixed when
the store is first written), ``durability`` (``none`` | ``everysec`` default | ``fsync`` |
``replica``) and ``wait_ms`` (how long ``fsync``/``replica`` wait for an acknowledgement,
default 1000). See docs/redis.md, "Durable acknowledgements".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gateway.store.redis_keys import MAX_PARTITIONS

CLUSTER_SCHEME = "redis+cluster"
SENTINEL_SCHEME = "redis+sentinel"
DEFAULT_PARTITIONS = {"plain": 1, "cluster": 16, "sentinel": 1}


class Durability(enum.StrEnum):
    """When the hub answers 2xx for an accepted message."""

    NONE = "none"
    """Once it is in Redis's memory; persistence is Redis's business (none checked)."""
    EVERYSEC = "everysec"
    """In memory, with AOF on (required): a crash of the Redis *host* may lose ~1 s."""
    FSYNC = "fsync"
    """Only after it is on disk: ``WAITAOF 1 0`` (Redis 7.2+) or ``appendfsync always``."""
    REPLICA = "replica"
    """Only after at least one replica has it (``WAIT 1``): survives losing the primary."""


class StoreMisconfigured(ValueError):
    """Redis (or the URL) contradicts what the store must promise; the process must not
    start. The message says what to change."""


class NotDurable(RuntimeError):
    """A write is in Redis but was not acknowledged as durable in time (no replica, or no
    fsync, within ``wait_ms``): the caller must not answer 2xx. A retry of the same
    message is a duplicate (dedup), so a client resending it is safe."""


@dataclass(frozen=True)
class Settings:
    kind: str
    """plain | cluster | sentinel"""
    url: str
    """What redis-py gets (plain), or the original URL without our options."""
    prefix: str
    partitions: int
    durability: Durability
    wait_ms: int
    nodes: tuple[tuple[str, int], ...] = ()
    """cluster start-up nodes or Sentinels"""
    service: str = ""
    db: int = 0
    password: str | None = None
    username: str | None = None


def parse_url(url: str, prefix: str | None = None) -> Settings:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {"prefix", "partitions", "durability", "wait_ms"}
    opts = {k: v for k, v in query if k in ours}
    rest = [(k, v) for k, v in query if k not in ours]
    chosen = prefix or opts.get("prefix") or "pohub"
    if "{" in chosen or "}" in chosen:
        raise StoreMisconfigured(
            f"prefix {chosen!r} has a brace: the store puts its own hash tag {{p<k>}} in every"
            " key and a brace in the prefix would replace it (one slot for everything)"
        )
    scheme = parts.scheme
    kind = {CLUSTER_SCHEME: "cluster", SENTINEL_SCHEME: "sentinel"}.get(scheme, "plain")
    chosen_durability = opts.get("durability") or Durability.EVERYSEC
    if chosen_durability not in set(Durability):
        raise StoreMisconfigured(f"durability={chosen_durability!r}: give one of"
                                 f" {', '.join(d.value for d in Durability)}")  # fmt: skip
    durability = Durability(chosen_durability)
    try:
        partitions = int(opts.get("partitions") or DEFAULT_PARTITIONS[kind])
        wait_ms = int(opts.get("wait_ms") or 1000)
    except ValueError as exc:
        raise StoreMisconfigured(f"store URL option: {exc}") from None
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise StoreMisconfigured(f"partitions={partitions}: give 1..{MAX_PARTITIONS}")
    clean = urlunsplit(parts._replace(query=urlencode(rest)))
    common: dict[str, Any] = {
        "kind": kind,
        "url": clean,
        "prefix": chosen,
        "partitions": partitions,
        "durability": durability,
        "wait_ms": wait_ms,
    }
    if kind == "plain":
        return Settings(**common)
    netloc = parts.netloc.rpartition("@")[2]
    default_port = 26379 if kind == "sentinel" else 6379
    nodes = tuple(_host_port(x, default_port) for x in netloc.split(",") if x)
    if not nodes:
        raise StoreMisconfigured(f"{scheme}:// needs at least one host:port")
    path = [p for p in parts.path.split("/") if p]
    service, db = "", 0
    if kind == "sentinel":
        if not path:
            raise StoreMisconfigured("redis+sentinel://host:port/SERVICE[/db]: name the service")
        service = path[0]
        db = int(path[1]) if len(path) > 1 else 0
    elif path and path != ["0"]:
        raise StoreMisconfigured("a Redis Cluster has database 0 only")
    return Settings(**common, nodes=nodes, service=service, db=db,
                    password=parts.password, username=parts.username)  # fmt: skip


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        return text.strip("[]"), default_port
    return host.strip("[]"), int(port)


def safe_url(url: str) -> str:
    """The URL without credentials, for logs."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))


MAX_CONNECTIONS = 64
POOL_WAIT_S = 20.0


def connect(s: Settings) -> Any:
    """A redis-py asyncio client for these settings (nothing is sent yet)."""
    import redis.asyncio as redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    # reconnect on a dropped connection (a Redis restart): 3 tries, 0.1 s .. 1 s apart
    retry = Retry(ExponentialBackoff(cap=1.0, base=0.1), 3)
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": 2.0,
        "socket_timeout": 15.0,
        "health_check_interval": 15,
        "retry": retry,
    }
    if s.kind == "plain":
        # A blocking pool: past MAX_CONNECTIONS a call waits for a free connection (up to
        # POOL_WAIT_S) instead of failing with "Too many connections" under a burst.
        pool = redis.BlockingConnectionPool.from_url(
            s.url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S, **common
        )
        return redis.Redis(connection_pool=pool)
    auth: dict[str, Any] = {"username": s.username, "password": s.password}
    if s.kind == "cluster":
        from redis.asyncio.cluster import ClusterNode, RedisCluster

        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in s.nodes],
            # headroom over the MAX_CONNECTIONS permits of ``Bounded``: redis-py may hold a
            # connection a moment after a command returns (and one for topology refreshes)
            max_connections=2 * MAX_CONNECTIONS,
            **auth,
            **common,
        )
    from redis.asyncio.sentinel import Sentinel

    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(s.nodes), socket_connect_timeout=2.0, socket_timeout=2.0
    )
    return sentinel.master_for(s.service, db=s.db, **auth, **common)


class Bounded:
    """A Cluster client that waits for a free connection instead of failing.

    redis-py's Cluster client raises ``MaxConnectionsError`` past ``max_connections`` per
    node, where the one-Redis client waits (``BlockingConnectionPool``). Here every command
    holds one of ``MAX_CONNECTIONS`` permits while it runs, so a burst queues rather than
    failing; the store takes a permit around each script (``gate``) and hands the scripts and
    ``WAIT`` helpers the raw client (``raw``), so no call ever holds two."""

    def __init__(self, client: Any, limit: int = MAX_CONNECTIONS) -> None:
        import asyncio

        self.raw = client
        self.gate = asyncio.Semaphore(limit)

    def __getattr__(self, name: str) -> Any:
        import inspect

        attr = getattr(self.raw, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def bounded(*args: Any, **kwargs: Any) -> Any:
            async with self.gate:
                return await attr(*args, **kwargs)

        return bounded
