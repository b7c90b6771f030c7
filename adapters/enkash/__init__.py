"""EnKash B2B: PO status-change webhook (``POST /api/v0/purchase-order/req-status-change``)."""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any, ClassVar

from adapters.enkash import parse as _parse
from adapters.enkash import render as _render
from adapters.enkash.spec import SPEC
from core.adapter import RenderContext, Rendered, combine_bodies
from core.mapping.schema import MappingSpec
from core.mapping.tables import Mapping
from core.model import PoEvent


class EnkashAdapter:
    system: ClassVar[str] = "enkash"
    needs_full_po: ClassVar[bool] = False
    learns_identity: ClassVar[bool] = True
    """EnKash names a PO by its own objectId and object version, learnt from EnKash only
    (its events, its replies): without them a render is ``IdentityMissing``."""
    spec: ClassVar[MappingSpec] = SPEC

    def parse(
        self, body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None
    ) -> list[PoEvent]:
        return [_parse.parse(body, mapping, headers)]

    def render(self, event: PoEvent, ctx: RenderContext) -> Rendered:
        return _render.render(event, ctx)

    def combine(self, rendered: list[Rendered]) -> Any:
        return combine_bodies(rendered)


ADAPTER = EnkashAdapter()
