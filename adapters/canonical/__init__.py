"""pohub's own canonical model as a dialect: a ``PoEvent`` (or a bare ``PurchaseOrder``) as JSON.

``POST /api/v1/purchase-orders`` reads it; ``translate --to canonical`` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping

import orjson

from core.adapter import Call, RenderContext, Rendered, SystemAdapter
from core.errors import InvalidInput
from core.mapping.schema import MappingSpec
from core.mapping.tables import Mapping
from core.model import EventKind, PoEvent, PurchaseOrder
from core.validation import duplicate_keys, validate_json, validate_obj

SYSTEM = "canonical"
PATH = "/api/v1/purchase-orders"


def _parse(
    body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None
) -> list[PoEvent]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        validate_json(PoEvent, body, SYSTEM)  # raises with the parser's own message
        raise
    duplicated = duplicate_keys(body, data)
    if duplicated:
        raise InvalidInput(SYSTEM, duplicated)
    if isinstance(data, dict) and "kind" not in data and "source_system" not in data:
        po = validate_obj(PurchaseOrder, data, SYSTEM)
        return [
            PoEvent(kind=EventKind.UPDATED, po_number=po.po_number, source_system=SYSTEM, po=po)
        ]
    if isinstance(data, list):
        raise InvalidInput.one(SYSTEM, "$", "type", "expected one event object, not an array")
    return [validate_obj(PoEvent, data, SYSTEM)]


def _render(event: PoEvent, ctx: RenderContext) -> Rendered:
    body = event.model_dump(mode="json", exclude_defaults=True)
    return Rendered(SYSTEM, [Call("POST", PATH, body)], ctx.mapping.version)


ADAPTER = SystemAdapter(SYSTEM, MappingSpec(), parse=_parse, render=_render, needs_full_po=False)
