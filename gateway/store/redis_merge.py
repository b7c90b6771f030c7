"""Newest-first merge of per-partition indexes, reading each partition a chunk at a time.

A search over N partitions reads, from each, at most what the page needs (``offset + limit``
entries, rounded up to a chunk) when no filter has to be checked in Python; the merged order
is (score desc, partition, place in the partition), the same for every call, so pages do not
overlap or skip.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator, Awaitable, Callable

Fetch = Callable[[int, int], Awaitable[tuple[list[tuple[str, float]], int]]]
"""(start, count) -> (the matching (member, score) pairs among the next ``count`` entries of
one partition, newest first; how many entries were read)."""


async def _stream(fetch: Fetch, chunk: int) -> AsyncIterator[list[tuple[str, float]]]:
    start = 0
    while True:
        rows, read = await fetch(start, chunk)
        if rows:
            yield rows
        if read < chunk:
            return
        start += read


async def merged(fetches: list[Fetch], chunk: int) -> AsyncIterator[tuple[int, str]]:
    """(index of its fetch, member) of every partition, newest first."""
    streams = [_stream(f, chunk) for f in fetches]
    buffers: list[list[tuple[str, float]]] = [[] for _ in streams]
    firsts = await asyncio.gather(*(anext(s, None) for s in streams))
    heap: list[tuple[float, int, int, str]] = []
    for k, rows in enumerate(firsts):
        if rows:
            buffers[k] = rows
            heapq.heappush(heap, (-rows[0][1], k, 0, rows[0][0]))
    positions = [0] * len(streams)
    while heap:
        _, k, _, member = heapq.heappop(heap)
        yield k, member
        positions[k] += 1
        if positions[k] >= len(buffers[k]):
            more = await anext(streams[k], None)
            if not more:
                continue
            buffers[k], positions[k] = more, 0
        row = buffers[k][positions[k]]
        heapq.heappush(heap, (-row[1], k, positions[k], row[0]))
