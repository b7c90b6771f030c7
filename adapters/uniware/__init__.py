"""Uniware: pushes an approved PO to a partner (``POST /approvedPurchaseOrder``)."""

from __future__ import annotations

from adapters.uniware import parse as _parse
from adapters.uniware import render as _render
from adapters.uniware.spec import SPEC
from core.adapter import SystemAdapter

ADAPTER = SystemAdapter(
    "uniware",
    SPEC,
    parse=_parse.parse,
    render=_render.render,
    needs_full_po=True,
)
