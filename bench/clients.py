"""Client CPU per outbound call: httpx's default transport, httpx over aiohttp, bare aiohttp.

The simulators run in a separate process (``pohub simulate``) so the figures are the
client's own CPU (``time.process_time`` of this process) per call, plus wall-clock rate.
Bare aiohttp is the baseline measured in the same run; the ratio says what httpx's API
costs on each transport.

    uv run python bench/clients.py [--calls 3000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

ROOT = Path(__file__).resolve().parent.parent
BODY = (ROOT / "adapters/uniware/samples/approved-po.json").read_bytes()
TOKEN = "bench-token"
PATH = "/uniware/approvedPurchaseOrder"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_simulators(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "UNIWARE_TOKEN": TOKEN}
    cmd = [sys.executable, "-m", "gateway.cli", "simulate", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("simulators did not start")


async def run(
    send: Callable[[], Awaitable[int]], calls: int, concurrency: int
) -> tuple[float, float]:
    """(client CPU µs per call, calls per second)."""
    for _ in range(50):
        await send()
    queue = iter(range(calls))

    async def worker() -> None:
        for _ in queue:
            status = await send()
            assert status == 200, status

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / calls * 1e6, calls / wall


async def bench_httpx(
    base: str, transport: httpx.AsyncBaseTransport, calls: int, conc: int
) -> tuple[float, float]:
    headers = {"Authorization": TOKEN, "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=10) as client:

        async def send() -> int:
            return (await client.post(PATH, content=BODY, headers=headers)).status_code

        return await run(send, calls, conc)


async def bench_aiohttp(base: str, calls: int, conc: int) -> tuple[float, float]:
    headers = {"Authorization": TOKEN, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(base_url=base) as session:

        async def send() -> int:
            async with session.post(PATH, data=BODY, headers=headers) as resp:
                await resp.read()
                return resp.status

        return await run(send, calls, conc)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    port = free_port()
    proc = start_simulators(port)
    base = f"http://127.0.0.1:{port}"
    try:
        base_cpu, base_rate = await bench_aiohttp(base, args.calls, args.concurrency)
        n, conc = args.calls, args.concurrency
        via_aiohttp = await bench_httpx(base, AiohttpTransport(), n, conc)
        via_default = await bench_httpx(base, httpx.AsyncHTTPTransport(), n, conc)
        rows = [
            ("aiohttp session (baseline)", base_cpu, base_rate),
            ("httpx + httpx-aiohttp", *via_aiohttp),
            ("httpx default transport", *via_default),
        ]
    finally:
        proc.terminate()
        proc.wait(10)
    print(
        f"{args.calls} POSTs of the Uniware sample to its simulator, concurrency {args.concurrency}"
    )
    print(f"{'stack':<28} {'client CPU µs/call':>18} {'calls/s':>9} {'CPU vs baseline':>16}")
    for name, cpu, rate in rows:
        print(f"{name:<28} {cpu:>18.0f} {rate:>9.0f} {cpu / base_cpu:>15.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
