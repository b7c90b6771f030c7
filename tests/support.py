"""Shared helpers for the suites generated over ``adapters/*``: samples, mappings, state."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from adapters import registry
from core.adapter import RemoteState, Rendered
from core.errors import PohubError
from core.mapping.tables import Mapping
from core.model import Line, PoEvent, PurchaseOrder
from gateway.delivery.render import parse_for, render_for
from gateway.mappings.files import check_mappings

ROOT = Path(__file__).resolve().parent.parent
RECEIVED_AT = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)
"""The receive time the harness stamps on events whose payload carries none."""
BASE_STATE = ("uniware", "approved-po.json")
"""The PO the hub 'already knows' when a status-only sample goes to a full-PO system."""


@cache
def mappings() -> dict[str, Mapping]:
    found, problems = check_mappings(ROOT / "mappings")
    assert not problems, "\n".join(map(str, problems))
    return found


def systems() -> list[str]:
    return registry.system_ids()


def sample_paths(system: str) -> list[Path]:
    return sorted(registry.samples_dir(system).glob("*.json"))


def all_samples() -> list[tuple[str, Path]]:
    return [(s, p) for s in systems() for p in sample_paths(s)]


def headers_for(path: Path) -> dict[str, str]:
    file = path.parent / "headers" / path.name
    return orjson.loads(file.read_bytes()) if file.exists() else {}


def parse(system: str, body: bytes, headers: dict[str, str] | None = None) -> list[PoEvent]:
    return parse_for(system, body, mappings()[system], headers, received_at=RECEIVED_AT)


def parse_sample(system: str, path: Path) -> list[PoEvent]:
    return parse(system, path.read_bytes(), headers_for(path))


@cache
def _base_po() -> PurchaseOrder:
    system, name = BASE_STATE
    event = parse_sample(system, registry.samples_dir(system) / name)[0]
    assert event.po is not None
    return event.po


def state_for(event: PoEvent) -> PurchaseOrder | None:
    """For a status-only event: the base PO renamed to the event's PO and line numbers."""
    if event.po is not None:
        return None
    base = _base_po()
    numbers = [ls.line_number for ls in (event.status_change.lines if event.status_change else [])]
    lines = [base.lines[0].model_copy(update={"line_number": n}) for n in numbers]
    return base.model_copy(update={"po_number": event.po_number, "lines": lines or base.lines})


@cache
def remote_for(target: str) -> RemoteState:
    """What the hub 'already learnt' from a target that names a PO by its own identity
    (``adapter.learns_identity``: EnKash's objectId, object version and status): what the
    target's own first sample revealed. Like ``state_for``, it stands for any PO rendered.
    Other targets get nothing: their renders must not depend on it."""
    adapter = registry.get(target)
    if not adapter.learns_identity:
        return RemoteState()
    event = parse_sample(target, sample_paths(target)[0])[0]
    change = event.status_change
    return RemoteState(
        remote_id=event.remote_ids.get(target),
        status=change.source_to_status if change else None,
        version=change.to_version if change else None,
    )


def plan_for(target: str, event: PoEvent) -> Rendered:
    """The plan ``target`` gets for ``event`` in the generated suites: ``render_for`` (the
    worker's own) with the base state and what the target already revealed."""
    return render_for(target, event, mappings()[target], state_for(event), remote_for(target))


def render_all(target: str, events: list[PoEvent]) -> Any:
    return registry.get(target).combine([plan_for(target, ev) for ev in events])


def render_outcome(target: str, events: list[PoEvent]) -> Any:
    """``render_all``, or the record of why the delivery would park or go dead (a missing
    mapping, a value the target cannot express, a state the event contradicts): a golden of
    an untranslatable pair is that record, reviewed in the diff like any other."""
    try:
        return render_all(target, events)
    except PohubError as exc:
        return {"unsendable": {"error": type(exc).__name__, "message": str(exc)}}


def wire_of(system: str, events: list[PoEvent]) -> Any:
    """The same-dialect document for ``events``: ``to_wire`` where rendering is a plan."""
    adapter = registry.get(system)
    to_wire = getattr(adapter, "to_wire", None)
    if to_wire is None:
        return render_all(system, events)
    bodies = [to_wire(ev, mappings()[system]) for ev in events]
    return bodies[0] if len(bodies) == 1 else bodies


def golden_path(source: str, sample: Path, target: str) -> Path:
    """Next to the sample (``<source>/samples/golden/<stem>.<target>.json``), except where
    the target keeps the goldens of other systems' samples into it in its own folder
    (``<target>/samples/golden/from/<source>/<stem>.json``, a directory a system added
    later has, ``pohub new-adapter`` writes it): adding a system then touches nothing
    outside its folder. A golden that exists is used where it is."""
    beside = sample.parent / "golden" / f"{sample.stem}.{target}.json"
    received = registry.samples_dir(target) / "golden" / "from"
    theirs = received / source / f"{sample.stem}.json"
    if beside.exists() or not (theirs.exists() or received.is_dir()):
        return beside
    return theirs


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def with_line(po: PurchaseOrder, **changes: Any) -> PurchaseOrder:
    line: Line = po.lines[0].model_copy(update=changes)
    return po.model_copy(update={"lines": [line]})
