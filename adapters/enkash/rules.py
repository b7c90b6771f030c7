"""The EnKash document's rules beyond types.

The document's only rule beyond the JSON types is *required*. Pydantic enforces presence;
for the identifying strings a present-but-blank value is just as missing (``""`` names no
party, no PO and no status), so they are refused here under the rule ``required``.
``buyerAction`` and ``buyerRemarks`` may be empty: they are free text, and the hub writes
``""`` when a PO change carries no remarks.
"""

from __future__ import annotations

from adapters.enkash.schema import SYSTEM, StatusChangeRequest
from core.errors import FieldError, InvalidInput


def check(wire: StatusChangeRequest) -> None:
    """Raise ``InvalidInput`` listing every blank identifier, with its JSON path."""
    status = wire.poStatus
    values = (
        ("$.b2bIds.buyerB2BId", wire.b2bIds.buyerB2BId),
        ("$.b2bIds.supplierB2BId", wire.b2bIds.supplierB2BId),
        ("$.poStatus.objectId", status.objectId),
        ("$.poStatus.buyerPONumber", status.buyerPONumber),
        ("$.poStatus.poStatusTransition.currentStatus", status.poStatusTransition.currentStatus),
        ("$.poStatus.poStatusTransition.newStatus", status.poStatusTransition.newStatus),
    )
    errors = [
        FieldError(path, "required", "the document requires a value; it is blank")
        for path, value in values
        if not value.strip()
    ]
    if errors:
        raise InvalidInput(SYSTEM, errors)
