"""Uniware: pushes an approved PO to a partner (``POST /approvedPurchaseOrder``)."""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any, ClassVar

from adapters.uniware import parse as _parse
from adapters.uniware import render as _render
from adapters.uniware.spec import SPEC
from core.adapter import RenderContext, Rendered, combine_bodies
from core.mapping.schema import MappingSpec
from core.mapping.tables import Mapping
from core.model import PoEvent


class UniwareAdapter:
    system: ClassVar[str] = "uniware"
    needs_full_po: ClassVar[bool] = True
    spec: ClassVar[MappingSpec] = SPEC

    def parse(
        self, body: bytes, mapping: Mapping, headers: AbcMapping[str, str] | None = None
    ) -> list[PoEvent]:
        return [_parse.parse(body, mapping, headers)]

    def render(self, event: PoEvent, ctx: RenderContext) -> Rendered:
        return _render.render(event, ctx)

    def combine(self, rendered: list[Rendered]) -> Any:
        return combine_bodies(rendered)


ADAPTER = UniwareAdapter()
