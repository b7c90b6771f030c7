"""AppliQloud's rules beyond types (appliqloud-purchase-orders-update.txt, PurchaseOrderItem).

- "The ascriptionType value INVENTORY is only allowed when itemType value is GOODS. itemTypes
  with value SERVICE must have an ascriptionType value of EXPENSE." With two values per enum
  both sentences forbid the same pair, SERVICE + INVENTORY: one rule,
  ``inventory_requires_goods``.
- "The locationId field is optional unless the itemType field is INVENTORY, then it is
  required." INVENTORY is an ascriptionType value, not an itemType one, so the literal reading
  can never apply; both readings are honoured by requiring ``locationId`` when
  ``ascriptionType`` is INVENTORY (rule ``location_required``).
- ``requiredDeliveryDate`` is "string | null"; the example sends ``2024-07-22``, so a string
  must be a ``YYYY-MM-DD`` date (rule ``date_format``).
- The lines come as ``items`` (example) or ``details`` (table): one of them is required
  (``missing``), not both (``items_or_details``).

Not checked: that the product belongs to the product group, and that ids match AppliQloud's
external mappings; only AppliQloud's master data can tell.
"""

from __future__ import annotations

from datetime import date

from adapters.appliqloud.schema import SYSTEM, PurchaseOrderInput, PurchaseOrderItem, UpdateRequest
from core.errors import FieldError, InvalidInput


def check(wire: UpdateRequest) -> None:
    """Raise ``InvalidInput`` listing every broken rule of every PO in the bulk."""
    errors: list[FieldError] = []
    for i, po in enumerate(wire.inputs):
        path = f"$.inputs[{i}]"
        _lines_once(errors, path, po)
        for j, item in enumerate(po.lines):
            _item(errors, f"{path}.{po.lines_key}[{j}]", item)
    if errors:
        raise InvalidInput(SYSTEM, errors)


def _lines_once(errors: list[FieldError], path: str, po: PurchaseOrderInput) -> None:
    sent = po.model_fields_set
    if "items" in sent and "details" in sent:
        errors.append(
            FieldError(
                f"{path}.details", "items_or_details", "send the lines once: items or details"
            )
        )
    elif po.items is None and po.details is None:
        errors.append(
            FieldError(f"{path}.items", "missing", "Field required (items, or details as tabled)")
        )


def _item(errors: list[FieldError], path: str, item: PurchaseOrderItem) -> None:
    inventory = item.ascriptionType == "INVENTORY"
    if inventory and item.itemType != "GOODS":
        errors.append(
            FieldError(
                f"{path}.ascriptionType",
                "inventory_requires_goods",
                "INVENTORY is only allowed with itemType GOODS; SERVICE must be EXPENSE",
            )
        )
    if inventory and not item.locationId:
        errors.append(
            FieldError(f"{path}.locationId", "location_required", "required for INVENTORY lines")
        )
    when = item.requiredDeliveryDate
    if when is not None and not is_date(when):
        errors.append(
            FieldError(
                f"{path}.requiredDeliveryDate", "date_format", f"expected YYYY-MM-DD: {when!r}"
            )
        )


def is_date(text: str) -> bool:
    """``YYYY-MM-DD`` exactly: ``fromisoformat`` alone also takes ``20240722``, which a round
    trip would not write back."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
