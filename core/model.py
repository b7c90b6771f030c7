"""The canonical purchase order: the one shape every dialect is read into and written from.

Money and quantities are ``Decimal`` so that a round trip never changes a price. Dates are
timezone-aware. Anything a vendor document carries that has no home here rides along in
``extensions[system]`` so that a same-dialect round trip is lossless.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

Extensions = dict[str, dict[str, Any]]
"""Per-system bag: ``{"uniware": {"batchGroupCode": None, ...}}``."""

PO_NUMBER_MAX = 128
PO_NUMBER_FORBIDDEN = "/?#"
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def check_po_number(value: str) -> str:
    """The hub's rule for a PO number, whoever sent it (README, "PO numbers").

    1 to 128 characters, not only whitespace, no control or invisible format characters,
    and none of ``/ ? #``: the number names the PO in URL paths (AlphaAlpha's
    ``/purchase-orders/{id}``, the hub's own ``/api/v1/purchase-orders/{po_number}``), in
    store keys and in logs. None of the vendor documents gives a length or a character set.
    """
    if len(value) > PO_NUMBER_MAX:
        raise PydanticCustomError(
            "po_number", "a PO number is at most {max} characters, not {n}",
            {"max": PO_NUMBER_MAX, "n": len(value)},
        )  # fmt: skip
    if not value.strip():
        raise PydanticCustomError("po_number", "a PO number cannot be empty or only whitespace")
    for ch in PO_NUMBER_FORBIDDEN:
        if ch in value:
            raise PydanticCustomError(
                "po_number", "a PO number cannot contain '{char}' (it names the PO in URL paths)",
                {"char": ch},
            )  # fmt: skip
    if not value.isprintable():  # cheap for the usual number; only then per character
        for ch in value:
            if unicodedata.category(ch) in _INVISIBLE:
                raise PydanticCustomError(
                    "po_number", "a PO number cannot contain the control or format character {code}",
                    {"code": f"U+{ord(ch):04X}"},
                )  # fmt: skip
    return value


PoNumber = Annotated[str, AfterValidator(check_po_number)]
"""A PO number, checked at the border by ``check_po_number``."""


class PoStatus(StrEnum):
    """The hub's own status vocabulary; each mapping file crosswalks it to a system's codes."""

    DRAFT = "DRAFT"
    CREATED = "CREATED"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    SENT = "SENT"
    CONFIRMED = "CONFIRMED"
    IN_PROGRESS = "IN_PROGRESS"
    PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
    RECEIVED = "RECEIVED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"
    ERROR = "ERROR"


class EventKind(StrEnum):
    """What happened to the PO."""

    CREATED = "created"
    APPROVED = "approved"
    UPDATED = "updated"
    STATUS_CHANGED = "status_changed"
    AMENDED = "amended"
    """A new PO that replaces an earlier one (``PurchaseOrder.amended_po_number``)."""
    GOODS_RECEIVED = "goods_received"
    """Goods arrived against the PO's lines (``PoEvent.receipts``)."""
    COMMENTED = "commented"
    """Only remarks or an error message, no change to the PO (AlphaAlpha ``comment``)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class CustomField(_Model):
    """A free name/value pair (Uniware custom fields, EnKash additionalInfos)."""

    name: str | None = None
    value: str | None = None


class Party(_Model):
    """A buyer or supplier. ``code`` is the hub's key; ``ids`` holds each system's own id."""

    code: str | None = None
    name: str | None = None
    email: str | None = None
    ids: dict[str, str] = Field(default_factory=dict)


class Taxes(_Model):
    """Indian GST split plus a generic tax amount and percentage."""

    cgst: Decimal | None = None
    sgst: Decimal | None = None
    igst: Decimal | None = None
    utgst: Decimal | None = None
    tax: Decimal | None = None
    tax_percent: Decimal | None = None


class Schedule(_Model):
    """A delivery schedule of a line, with its own status (Leo scheduleInfo)."""

    number: str
    status: PoStatus | None = None
    source_status: str | None = None
    extensions: Extensions = Field(default_factory=dict)


class Line(_Model):
    """One PO position."""

    line_number: str
    sku: str | None = None
    vendor_sku: str | None = None
    product_name: str | None = None
    product_group: str | None = None
    product_ids: dict[str, str] = Field(default_factory=dict)
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    mrp: Decimal | None = None
    discount: Decimal | None = None
    discount_percent: Decimal | None = None
    taxes: Taxes = Field(default_factory=Taxes)
    logistic_charges: Decimal | None = None
    total: Decimal | None = None
    net_unit_price: Decimal | None = None
    """Unit price after line discount and logistic charges, as a system stated it
    (AppliQloud ``netUnitPrice``); ``unit_price`` is the gross price before them."""
    accepted_quantity: Decimal | None = None
    """Received and accepted so far (cumulative over every receipt)."""
    rejected_quantity: Decimal | None = None
    """Received and rejected so far (cumulative)."""
    item_type: str | None = None
    ascription: str | None = None
    location: str | None = None
    storage: str | None = None
    required_delivery_date: AwareDatetime | None = None
    status: PoStatus | None = None
    source_status: str | None = None
    schedules: list[Schedule] = Field(default_factory=list)
    custom_fields: list[CustomField] = Field(default_factory=list)
    extensions: Extensions = Field(default_factory=dict)


class PurchaseOrder(_Model):
    """The hub's full view of one PO."""

    po_number: PoNumber
    po_type: str | None = None
    buyer: Party = Field(default_factory=Party)
    supplier: Party = Field(default_factory=Party)
    created_at: AwareDatetime | None = None
    created_by: str | None = None
    updated_at: AwareDatetime | None = None
    delivery_date: AwareDatetime | None = None
    expiry_date: AwareDatetime | None = None
    currency: str | None = None
    total: Decimal | None = None
    status: PoStatus | None = None
    source_status: str | None = None
    version: int = 1
    amended_po_number: PoNumber | None = None
    amendment_po_number: PoNumber | None = None
    remote_ids: dict[str, str] = Field(default_factory=dict)
    custom_fields: list[CustomField] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    extensions: Extensions = Field(default_factory=dict)

    def line(self, number: str) -> Line | None:
        for line in self.lines:
            if line.line_number == number:
                return line
        return None


