"""EnKash B2B: PO status-change webhook (``POST /api/v0/purchase-order/req-status-change``)."""

from __future__ import annotations

from adapters._system import System
from adapters.enkash import parse as _parse
from adapters.enkash import render as _render
from adapters.enkash import replies as _replies
from adapters.enkash.client import EnkashClient
from adapters.enkash.inbound import INBOUND
from adapters.enkash.simulator import EnkashSimulator
from adapters.enkash.spec import SPEC
from core.adapter import SystemAdapter

SYSTEM = System(
    SystemAdapter(
        "enkash",
        SPEC,
        parse=_parse.parse,
        render=_render.render,
        needs_full_po=False,
        learns_identity=True,  # EnKash names a PO by its own objectId and object version
    ),
    inbound=INBOUND,
    client=EnkashClient,
    simulator=EnkashSimulator,
    errors=_replies.error_reply,
)
