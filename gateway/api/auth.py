"""Who may call the hub: API keys with roles for operations, and each system's inbound auth.

Every comparison is constant-time; failures are counted and logged without the secret.
"""

from __future__ import annotations

import base64
import hmac
import os
import time
from collections.abc import Mapping
from typing import Any

import structlog

from gateway.observe import metrics
from gateway.observe.audit import Principal
from gateway.settings.config import Config, InboundAuth

log = structlog.get_logger("pohub.auth")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class ApiKeys:
    """API keys named in config, values from the environment (or given, for the demo)."""

    def __init__(self, config: Config, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._keys: list[tuple[str, str, str | None]] = [
            (k.name, k.role, env.get(k.key_env)) for k in config.api_keys
        ]

    def add(self, name: str, role: str, value: str) -> None:
        self._keys.append((name, role, value))

    def identify(self, authorization: str | None) -> Principal | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        given = authorization[7:].strip()
        found = None
        for name, role, value in self._keys:
            if value and _same(given, value) and found is None:
                found = Principal(name, role)
        return found


class KeyRateLimits:
    """A token bucket per API key name, in this process: 429 with Retry-After past it."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate, self.burst = rate_per_s, burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, name: str) -> float | None:
        """None when the request may go; else seconds until it may."""
        now = time.monotonic()
        tokens, at = self._buckets.get(name, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[name] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[name] = (tokens - 1, now)
        return None


def client_address(connection: Any) -> str:
    """A request's peer address as the socket says it; ``X-Forwarded-For`` is not read (any
    client can write it), so behind a proxy every client counts as the proxy."""
    client = connection.client
    return str(client.host) if client else "unknown"


class FailedAuth:
    """Failed sign-ins per client address, in this process: a token bucket of ``limit``
    failures refilled over ``window_s``. Past it, every request from that address that needs
    credentials is answered 429 with ``Retry-After`` (a right key too: otherwise guessing
    could go on, and the first right guess would still pass) until a failure's worth has
    refilled. A success does not reset the count: a client sharing the address would
    otherwise reopen the door for a guesser.

    The table holds at most ``max_clients`` addresses; when full, the entries whose bucket is
    full again are dropped first (they mean nothing), then the least recently failed.
    """

    def __init__(self, limit: int = 20, window_s: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit, self.window_s, self.max_clients = limit, window_s, max_clients
        self.rate = limit / window_s
        self._table: dict[str, tuple[float, float]] = {}
        """address -> (failures' tokens left, when), in order of the last failure."""

    def __len__(self) -> int:
        return len(self._table)

    def _tokens(self, address: str, now: float) -> float:
        tokens, at = self._table.get(address, (float(self.limit), now))
        return min(float(self.limit), tokens + (now - at) * self.rate)

    def blocked(self, address: str) -> float | None:
        """None when ``address`` may try to sign in; else seconds until it may."""
        if address not in self._table:
            return None
        tokens = self._tokens(address, time.monotonic())
        return None if tokens >= 1 else (1 - tokens) / self.rate

    def failed(self, address: str) -> None:
        now = time.monotonic()
        tokens = self._tokens(address, now) - 1
        self._table.pop(address, None)
        if len(self._table) >= self.max_clients:
            self._evict(now)
        self._table[address] = (tokens, now)

    def _evict(self, now: float) -> None:
        full = [a for a in self._table if self._tokens(a, now) >= self.limit]
        for address in full:
            del self._table[address]
        while len(self._table) >= self.max_clients:
            del self._table[next(iter(self._table))]


def inbound_headers(auth: InboundAuth | None, env: Mapping[str, str]) -> dict[str, str]:
    """The headers a system sends to pass ``auth``: the client side of ``InboundGuard``."""
    if auth is None:
        return {}
    if auth.basic is not None:
        raw = f"{env[auth.basic.username_env]}:{env[auth.basic.password_env]}"
        return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}
    token = env[auth.token_env or ""]
    return {auth.header: f"{auth.scheme} {token}" if auth.scheme else token}


class InboundGuard:
    """Checks a system's inbound credentials as config.yaml's ``inbound_auth`` says."""

    def __init__(self, config: Config, env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env
        self._auth = {s: c.inbound_auth for s, c in config.systems.items() if c.inbound_auth}

    def required(self, system: str) -> bool:
        return system in self._auth

    def allows(self, system: str, headers: Mapping[str, str], keys: ApiKeys | None = None) -> bool:
        """A system with ``inbound_auth`` signs in as config says; one without (the canonical
        API, say) needs an operator API key: nothing reaches the store anonymously."""
        auth = self._auth.get(system)
        if auth is None:
            principal = keys.identify(headers.get("authorization")) if keys else None
            ok = principal is not None and principal.can("operator")
        else:
            ok = self._check(auth, headers)
        if not ok:
            metrics.AUTH_FAILED.labels(system).inc()
            log.warning("inbound.auth_failed", system=system)
        return ok

    def _check(self, auth: InboundAuth, headers: Mapping[str, str]) -> bool:
        if auth.basic is not None:
            user = self._env.get(auth.basic.username_env)
            password = self._env.get(auth.basic.password_env)
            given = headers.get("authorization", "")
            if not user or not password or not given.startswith("Basic "):
                return False
            try:
                decoded = base64.b64decode(given[6:], validate=True).decode()
            except ValueError:
                return False
            return _same(decoded, f"{user}:{password}")
        expected = self._env.get(auth.token_env or "")
        if not expected:
            return False
        given = headers.get(auth.header.lower(), "")
        if auth.scheme:
            prefix = f"{auth.scheme} "
            if not given.startswith(prefix):
                return False
            given = given[len(prefix) :]
        return _same(given, expected)
