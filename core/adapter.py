"""The extension contract every ``adapters/<system>/`` fulfils.

An adapter is pure: ``parse`` turns the system's wire payload into a canonical ``PoEvent``
and ``render`` turns a canonical event into a *plan*: the ordered HTTP calls that bring the
system to the canonical state. Most systems need one call; AlphaAlpha needs several. Neither
does I/O; only the system's client sends the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from core.mapping.schema import MappingSpec
from core.mapping.tables import Mapping
from core.model import PoEvent, PurchaseOrder


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP call of a plan, relative to the system's base URL."""

    method: str
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    step: str = "send"
    form: dict[str, str] | None = None
    """Multipart form fields, for the rare call that is not JSON (AlphaAlpha mark-as-sent)."""
    text: str | None = None
    """A raw text body, sent as it is with the call's own ``Content-Type`` header (AlphaAlpha's
    remarks: ``-d 'string'``); ``json`` and ``form`` stay None."""
    refused: str | None = None
    """Why the plan may not take this step: the client sends the calls before it, then stops
    here with this reason (a ``PermanentDelivery``), sending nothing of this call."""
    reaches: str | None = None
    """The target's status after this call (lifecycle plans, in the target's own codes); on
    a read, the status the plan was computed from. A client that reads the PO first re-plans
    the remaining calls from the status it read (AlphaAlpha)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """The plan for one target, with the mapping version it was computed from."""

    system: str
    calls: list[Call]
    mapping_version: str

    @property
    def body(self) -> Any:
        """The payload of a one-call plan; the whole plan otherwise."""
        if len(self.calls) == 1:
            return self.calls[0].json
        return [plan_step(c) for c in self.calls]


def plan_step(call: Call) -> dict[str, Any]:
    step: dict[str, Any] = {"step": call.step, "method": call.method, "path": call.path}
    if call.json is not None:
        step["json"] = call.json
    if call.form is not None:
        step["form"] = call.form
    if call.text is not None:
        step["text"] = call.text
    if call.refused is not None:
        step["refused"] = call.refused
    return step


@dataclass(frozen=True, slots=True)
class RemoteState:
    """What the hub knows of the PO inside one target system (its id and status there)."""

    remote_id: str | None = None
    status: str | None = None
    version: int | None = None
    unsure: bool = False
    """An earlier sending of this delivery got no reply (timeout, dropped connection, a
    worker that stopped mid-call): its last call may have taken effect, so what the hub
    knows may be behind. A target that is not idempotent reads its state before going on
    (AlphaAlpha plans a ``read``)."""


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Everything ``render`` may read: the mapping, the PO's stored state, the remote state."""

    mapping: Mapping
    state: PurchaseOrder | None = None
    remote: RemoteState = field(default_factory=RemoteState)


@runtime_checkable
class Adapter(Protocol):
    """One system's dialect. Implementations live in ``adapters/<system>/__init__.py``,
    usually as a ``SystemAdapter`` built from the folder's ``parse`` and ``render``."""

    system: str
    needs_full_po: bool
    """True when the dialect can only express a whole PO (a status event needs stored state)."""
    learns_identity: bool
    """True when the system names a PO by ids only it can give (EnKash's objectId and object
    version): a render without them is ``IdentityMissing``, released when the system names
    the PO."""
    spec: MappingSpec
    carries: tuple[str, ...] | None
    """Canonical fields the dialect carries back unchanged (None: the default for its kind)."""

    def parse(
        self, body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None
    ) -> list[PoEvent]:
        """Validate the wire payload and read it into canonical events (raises InvalidInput).

        Most dialects carry one PO per payload; bulk dialects (AppliQloud) carry several.
        """
        ...

    def render(self, event: PoEvent, ctx: RenderContext) -> Rendered:
        """Compute the plan of calls for this system (raises MappingMissing, StateRequired)."""
        ...

    def combine(self, rendered: list[Rendered]) -> Any:
        """The one wire document that carries several rendered POs (what ``translate`` prints).

        Single-PO dialects return the lone body, or a JSON array of bodies; a bulk dialect
        puts them in its own envelope.
        """
        ...


Parse = Callable[[bytes, Mapping, AbcMapping[str, str] | None], "PoEvent | list[PoEvent]"]
Render = Callable[[PoEvent, RenderContext], Rendered]


class SystemAdapter:
    """The usual adapter: a system's ``parse`` and ``render`` functions and mapping spec.

    A new system's ``__init__.py`` is one line, ``ADAPTER = SystemAdapter(...)``; a system
    whose wire document is not simply its bodies (a bulk envelope, a multi-call plan)
    subclasses it and overrides ``combine``.
    """

    carries: tuple[str, ...] | None = None
    """Canonical fields the dialect carries back unchanged (round-trip tests); None: the
    default set for its kind (a whole PO, or a status)."""

    def __init__(
        self, system: str, spec: MappingSpec, *, parse: Parse, render: Render,
        needs_full_po: bool, learns_identity: bool = False,
    ) -> None:  # fmt: skip
        self.system, self.spec = system, spec
        self.needs_full_po, self.learns_identity = needs_full_po, learns_identity
        self._parse, self._render = parse, render

    def parse(
        self, body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None
    ) -> list[PoEvent]:
        got = self._parse(body, mapping, headers)
        return got if isinstance(got, list) else [got]

    def render(self, event: PoEvent, ctx: RenderContext) -> Rendered:
        return self._render(event, ctx)

    def combine(self, rendered: list[Rendered]) -> Any:
        return combine_bodies(rendered)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.system}>"


def path_segment(value: str) -> str:
    """An id placed in a URL path is data, never URL syntax: percent-encoded whole, so an id
    like ``AA-PO-1/approve-supplier?x=`` names one (unknown) order instead of acting on
    another. An empty id or a dot segment cannot name anything and is refused."""
    if value in ("", ".", "..") or len(value) > 256:
        raise ValueError(f"{value[:40]!r} cannot be an id in a URL path")
    return quote(value, safe="")


def combine_bodies(rendered: list[Rendered]) -> Any:
    """``combine`` for single-PO dialects."""
    if len(rendered) == 1:
        return rendered[0].body
    return [r.body for r in rendered]
