"""Bad input, generated over every adapter's samples: each mutation names its JSON path.

Mutations are derived in code from the document samples (no hand-copied variants): a
non-JSON body, each key removed, each scalar given the wrong type. A new adapter folder is
covered without editing this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from core.errors import InvalidInput, json_path
from tests import support

SAMPLES = [(s, p) for s, p in support.all_samples()]
Loc = tuple[str | int, ...]


def _id(value: object) -> str:
    return value.name if isinstance(value, Path) else str(value)


def leaves(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*loc, i))
    else:
        yield loc, value


def with_value(doc: Any, loc: Loc, value: Any) -> Any:
    """A copy of ``doc`` with the value at ``loc`` replaced (the golden-file variant idea)."""
    doc = orjson.loads(orjson.dumps(doc))
    target = doc
    for part in loc[:-1]:
        target = target[part]
    target[loc[-1]] = value
    return doc


def without(doc: Any, loc: Loc) -> Any:
    doc = orjson.loads(orjson.dumps(doc))
    target = doc
    for part in loc[:-1]:
        target = target[part]
    del target[loc[-1]]
    return doc


def _parse(system: str, doc: Any, sample: Path) -> None:
    support.parse(system, orjson.dumps(doc), support.headers_for(sample))


@pytest.mark.parametrize(("system", "sample"), SAMPLES, ids=_id)
@pytest.mark.parametrize("body", [b"", b"{not json", b"[1, 2", "\u00e9".encode("latin-1")])
def test_non_json_body_is_invalid_at_root(system: str, sample: Path, body: bytes) -> None:
    with pytest.raises(InvalidInput) as exc:
        support.parse(system, body, support.headers_for(sample))
    assert exc.value.first.path == "$"
    assert exc.value.first.rule


@pytest.mark.parametrize(("system", "sample"), SAMPLES, ids=_id)
def test_wrong_type_names_the_field(system: str, sample: Path) -> None:
    """Every scalar of the sample replaced by an object is refused at exactly that path."""
    doc = orjson.loads(sample.read_bytes())
    checked = 0
    for loc, value in leaves(doc):
        if value is None or not loc:
            continue
        with pytest.raises(InvalidInput) as exc:
            _parse(system, with_value(doc, loc, {"unexpected": [1]}), sample)
        paths = [e.path for e in exc.value.errors]
        assert any(p.startswith(json_path(loc)) for p in paths), (loc, paths)
        checked += 1
    assert checked


@pytest.mark.parametrize(("system", "sample"), SAMPLES, ids=_id)
def test_missing_required_field_names_it(system: str, sample: Path) -> None:
    """Removing a key is either fine (optional) or refused naming that key as 'missing'."""
    doc = orjson.loads(sample.read_bytes())
    refused = 0
    for loc, _ in leaves(doc):
        if not loc or isinstance(loc[-1], int):
            continue
        try:
            _parse(system, without(doc, loc), sample)
        except InvalidInput as exc:
            assert any(e.path == json_path(loc) for e in exc.errors), (loc, exc.errors)
            refused += 1
    assert refused or system == "canonical", "no field of the sample is required?"
