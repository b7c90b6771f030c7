"""Wire validation at one border: pydantic errors become ``InvalidInput`` with JSON paths."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError

from core.errors import FieldError, InvalidInput, json_path
from core.numbers import MAX_PLACES, OutOfRange, check_range

T = TypeVar("T", bound=BaseModel)

MAX_ERRORS = 50
MAX_NUMBER = 10**15
"""Every JSON number a sender may send is below this in absolute value (core.numbers)."""
MAX_STRING = 65_536
MAX_ITEMS = 10_000
MAX_DEPTH = 32


def field_errors(exc: ValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False)[:MAX_ERRORS]:
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        out.append(FieldError(json_path(loc), err["type"], err["msg"]))
    return out


def validate_json(model: type[T], body: bytes | str, system: str) -> T:
    """Parse and validate ``body`` against a wire model; a non-JSON body is ``$``/json_invalid.

    Before the model sees it, every value is checked against the border's bounds (finite
    numbers below 1e15, strings up to 64 KiB, arrays up to 10,000 items, 32 levels): a value
    out of them is refused here, naming its path, and never reaches code that could spend
    seconds on it or fail on it later as if the failure were temporary. An object that names
    a key twice is refused too (``duplicate_key``): parsers keep one of the two silently.
    """
    try:
        data = pydantic_core.from_json(body, allow_inf_nan=True)
    except ValueError:
        data = None  # not JSON: the model says so, with its usual error
    else:
        counts = [0, 0]
        if _within(data, 0, counts):  # the common case: no paths built
            errors = _duplicates(body, counts[0], counts[1])
        else:
            errors, keys, colons = _walk(data)
            if not errors:
                errors = _duplicates(body, keys, colons)
        if errors:
            raise InvalidInput(system, errors)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(system, field_errors(exc)) from None


def border_errors(body: bytes | str, data: Any) -> list[FieldError]:
    """``duplicate_keys(body, data) or out_of_bounds(data)``, in one walk without paths when
    the document is clean (the common case)."""
    counts = [0, 0]
    if _within(data, 0, counts):
        return _duplicates(body, counts[0], counts[1])
    return duplicate_keys(body, data) or out_of_bounds(data)


def out_of_bounds(data: Any) -> list[FieldError]:
    """Every value of a parsed JSON document outside the border's bounds (iterative walk)."""
    return _walk(data)[0]


def duplicate_keys(body: bytes | str, data: Any) -> list[FieldError]:
    """Each key an object of ``body`` names more than once; ``data`` is ``body`` parsed."""
    _, keys, colons = _walk(data)
    return _duplicates(body, keys, colons)


def _walk(data: Any) -> tuple[list[FieldError], int, int]:
    """The values out of bounds, the number of object keys, and the colons in keys and strings.

    The two counts make the duplicate-key check cheap (``_duplicates``); they are complete
    only when no error was found (the walk skips what is too deep or too long).
    """
    errors: list[FieldError] = []
    keys = colons = 0
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack and len(errors) < MAX_ERRORS:
        value, loc = stack.pop()
        if len(loc) > MAX_DEPTH:
            errors.append(FieldError(json_path(loc), "depth", f"nested deeper than {MAX_DEPTH}"))
            continue
        if isinstance(value, dict):
            keys += len(value)
            colons += "".join(value).count(":")
            stack.extend((v, (*loc, k)) for k, v in value.items())
        elif isinstance(value, list):
            if len(value) > MAX_ITEMS:
                errors.append(FieldError(json_path(loc), "array_length",
                                         f"more than {MAX_ITEMS} items"))  # fmt: skip
                continue
            stack.extend((v, (*loc, i)) for i, v in enumerate(value))
        elif isinstance(value, float):
            if not math.isfinite(value):
                errors.append(FieldError(json_path(loc), "finite_number",
                                         "NaN and infinite numbers are not allowed"))  # fmt: skip
            elif abs(value) >= MAX_NUMBER:
                errors.append(FieldError(json_path(loc), "number_range",
                                         f"{value:.6g} is out of range (|x| < 1e15)"))  # fmt: skip
            elif value != round(value, MAX_PLACES):  # the same rule as core.numbers
                errors.append(FieldError(json_path(loc), "number_places",
                                         f"{value!r} has more than {MAX_PLACES} decimal places"))  # fmt: skip
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -MAX_NUMBER < value < MAX_NUMBER:
                errors.append(FieldError(json_path(loc), "number_range",
                                         "integer out of range (|x| < 1e15)"))  # fmt: skip
        elif isinstance(value, str):
            if ":" in value:  # most have none: no method call for those
                colons += value.count(":")
            if len(value) > MAX_STRING:
                errors.append(FieldError(json_path(loc), "string_length",
                                         f"longer than {MAX_STRING} characters"))  # fmt: skip
    errors.sort(key=lambda e: e.path)
    return errors, keys, colons


