"""Leo's ``processAsync`` PO interface status update, as its document describes it.

The document (leo-order-processAsync.txt, "Data Elements") types every field as a string
and ``lineInfo`` / ``scheduleInfo`` as arrays, but marks no field required. The hub needs
``documentNumber`` to know which PO changed, and a line or schedule entry needs its number
to say which one changed; everything else may be absent or null, the document ``status``
included (an update of line or schedule statuses only).
Types stay strict: a number where the document says string is refused, not coerced.
"""

from __future__ import annotations

from pydantic import StrictStr

from adapters._wire import PoNumberOwnBlankRule, Wire
from core.mapping.schema import StatusCodes

SYSTEM = "leo"
PATH = "/leo-order-domaingateway-api/api/v2/Order/processAsync"

STATUS_CODES = StatusCodes(
    codes=(),
    levels=("document", "line", "schedule"),
    source="Leo's document: status, lineInfo[].status and scheduleInfo[].status are strings; "
    'it lists no codes (its sample sends "string")',
)
"""Leo's document names no status code at any level: open, nothing to choose from but the
codes the live mapping already uses."""

HEADER_EVENT = "event"
"""Request header "Represents the command" (document, Request Headers)."""
HEADER_SUBTYPE = "subtypeAppId"
"""The spelling of the sample curl; the one the hub writes."""
HEADER_SUBTYPE_TABLE = "subtypeApplId"
"""The spelling of the Request Headers table; accepted on parse."""


class ScheduleInfo(Wire):
    """``lineInfo[].scheduleInfo[]``: one delivery schedule of a line and its status."""

    scheduleNumber: StrictStr
    status: StrictStr | None = None


class LineInfo(Wire):
    """``lineInfo[]``: one line and its status; ``status`` may be left out when only the
    line's schedules change."""

    lineNumber: StrictStr
    status: StrictStr | None = None
    scheduleInfo: list[ScheduleInfo] | None = None


class ProcessAsync(Wire):
    """``POST {base}/leo-order-domaingateway-api/api/v2/Order/processAsync`` body."""

    documentNumber: PoNumberOwnBlankRule
    lob: StrictStr | None = None
    status: StrictStr | None = None
    errorMessage: StrictStr | None = None
    erpNumber: StrictStr | None = None
    subType: StrictStr | None = None
    lineInfo: list[LineInfo] | None = None


BODY_FIELDS = tuple(ProcessAsync.model_fields)
LINE_FIELDS = tuple(LineInfo.model_fields)
SCHEDULE_FIELDS = tuple(ScheduleInfo.model_fields)
