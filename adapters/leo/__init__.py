"""Leo order domain gateway: PO interface status update (``POST .../Order/processAsync``)."""

from __future__ import annotations

from adapters.leo import parse as _parse
from adapters.leo import render as _render
from adapters.leo.spec import SPEC
from core.adapter import SystemAdapter

ADAPTER = SystemAdapter(
    "leo",
    SPEC,
    parse=_parse.parse,
    render=_render.render,
    needs_full_po=False,
)