class ScheduleStatus(_Model):
    """A schedule's new status inside a status-only event."""

    number: str
    status: PoStatus | None = None
    source_status: str | None = None
    path: str | None = None
    """Where the sender named it (``$.lineInfo[0].scheduleInfo[1]``), for errors."""


class LineStatus(_Model):
    """A line's new status inside a status-only event."""

    line_number: str
    status: PoStatus | None = None
    source_status: str | None = None
    schedules: list[ScheduleStatus] = Field(default_factory=list)
    path: str | None = None
    """Where the sender named the line (``$.lineInfo[2]``): an unknown line is refused there."""


class LineReceipt(_Model):
    """What one receipt brought for one line: this delivery's quantities, not totals."""

    line_number: str = ""
    """Empty when the sender named a product, not a line (``product_id`` / ``sku``):
    ``core.state.resolve_receipts`` fills it from the PO's line carrying that product."""
    product_id: str | None = None
    """The sender's own product id (AlphaAlpha ``productId``), matched against
    ``Line.product_ids[source]`` when no line number is given."""
    sku: str | None = None
    """The hub SKU the sender's product id reads back to, matched against ``Line.sku``."""
    accepted: Decimal = Decimal(0)
    rejected: Decimal = Decimal(0)
    unit: str | None = None
    path: str | None = None
    """Where the sender named the line, for errors."""


class StatusChange(_Model):
    """What a status-only dialect (Leo, EnKash, AlphaAlpha actions) says happened.

    ``source_*`` keep the sender's raw codes so an unmapped code can be reported by name
    when a target needs it, instead of being dropped at parse time.
    """

    from_status: PoStatus | None = None
    to_status: PoStatus | None = None
    source_from_status: str | None = None
    source_to_status: str | None = None
    from_version: int | None = None
    to_version: int | None = None
    lines: list[LineStatus] = Field(default_factory=list)


class PoEvent(_Model):
    """One thing that happened to a PO, as one system told it.

    Full-document dialects fill ``po``; status-only dialects fill ``status_change`` and the
    hub supplies the rest from the PO's stored state.
    """

    kind: EventKind
    po_number: PoNumber
    source_system: str
    occurred_at: AwareDatetime | None = None
    po: PurchaseOrder | None = None
    status_change: StatusChange | None = None
    remote_ids: dict[str, str] = Field(default_factory=dict)
    """Ids the sender revealed for this PO in some system (EnKash objectId, Leo erpNumber)."""
    action: str | None = None
    remarks: str | None = None
    error_message: str | None = None
    receipts: list[LineReceipt] = Field(default_factory=list)
    """Goods received by this event (``GOODS_RECEIVED``), added to the lines' totals."""
    extensions: Extensions = Field(default_factory=dict)


def utc_now() -> datetime:
    return datetime.now(UTC)  # UTC imported once: an import per call cost 3x the call


__all__ = [
    "PO_NUMBER_MAX",
    "CustomField",
    "EventKind",
    "Extensions",
    "Line",
    "LineReceipt",
    "LineStatus",
    "Party",
    "PoEvent",
    "PoNumber",
    "PoStatus",
    "PurchaseOrder",
    "Schedule",
    "ScheduleStatus",
    "StatusChange",
    "Taxes",
    "check_po_number",
    "utc_now",
]