def _within(value: Any, depth: int, counts: list[int]) -> bool:
    """Whether every value is within the border's bounds (``_walk``'s rules, no paths), and
    adds the object keys and the colons in keys and strings to ``counts``. False sends the
    document to ``_walk``, which names each offending path; recursion stops at MAX_DEPTH."""
    if depth > MAX_DEPTH:
        return False
    kind = type(value)
    if kind is str:
        if len(value) > MAX_STRING:
            return False
        if ":" in value:
            counts[1] += value.count(":")
        return True
    if kind is dict:
        counts[0] += len(value)
        counts[1] += "".join(value).count(":")
        depth += 1
        for item in value.values():  # noqa: SIM110 - a loop: all() over a generator costs 2x
            if not _within(item, depth, counts):
                return False
        return True
    if kind is list:
        if len(value) > MAX_ITEMS:
            return False
        depth += 1
        for item in value:  # noqa: SIM110
            if not _within(item, depth, counts):
                return False
        return True
    if kind is float:
        return math.isfinite(value) and abs(value) < MAX_NUMBER and value == round(
            value, MAX_PLACES)  # fmt: skip
    if kind is int:
        return bool(-MAX_NUMBER < value < MAX_NUMBER)
    return kind is bool or value is None  # anything else: let _walk decide


def _duplicates(body: bytes | str, keys: int, colons: int) -> list[FieldError]:
    """The keys named twice in one object, found cheaply.

    Every key of the text is followed by one ``:`` token, and a ``:`` appears nowhere else
    outside a string. So with no duplicates, the text's ``:`` count is exactly the parsed
    document's keys plus the colons inside its keys and strings (``_walk``); a duplicate
    adds a key (and maybe strings) the parsed document has dropped, so the count is higher.
    Only an escaped colon (``\\u003a``) breaks the equality, and only a mismatch or such an
    escape costs a second, exact parse that names the paths.
    """
    if isinstance(body, str):
        total, escaped = body.count(":"), "\\u003a" in body or "\\u003A" in body
    else:
        total, escaped = body.count(b":"), b"\\u003a" in body or b"\\u003A" in body
    if total == keys + colons and not escaped:
        return []
    return _duplicates_exact(body)


class _Pairs(list[tuple[str, Any]]):
    """An object as the parser read it: every key, in order, duplicates included."""


def _duplicates_exact(body: bytes | str) -> list[FieldError]:
    try:
        tree = json.loads(body, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        return []  # the fast parser read it: leave the verdict to the model
    errors: list[FieldError] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(tree, ())]
    while stack and len(errors) < MAX_ERRORS:
        value, loc = stack.pop()
        if isinstance(value, _Pairs):
            seen: set[str] = set()
            for k, v in value:
                if k in seen:
                    errors.append(FieldError(json_path((*loc, k)), "duplicate_key",
                                             f"duplicate key {k!r} in one object"))  # fmt: skip
                seen.add(k)
                stack.append((v, (*loc, k)))
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(value))
    errors.sort(key=lambda e: e.path)
    return errors


def decimals_out_of_range(value: object) -> list[FieldError]:
    """Every ``Decimal`` of a validated model outside the border's bounds (``check_range``),
    by the path of its field. For a dialect whose wire model is the canonical one: there a
    number may come as a numeric string (``"1e400"``), which the JSON walk of
    ``out_of_bounds`` does not see as a number."""
    errors: list[FieldError] = []
    stack: list[tuple[object, tuple[str | int, ...]]] = [(value, ())]
    while stack and len(errors) < MAX_ERRORS:
        node, loc = stack.pop()
        if isinstance(node, Decimal):
            try:
                check_range(node)
            except OutOfRange as exc:
                errors.append(FieldError(json_path(loc), "value_error", str(exc)))
        elif isinstance(node, BaseModel):
            # a model's fields are its __dict__ (getattr per declared field cost twice as much)
            stack.extend((v, (*loc, k)) for k, v in node.__dict__.items())
        elif isinstance(node, dict):
            stack.extend((v, (*loc, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(node))
    errors.sort(key=lambda e: e.path)
    return errors


def validate_obj(model: type[T], data: object, system: str) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(system, field_errors(exc)) from None
