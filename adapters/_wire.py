"""Small helpers the adapters share for reading and writing wire values."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr

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
