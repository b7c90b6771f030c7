"""pohub's own canonical model as a dialect: a ``PoEvent`` (or a bare ``PurchaseOrder``) as JSON.

``POST /api/v1/purchase-orders`` reads it; ``translate --to canonical`` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import TypeVar

import orjson

from adapters._system import System
from adapters.canonical.inbound import INBOUND, error_reply
from core.adapter import Call, RenderContext, Rendered, SystemAdapter
from core.errors import InvalidInput
from core.mapping.schema import MappingSpec
from core.mapping.tables import Mapping
from core.model import EventKind, PoEvent, PurchaseOrder
from core.validation import border_errors, decimals_out_of_range, validate_json, validate_obj

NAME = "canonical"
T = TypeVar("T")
PATH = "/api/v1/purchase-orders"


def _parse(
    body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None
) -> list[PoEvent]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        validate_json(PoEvent, body, NAME)  # raises with the parser's own message
        raise
    errors = border_errors(body, data)  # the border's rules
    if errors:
        raise InvalidInput(NAME, errors)
    if isinstance(data, list):
        raise InvalidInput.one(NAME, "$", "type", "expected one event object, not an array")
    if isinstance(data, dict) and "kind" not in data and "source_system" not in data:
        po = _bounded(validate_obj(PurchaseOrder, data, NAME))
        return [PoEvent(kind=EventKind.UPDATED, po_number=po.po_number, source_system=NAME, po=po)]
    return [_bounded(validate_obj(PoEvent, data, NAME))]


def _render(event: PoEvent, ctx: RenderContext) -> Rendered:
    body = event.model_dump(mode="json", exclude_defaults=True)
    return Rendered(NAME, [Call("POST", PATH, body)], ctx.mapping.version)


def _bounded(value: T) -> T:
    """``value`` when every amount in it is within the border's bounds; numeric strings
    (``"1e400"``) become Decimals only in the model, so they are checked there."""
    errors = decimals_out_of_range(value)
    if errors:
        raise InvalidInput(NAME, errors)
    return value


SYSTEM = System(
    SystemAdapter(NAME, MappingSpec(), parse=_parse, render=_render, needs_full_po=False),
    inbound=INBOUND,
    errors=error_reply,
)
"""No client and no simulator: the hub never delivers to its own model."""
