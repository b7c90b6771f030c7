"""A script and ``WAIT``/``WAITAOF`` behind it on the same connection of the same primary.

``WAIT n`` blocks until n replicas have every write *this connection* made; sent through the
pool on its own it could land on another connection and return at once, proving nothing.
So both go out as one two-command pipeline: on one Redis through redis-py's pipeline (one
pooled connection), on a Cluster straight to the primary that owns the script's slot. The
script is idempotent (a resend finds the message and writes nothing), so a retry after a
dropped connection, ``MOVED`` (a failover) or ``NOSCRIPT`` (a fresh primary) is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    NoScriptError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

TRIES = 5
_TOPOLOGY = (MovedError, AskError, ClusterDownError, TryAgainError)
_DROPPED = (RedisConnectionError, RedisTimeoutError, OSError)


async def run_and_wait(
    client: Any, cluster: bool, script: Any, keys: list[str], args: list[Any],
    wait: tuple[Any, ...],
) -> tuple[Any, Any]:  # fmt: skip
    """(script reply, ``WAIT``/``WAITAOF`` reply)."""
    evalsha = ("EVALSHA", script.sha, len(keys), *keys, *args)
    for attempt in range(TRIES):
        last = attempt == TRIES - 1
        try:
            if cluster:
                out, reply = await _on_owner(client, keys[0], evalsha, wait)
            else:
                async with client.pipeline(transaction=False) as pipe:
                    pipe.execute_command(*evalsha)
                    pipe.execute_command(*wait)
                    out, reply = await pipe.execute(raise_on_error=False)
        except _DROPPED:
            if last:
                raise
            await _refresh(client, cluster, attempt)
            continue
        if isinstance(out, NoScriptError) and not last:
            await client.script_load(script.script)  # on a Cluster: every primary
            continue
        if isinstance(out, _TOPOLOGY) and not last:
            await _refresh(client, cluster, attempt)
            continue
        for result in (out, reply):
            if isinstance(result, Exception):
                raise result
        return out, reply
    raise AssertionError("unreachable")  # pragma: no cover


async def _on_owner(
    client: Any, key: str, evalsha: tuple[Any, ...], wait: tuple[Any, ...]
) -> tuple[Any, Any]:
    from redis.asyncio.cluster import PipelineCommand

    await client.initialize()
    node = client.get_node_from_key(key)
    commands = [PipelineCommand(0, *evalsha), PipelineCommand(1, *wait)]
    await node.execute_pipeline(commands)
    return commands[0].result, commands[1].result


async def _refresh(client: Any, cluster: bool, attempt: int) -> None:
    """Back off, and on a Cluster learn the slots again (a replica may have taken over)."""
    await asyncio.sleep(min(1.0, 0.1 * 2**attempt))
    if cluster:
        with contextlib.suppress(Exception):  # still failing over: the next try says
            await client.nodes_manager.initialize()
