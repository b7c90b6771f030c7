"""Who calls the API: one sign-in per request, and the role guards of the controllers.

``principal`` checks the ``Authorization`` key once per request (failed sign-ins counted and
throttled per address, the key's rate limit taken) and keeps the caller on the request;
``requires(role)`` is the guard controllers and handlers declare.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers.base import BaseRouteHandler

from gateway.api.auth import client_address
from gateway.observe import metrics
from gateway.observe.audit import Principal

API_BODY_MAX = 64 * 1024
"""Request body of the operations API and of the mappings API's small requests (rollback,
replay filters): 64 KiB, answered 413 past it. Mapping saves and previews have their own."""

OFFSET_MAX = 10**9
"""The largest page offset a list reads: past any store's rows, and within its integer (a
bigger one overflowed SQLite's 64-bit integer: a 500, found by the OpenAPI fuzz test)."""

log = structlog.get_logger("pohub.api")


def page_offset(offset: int) -> int:
    """A list's ``offset`` as the stores take it: 0 to ``OFFSET_MAX`` (past the rows: an
    empty page)."""
    return min(max(offset, 0), OFFSET_MAX)


KNOWN = "pohub.principal"
"""Where a request keeps its caller once a guard found it (``connection.state``)."""


def hub_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
    return connection.app.state.hub


def principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller, signed in once per request: the first call checks the key, counts a
    failure, refuses a throttled address and takes the key's rate-limit token; later calls
    (the handler's guard after its controller's, the handler itself) read what it found."""
    known: Principal | None = connection.state.get(KNOWN)
    if known is not None:
        return known
    found = _signed_in(connection)
    connection.state[KNOWN] = found
    return found


def _signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    hub = hub_of(connection)
    address = client_address(connection)
    given = connection.headers.getall("authorization", [])
    if given:  # only a request that tries a key is counted, or refused for past failures
        throttled = hub.failed_auth.blocked(address)
        if throttled is not None:
            metrics.AUTH_THROTTLED.labels("api").inc()
            raise TooManyRequestsException(
                "too many failed sign-ins from this address",
                headers={"Retry-After": str(max(1, math.ceil(throttled)))},
            )
    if len(given) > 1:  # which one counts would depend on the reader: refuse instead
        _failed(hub, address)
        raise NotAuthorizedException("more than one Authorization header")
    found: Principal | None = hub.keys.identify(given[0] if given else None)
    if found is None:
        if given:
            _failed(hub, address)
        raise NotAuthorizedException("a valid API key is required: Authorization: Bearer <key>")
    wait = hub_of(connection).key_limits.take(found.name)
    if wait is not None:
        metrics.API_RATE_LIMITED.labels(found.name).inc()
        raise TooManyRequestsException(
            f"rate limit for key {found.name!r}", headers={"Retry-After": str(max(1, round(wait)))}
        )
    return found


def _failed(hub: Any, address: str) -> None:
    hub.failed_auth.failed(address)
    metrics.API_AUTH_FAILED.inc()
    log.warning("api.auth_failed", client=address)


def requires(role: str) -> Any:
    """A guard: the caller's key must have ``role`` or a higher one (401 without a valid
    key, 403 with a weaker one). On a controller it covers every handler; a handler that
    needs more adds its own, and the two share one sign-in."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not principal(connection).can(role):
            raise PermissionDeniedException(f"the {role} role is required")

    return guard
