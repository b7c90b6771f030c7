"""Mapping files: schema, lookups and the safety of the YAML loader."""

from __future__ import annotations

import pytest

from core.errors import MappingMissing
from core.mapping.loader import parse_mapping
from core.mapping.schema import MappingFile
from core.model import PoStatus
from tests import support


def test_every_shipped_mapping_is_valid() -> None:
    assert set(support.mappings()) == set(support.systems())


def test_every_schema_field_has_a_description() -> None:
    def walk(schema: dict, defs: dict) -> None:
        for name, prop in schema.get("properties", {}).items():
            assert prop.get("description"), name
        for sub in defs.values():
            for name, prop in sub.get("properties", {}).items():
                assert prop.get("description"), f"{sub.get('title')}.{name}"

    schema = MappingFile.model_json_schema()
    walk(schema, schema.get("$defs", {}))


def test_missing_crosswalk_row_names_table_and_key() -> None:
    mapping, _ = parse_mapping("system: x\ncrosswalks: {vendor: {A: '1'}}\n", "x.yaml")
    assert mapping is not None
    assert mapping.lookup("vendor", "A") == "1"
    with pytest.raises(MappingMissing) as exc:
        mapping.lookup("vendor", "B", "$.vendorCode")
    assert (exc.value.table, exc.value.key, exc.value.path) == (
        "crosswalks.vendor",
        "B",
        "$.vendorCode",
    )
    with pytest.raises(MappingMissing):
        mapping.status_out(PoStatus.APPROVED)
    assert mapping.reverse("vendor", "1") == "A"
    assert mapping.reverse("vendor", "2") is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("system: !!python/object:os.system x\n", "tag"),
        ("system: x\nsystem: y\n", "duplicate key"),
        ("system: [unclosed\n", "not valid YAML"),
        ("system: x\nunknown: 1\n", "Extra inputs"),
        ("system: x\nstatuses: {document: {NOT_A_STATUS: X}}\n", "NOT_A_STATUS"),
    ],
)
def test_bad_mapping_files_are_refused_with_line(text: str, needle: str) -> None:
    mapping, problems = parse_mapping(text, "m.yaml")
    assert mapping is None
    assert any(needle in str(p) for p in problems), problems
    assert all(p.line for p in problems if "larger" not in str(p))


def test_yaml_bomb_is_refused() -> None:
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(9)
    )
    mapping, problems = parse_mapping(bomb, "bomb.yaml")
    assert mapping is None and "aliases" in str(problems[0])


def test_many_to_one_crosswalk_is_accepted_and_explained() -> None:
    """Two SKUs in one product group (issue 10): accepted; check-config explains the read-back."""
    from core.mapping.loader import notes
    from core.mapping.schema import CrosswalkSpec, MappingSpec

    spec = MappingSpec(crosswalks={"vendor": CrosswalkSpec(description="v")})
    mapping, problems = parse_mapping(
        "system: x\ncrosswalks: {vendor: {A: '1', B: '1', C: '2'}}\n", "x.yaml", spec
    )
    assert problems == [] and mapping is not None
    assert mapping.reverse("vendor", "1") is None  # shared: no guess
    assert mapping.reverse("vendor", "2") == "C"
    (note,) = notes(mapping)
    assert "'A', 'B' all write '1'" in note and "reverse.vendor" in note
    _, problems = parse_mapping("system: x\ncrosswalks: {other: {A: '1'}}\n", "x.yaml", spec)
    assert problems and "unknown crosswalk table" in str(problems[0])
