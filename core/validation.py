"""Wire validation at one border: pydantic errors become ``InvalidInput`` with JSON paths."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import FieldError, InvalidInput, json_path

T = TypeVar("T", bound=BaseModel)

MAX_ERRORS = 50


def field_errors(exc: ValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False)[:MAX_ERRORS]:
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        out.append(FieldError(json_path(loc), err["type"], err["msg"]))
    return out


def validate_json(model: type[T], body: bytes | str, system: str) -> T:
    """Parse and validate ``body`` against a wire model; a non-JSON body is ``$``/json_invalid."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(system, field_errors(exc)) from None


def validate_obj(model: type[T], data: object, system: str) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(system, field_errors(exc)) from None
