"""template: a JSON status update dialect (``POST /status-updates``).

Written by ``pohub new-adapter`` as the skeleton of a new system: a working, trivial
dialect (a PO number, a status code, a note) with its client, drop-in endpoint, simulator
and one error table. Replace the wire model, parse and render with the real document's;
the generated suites (golden, bad input, contract) run over it as they are.
"""

from __future__ import annotations

from adapters._system import System
from adapters._template import replies as _replies
from adapters._template.client import TemplateClient
from adapters._template.inbound import INBOUND
from adapters._template.parse import parse
from adapters._template.render import render
from adapters._template.schema import NAME
from adapters._template.simulator import TemplateSimulator
from core.adapter import SystemAdapter
from core.mapping.schema import MappingSpec

SYSTEM = System(
    SystemAdapter(NAME, MappingSpec(), parse=parse, render=render, needs_full_po=False),
    inbound=INBOUND,
    client=TemplateClient,
    simulator=TemplateSimulator,
    errors=_replies.error_reply,
)
