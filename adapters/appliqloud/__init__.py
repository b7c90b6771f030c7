"""AppliQloud: bulk PO update (``PUT /pic/link/purchase-orders/update``), several POs a call."""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any, ClassVar

from adapters.appliqloud import parse as _parse
from adapters.appliqloud import render as _render
from adapters.appliqloud.schema import SYSTEM
from adapters.appliqloud.spec import SPEC
from core.adapter import RenderContext, Rendered
from core.mapping.schema import MappingSpec
from core.mapping.tables import Mapping
from core.model import PoEvent


class AppliqloudAdapter:
    system: ClassVar[str] = SYSTEM
    needs_full_po: ClassVar[bool] = True
    spec: ClassVar[MappingSpec] = SPEC
    carries: ClassVar[tuple[str, ...]] = (
        "po_number", "supplier.code", "lines.sku", "lines.quantity",
    )  # fmt: skip
    """Canonical fields the request carries back unchanged. No status (only AppliQloud's
    replies have one) and no gross ``unit_price``: ``netUnitPrice`` reads into
    ``net_unit_price``."""

    def parse(
        self, body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None
    ) -> list[PoEvent]:
        return _parse.parse(body, mapping, headers)

    def render(self, event: PoEvent, ctx: RenderContext) -> Rendered:
        return _render.render(event, ctx)

    def combine(self, rendered: list[Rendered]) -> Any:
        return _render.combine(rendered)


ADAPTER = AppliqloudAdapter()
