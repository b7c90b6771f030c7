"""What a system's drop-in inbound endpoint looks like: paths, and its reply envelopes.

Each ``adapters/<system>/inbound.py`` exports ``INBOUND``, an ``InboundSpec``. The gateway
serves ``/inbound/{system}{route.path}`` for each route, checks auth from config, calls the
adapter's ``parse``, stores the message, and answers with ``accepted`` or ``refused`` so
the sender sees its own system's envelope, success and error alike.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import InvalidInput
from core.model import PoEvent

SECRET_HEADERS = frozenset({"authorization", "cookie", "x-api-key", "proxy-authorization"})
"""Header names never stored, logged or shown (message records, ``_received``)."""


@dataclass(frozen=True, slots=True)
class InboundRoute:
    method: str
    path: str
    """Below ``/inbound/{system}``; may hold ``{id}`` style parameters."""
    name: str = "push"


@dataclass(slots=True)
class Reply:
    status: int
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class InboundRequest:
    route: InboundRoute
    params: dict[str, str]
    headers: AbcMapping[str, str]
    """Lower-cased names."""
    body: bytes


class InboundSpec(Protocol):
    routes: list[InboundRoute]

    def prepare(self, request: InboundRequest) -> tuple[bytes, dict[str, str]]:
        """The body and headers to hand to ``parse`` (AlphaAlpha adds its path and id)."""
        ...

    def accepted(
        self, request: InboundRequest, events: list[PoEvent], message_ids: list[str]
    ) -> Reply:
        """The system's success reply once every event is durably stored."""
        ...

    def refused(
        self, request: InboundRequest | None, status: int, message: str,
        error: InvalidInput | None = None,
    ) -> Reply:  # fmt: skip
        """The system's error reply: 400 invalid (naming ``error.first.path`` and rule),
        401 auth, 404 unknown route, 413 too large, 415 media type, 503 store down."""
        ...
