"""A real redis-server for tests, on a free port, with AOF on (as production expects)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.servers import free_port


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not on PATH (CI must install it: .ci/run)")
        pytest.skip("redis-server is not installed")
    return found


@contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes], int, str]]:
    """Yields (url, process, port, data dir); restartable by the caller with ``start``."""
    binary = redis_binary()
    port = free_port()
    data = tempfile.mkdtemp(prefix="pohub-redis-")
    proc = start(binary, port, data)
    try:
        yield f"redis://127.0.0.1:{port}/0", proc, port, data
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)


def start(binary: str, port: int, data: str) -> subprocess.Popen[bytes]:
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", data,
           "--appendonly", "yes", "--save", "", "--protected-mode", "yes"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")
