"""EnKash status-change webhook -> canonical STATUS_CHANGED event.

EnKash only ever says *this PO moved from one status to another*, so the event carries a
``status_change`` and no ``po``: the hub supplies the rest from its stored state. The
parties and the rest of the envelope ride in ``extensions["enkash"]`` so that writing the
event back to EnKash gives the same JSON.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any

from adapters._wire import Wire, extras
from adapters.enkash.rules import check
from adapters.enkash.schema import SYSTEM, StatusChangeRequest
from core.errors import FieldError, InvalidInput
from core.mapping.tables import Mapping
from core.model import EventKind, PoEvent, PoStatus, StatusChange
from core.validation import validate_json

_TRANSITION = "$.poStatus.poStatusTransition"


def parse(body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None) -> PoEvent:
    """Headers carry only auth, which the gateway checks; nothing in them is read here."""
    wire = validate_json(StatusChangeRequest, body, SYSTEM)
    check(wire)
    status = wire.poStatus
    return PoEvent(
        kind=EventKind.STATUS_CHANGED,
        po_number=status.buyerPONumber,
        source_system=SYSTEM,
        status_change=_change(wire, mapping),
        remote_ids={SYSTEM: status.objectId},
        action=status.buyerAction,
        remarks=status.buyerRemarks,
        extensions={SYSTEM: _extensions(wire, mapping)},
    )


def _change(wire: StatusChangeRequest, mapping: Mapping) -> StatusChange:
    """Canonical statuses and the raw codes (written back as sent). A code the mapping does
    not know is refused at its path (``known_status``): the document requires both statuses,
    and an unknown one would park every delivery later as "no entry"."""
    version = wire.poStatus.objectVersion
    move = wire.poStatus.poStatusTransition
    errors: list[FieldError] = []
    statuses: list[PoStatus | None] = []
    for code, name in ((move.currentStatus, "currentStatus"), (move.newStatus, "newStatus")):
        try:
            statuses.append(mapping.status_in_checked(code, f"{_TRANSITION}.{name}"))
        except InvalidInput as exc:
            errors.extend(exc.errors)
            statuses.append(None)
    if errors:
        raise InvalidInput(SYSTEM, errors)
    return StatusChange(
        from_status=statuses[0],
        to_status=statuses[1],
        source_from_status=move.currentStatus,
        source_to_status=move.newStatus,
        from_version=version.currentVersion,
        to_version=version.newVersion,
    )


def _extensions(wire: StatusChangeRequest, mapping: Mapping) -> dict[str, Any]:
    """The envelope as sent, plus the hub keys of both parties where the crosswalks know them.

    ``buyer``/``vendor`` are None when no row reads the B2B id back; a target that needs
    the party then raises ``MappingMissing`` instead of guessing.
    """
    ids = wire.b2bIds
    device = _sent(wire.device)
    device["tag"] = _sent(wire.device.tag)
    ext: dict[str, Any] = {
        "b2bIds": _sent(ids),
        "buyer": mapping.reverse("buyer", ids.buyerB2BId),
        "vendor": mapping.reverse("vendor", ids.supplierB2BId),
        "device": device,
        "additionalInfos": [_sent(info) for info in wire.additionalInfos],
    }
    status = wire.poStatus
    for key, model in (
        ("extra", wire),
        ("poStatusExtra", status),
        ("objectVersionExtra", status.objectVersion),
        ("transitionExtra", status.poStatusTransition),
    ):
        if model.__pydantic_extra__:
            ext[key] = extras(model)
    return ext


def _sent(model: Wire) -> dict[str, Any]:
    """A model's keys exactly as sent (absent optional keys stay absent), extras included.

    Cheaper than ``model_dump(exclude_unset=True)``, which matters on this small payload.
    """
    declared: dict[str, Any] = model.__dict__
    extra = model.__pydantic_extra__
    sent = model.__pydantic_fields_set__
    if len(sent) == len(declared) + len(extra or ()):
        out = dict(declared)
    else:
        out = {name: value for name, value in declared.items() if name in sent}
    if extra:
        out.update(extra)
    return out
