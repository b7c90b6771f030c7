"""template's wire document: ``{"poNumber", "status", "note"}``.

``poNumber`` and ``status`` are required; ``note`` may be left out or null. A key the
document does not name is refused at its path (``extra_forbidden``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictStr

from adapters._wire import PoNumber

NAME = "template"
PATH = "/status-updates"
"""The one endpoint, below the system's base URL (and below ``/inbound/template``)."""


class StatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    poNumber: PoNumber
    status: StrictStr
    note: StrictStr | None = None
