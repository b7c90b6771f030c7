"""Leo order domain gateway: PO interface status update (``POST .../Order/processAsync``)."""

from __future__ import annotations

from adapters._system import System
from adapters.leo import parse as _parse
from adapters.leo import render as _render
from adapters.leo import replies as _replies
from adapters.leo.client import LeoClient
from adapters.leo.inbound import INBOUND
from adapters.leo.simulator import LeoSimulator
from adapters.leo.spec import SPEC
from core.adapter import SystemAdapter

SYSTEM = System(
    SystemAdapter("leo", SPEC, parse=_parse.parse, render=_render.render, needs_full_po=False),
    inbound=INBOUND,
    client=LeoClient,
    simulator=LeoSimulator,
    errors=_replies.error_reply,
)
