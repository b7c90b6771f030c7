"""Uniware: pushes an approved PO to a partner (``POST /approvedPurchaseOrder``)."""

from __future__ import annotations

from adapters._system import DateFormats, System
from adapters.uniware import dates as _dates
from adapters.uniware import parse as _parse
from adapters.uniware import render as _render
from adapters.uniware import replies as _replies
from adapters.uniware.client import UniwareClient
from adapters.uniware.inbound import INBOUND
from adapters.uniware.simulator import UniwareSimulator
from adapters.uniware.spec import SPEC
from core.adapter import SystemAdapter

SYSTEM = System(
    SystemAdapter("uniware", SPEC, parse=_parse.parse, render=_render.render, needs_full_po=True),
    inbound=INBOUND,
    client=UniwareClient,
    simulator=UniwareSimulator,
    errors=_replies.error_reply,
    dates=DateFormats(_dates.parse_uniware, _dates.format_uniware),
)
