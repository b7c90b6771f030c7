"""AppliQloud: bulk PO update (``PUT /pic/link/purchase-orders/update``), several POs a call."""

from __future__ import annotations

from typing import Any

from adapters._system import Bulk, System
from adapters.appliqloud import bulk as _bulk
from adapters.appliqloud import parse as _parse
from adapters.appliqloud import render as _render
from adapters.appliqloud import replies as _replies
from adapters.appliqloud.client import AppliqloudClient
from adapters.appliqloud.inbound import INBOUND
from adapters.appliqloud.schema import SYSTEM as NAME
from adapters.appliqloud.simulator import AppliqloudSimulator
from adapters.appliqloud.spec import SPEC
from core.adapter import Rendered, SystemAdapter


class AppliqloudAdapter(SystemAdapter):
    """Several POs go in one bulk request: ``combine`` writes AppliQloud's ``inputs[]``."""

    carries: tuple[str, ...] | None = ("po_number", "supplier.code", "lines.sku", "lines.quantity")
    """Canonical fields the request carries back unchanged. No status (only AppliQloud's
    replies have one) and no gross ``unit_price``: ``netUnitPrice`` reads into
    ``net_unit_price``."""

    def combine(self, rendered: list[Rendered]) -> Any:
        return _render.combine(rendered)


SYSTEM = System(
    AppliqloudAdapter(NAME, SPEC, parse=_parse.parse, render=_render.render, needs_full_po=True),
    inbound=INBOUND,
    client=AppliqloudClient,
    simulator=AppliqloudSimulator,
    errors=_replies.error_reply,
    bulk=Bulk(_bulk.LIMIT, key=_bulk.key, merge=_bulk.merge, split=_bulk.split),
)
