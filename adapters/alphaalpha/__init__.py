"""AlphaAlpha: a full PO REST API under ``/api/v1/purchase-orders`` (create, patch, actions).

``render`` is a plan (create or patch, then lifecycle actions), so the same-dialect round
trip of a document goes through ``to_wire``: the PO object, or the request, the event was
read from.
"""

from __future__ import annotations

from typing import Any

from adapters._system import System
from adapters.alphaalpha import parse as _parse
from adapters.alphaalpha import render as _render
from adapters.alphaalpha import replies as _replies
from adapters.alphaalpha import wire as _wire
from adapters.alphaalpha.client import AlphaalphaClient
from adapters.alphaalpha.inbound import INBOUND
from adapters.alphaalpha.poll import POLL
from adapters.alphaalpha.simulator import AlphaalphaSimulator
from adapters.alphaalpha.spec import SPEC
from core.adapter import Rendered, SystemAdapter, plan_step
from core.errors import StateRequired
from core.mapping.tables import Mapping
from core.model import PoEvent


class AlphaAlphaAdapter(SystemAdapter):
    """A render is a plan of several calls: ``combine`` and ``to_wire`` write documents."""

    def combine(self, rendered: list[Rendered]) -> Any:
        """A one-call plan with a body is that body; any other plan is its list of steps."""
        docs = [_plan_document(r) for r in rendered]
        return docs[0] if len(docs) == 1 else docs

    def to_wire(self, event: PoEvent, mapping: Mapping | None = None) -> Any:
        """The AlphaAlpha document of ``event``: the full PO object; for an event read from a
        create/patch request or an action, that request's body.

        Without ``mapping`` only what the event holds in AlphaAlpha's own terms can be
        written (enough for a same-dialect round trip); other systems' POs need it.
        """
        if event.po is None:
            if event.source_system != self.system or event.action is None:
                raise StateRequired(self.system, event.po_number)
            json, form, text = _render.action_body(event)
            return form if form is not None else text if text is not None else json
        own = event.po.extensions.get(self.system)
        if own is None and mapping is None:
            raise TypeError("to_wire(event, mapping): a PO from another system needs the mapping")
        if own is not None and own.get("shape") == "request":
            return _wire.order_request(event.po, mapping)
        return _wire.po_object(event.po, mapping)


def _plan_document(rendered: Rendered) -> Any:
    if len(rendered.calls) == 1:
        call = rendered.calls[0]
        body = call.form if call.form is not None else call.json
        body = call.text if body is None else body
        if body is not None and call.refused is None:
            return body
    return [plan_step(c) for c in rendered.calls]


SYSTEM = System(
    AlphaAlphaAdapter(
        "alphaalpha", SPEC, parse=_parse.parse, render=_render.render, needs_full_po=True
    ),
    inbound=INBOUND,
    client=AlphaalphaClient,
    simulator=AlphaalphaSimulator,
    errors=_replies.error_reply,
    poll=POLL,
)
