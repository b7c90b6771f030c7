"""One declared ``System`` per ``adapters/<system>/`` folder: everything the hub reads of it.

A system's ``__init__.py`` builds one ``SYSTEM`` and the registry reads only that: the
gateway, the worker, the simulator server and the generated test suites never import a
system's files by name. So a sixth system is its folder, its mapping file and its
config.yaml entry, and a typo in one of its files stops the import of the whole system
instead of quietly dropping one endpoint (issue 13).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.adapter import Adapter, Call, RenderContext, Rendered
from core.inbound import InboundSpec, Reply
from core.mapping.schema import MappingSpec
from core.mapping.tables import Mapping
from core.model import PoEvent

if TYPE_CHECKING:
    from adapters._http import SystemClient
    from adapters._sim import Simulator

ErrorReplies = Callable[[int, str, str | None, str | None], Reply]
"""``(status, message, field, rule) -> Reply``: the system's error envelope for a status.

One table per system (``adapters/<system>/replies.py``), used by both the gateway's drop-in
endpoint (``inbound.refused``) and the simulator (``Simulator.error``), so the hub answers a
sender exactly as the system it stands in for would."""


@dataclass(frozen=True, slots=True)
class DateFormats:
    """A system's own date text, read and written in a zone (Uniware: ``Mar 12, 2024 4:16:42
    PM``). Declared so a reader finds a dialect's date rules in its folder."""

    parse: Callable[[str, str], datetime]
    format: Callable[[datetime, str], str]


@dataclass(frozen=True, slots=True)
class Poll:
    """A system the hub reads by polling instead of being pushed to (``gateway/intake/poller.py``
    runs the loop, the checkpoint and the ingest; the system says how to ask and read)."""

    search_path: str
    """The search endpoint (``POST``, JSON), relative to the system's base URL."""
    page_request: Callable[[int, int], dict[str, Any]]
    """``(page, size) -> body``: one page of POs, the most recently changed first."""
    read_page: Callable[[Any], tuple[list[Any], bool] | None]
    """A reply body -> (its POs, whether it is the last page); None: not a page."""
    changed_at: Callable[[Any], datetime | None]
    """When one PO of a page last changed (what the checkpoint moves to)."""


@dataclass(frozen=True, slots=True)
class Bulk:
    """A target that takes several POs in one request, and answers for each of them
    (``gateway/delivery/batching.py`` collects the deliveries, the client sends them: ``send_bulk``).

    Declared only for an upsert target (a resend after a lost reply is harmless), since a
    batch is sent again as a whole, with no read-back before it."""

    limit: int | None
    """POs per request the system's document allows; None: the document states none (then
    config.yaml's ``batch.max`` is the only bound)."""
    key: Callable[[Call], str | None]
    """The PO a one-PO call is about, as the reply names it; None: the call cannot be
    merged (another shape than the single-PO request) and is sent alone."""
    merge: Callable[[list[Call]], Call]
    """Several one-PO calls (distinct keys) as one request, in order."""
    split: Callable[[Any, list[str]], dict[str, Any] | None]
    """The merged request's 2xx reply body -> for each key, the reply body a one-PO call
    would have had (what the client's ``check`` reads); None: not the system's envelope."""


@dataclass(frozen=True, slots=True)
class System:
    """Everything about one system the hub needs, declared once in its ``__init__.py``.

    ``adapter`` is the pure dialect (parse, render, mapping spec, whether it needs the full
    PO); the rest is I/O the gateway wires: the outbound ``client`` class, the drop-in
    ``inbound`` spec, the ``simulator`` class, the shared ``errors`` table, and the optional
    ``poll``, ``dates`` and ``bulk`` (several POs in one request). A dialect with no
    endpoint of its own (``canonical``) leaves client and simulator None.
    """

    adapter: Adapter
    inbound: InboundSpec | None = None
    client: type[SystemClient] | None = None
    simulator: type[Simulator] | None = None
    errors: ErrorReplies | None = None
    poll: Poll | None = None
    dates: DateFormats | None = None
    bulk: Bulk | None = None

    @property
    def name(self) -> str:
        return self.adapter.system

    @property
    def needs_full_po(self) -> bool:
        return self.adapter.needs_full_po

    @property
    def spec(self) -> MappingSpec:
        return self.adapter.spec

    def parse(
        self, body: bytes, mapping: Mapping, headers: dict[str, str] | None = None
    ) -> list[PoEvent]:
        return self.adapter.parse(body, mapping, headers)

    def render(self, event: PoEvent, ctx: RenderContext) -> Rendered:
        return self.adapter.render(event, ctx)

    def error_reply(
        self, status: int, message: str, field: str | None = None, rule: str | None = None
    ) -> Reply:
        """The system's error envelope; a system without a table answers ``{"message"}``."""
        if self.errors is None:
            return Reply(status, {"message": message, "field": field})
        return self.errors(status, message, field, rule)

    def __repr__(self) -> str:
        return f"<System {self.name}>"
