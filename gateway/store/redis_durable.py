"""The ``durability`` setting: what Redis must be configured for, and what an accepting
write waits for before the hub may answer 2xx.

- ``none``: nothing checked, nothing waited for.
- ``everysec`` (default): AOF must be on (``appendonly yes``); no wait. A crash of the Redis
  process loses nothing, a crash of its host can lose about the last second.
- ``fsync``: ``WAITAOF 1 0 <wait_ms>`` after the write where the server has it (Redis 7.2+);
  on older servers ``appendfsync always`` is required (Redis then fsyncs before it replies).
- ``replica``: ``WAIT 1 <wait_ms>`` after the write; at least one replica must be connected
  when the store opens. A write no replica acknowledged in time raises ``NotDurable``.

``WAIT``/``WAITAOF`` count the writes of *the connection they run on*, so they are sent on the
same connection right behind the script (a pipeline of two commands on one primary), never
through the pool on their own.
"""

from __future__ import annotations

from typing import Any

from gateway.store.redis_conn import Durability, NotDurable, StoreMisconfigured


def _version(info: dict[str, Any]) -> tuple[int, ...]:
    raw = str(info.get("redis_version", "0"))
    return tuple(int(x) for x in raw.split(".")[:2] if x.isdigit())


async def check_node(client: Any, durability: Durability, where: str, **route: Any) -> bool:
    """Refuse (``StoreMisconfigured``) a node whose persistence contradicts ``durability``.
    Returns True when the node has ``WAITAOF``. ``route``: ``target_nodes=`` on a Cluster."""
    info = await client.info("server", **route)
    has_waitaof = _version(info) >= (7, 2)
    if durability is Durability.NONE:
        return has_waitaof
    conf = await client.config_get("append*", **route)
    appendonly, fsync = conf.get("appendonly"), conf.get("appendfsync")
    if appendonly != "yes":
        raise StoreMisconfigured(
            f"Redis {where} runs with appendonly {appendonly!r} but the store's durability is"
            f" {durability.value!r}: an accepted message would be lost when Redis restarts."
            " Set `appendonly yes` on every primary (and replica), or say"
            " `?durability=none` in the store URL to accept that loss."
        )
    if durability is Durability.FSYNC and not has_waitaof and fsync != "always":
        raise StoreMisconfigured(
            f"Redis {where} ({info.get('redis_version')}) has no WAITAOF and runs with"
            f" appendfsync {fsync!r}, but the store's durability is 'fsync' (answer only once"
            " the message is on disk). Set `appendfsync always`, upgrade to Redis 7.2+, or"
            " choose `?durability=everysec`."
        )
    if durability is Durability.REPLICA:
        repl = await client.info("replication", **route)
        if int(repl.get("connected_slaves", 0)) < 1:
            raise StoreMisconfigured(
                f"Redis {where} has no connected replica but the store's durability is"
                " 'replica' (answer only once a replica has the message). Attach a replica,"
                " or choose `?durability=fsync` or `everysec`."
            )
    return has_waitaof


def wait_command(durability: Durability, has_waitaof: bool, wait_ms: int) -> tuple[Any, ...]:
    """The command that follows an accepting write on its connection, or ``()``."""
    if durability is Durability.REPLICA:
        return ("WAIT", 1, wait_ms)
    if durability is Durability.FSYNC and has_waitaof:
        return ("WAITAOF", 1, 0, wait_ms)
    return ()


def confirm(command: tuple[Any, ...], reply: Any) -> None:
    """Raise ``NotDurable`` when ``WAIT``/``WAITAOF`` says the write is not yet safe."""
    if not command:
        return
    if command[0] == "WAIT":
        if int(reply) < 1:
            raise NotDurable(f"no replica acknowledged the write within {command[2]} ms")
    elif int(reply[0]) < 1:
        raise NotDurable(f"the write was not fsynced to the AOF within {command[3]} ms")
