"""Small helpers the adapters share for reading and writing wire values."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr

from core.model import check_po_number
from core.numbers import OutOfRange, to_decimal, to_json_number


def _numeric_string(value: int | float | str) -> int | float | str:
    if isinstance(value, str):
        to_decimal(value)
    return value


def _loose(value: int | float | str) -> int | float | str:
    """Any string passes (a document's placeholder), but a number in it must be in range."""
    try:
        to_decimal(value)
    except OutOfRange:
        raise
    except ValueError:
        pass
    return value


Number = Annotated[StrictInt | StrictFloat | StrictStr, AfterValidator(_numeric_string)]
"""A JSON number, or a string holding one (documents that say number but send strings)."""

LooseNumber = Annotated[StrictInt | StrictFloat | StrictStr, AfterValidator(_loose)]
PoNumber = Annotated[StrictStr, AfterValidator(check_po_number)]
"""A PO number as a dialect sends it: the hub's one rule (``core.model.check_po_number``),
checked here too so that a refusal names the sender's own path."""


def _po_number_unless_blank(value: str) -> str:
    return value if not value.strip() else check_po_number(value)


PoNumberOwnBlankRule = Annotated[StrictStr, AfterValidator(_po_number_unless_blank)]
"""``PoNumber`` for a dialect whose rules refuse a blank number themselves, under their own
rule name (Leo ``not_blank``, EnKash ``required``)."""
"""A number or any string: where a document's own sample sends a non-numeric placeholder."""


class Wire(BaseModel):
    """Base of wire models: unknown fields are kept (and carried in extensions), not refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def dec(value: Any) -> Decimal | None:
    """A wire number to Decimal; a non-numeric placeholder string gives None."""
    try:
        return to_decimal(value)
    except OutOfRange:
        raise  # the border refuses these; reaching here is a bug, never a silent None
    except ValueError:
        return None


def num(value: Decimal | None, like: Any = None) -> Any:
    """Decimal back to the wire: as a string when it arrived as one, else a JSON number."""
    if isinstance(like, str):
        return like if value is None or dec(like) == value else str(value)
    return to_json_number(value)


def extras(model: BaseModel) -> dict[str, Any]:
    """Fields the sender added beyond the document; carried so nothing is dropped."""
    return dict(model.__pydantic_extra__ or {})
