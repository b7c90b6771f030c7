"""Mapping files are read within limits (issue 11, item 9): a zone that does not exist, a
file of millions of scalars and a 20,000-deep flow are refused while parsing, with a
problem naming where, and the file watcher survives them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.mapping.loader import MAX_ITEMS, MAX_NODES, MAX_TEXT, check_data, parse_mapping
from gateway.mappings import reload


def test_unknown_time_zone_is_refused_at_its_line() -> None:
    _, problems = parse_mapping("system: x\ntimezone: Not/AZone\n", "x.yaml")
    assert [(p.line, p.path) for p in problems] == [(2, "$.timezone")]
    assert "unknown time zone" in problems[0].message


def test_known_time_zone_is_accepted() -> None:
    mapping, problems = parse_mapping("system: x\ntimezone: America/Mexico_City\n", "x.yaml")
    assert problems == [] and mapping is not None


def test_too_many_scalars_are_refused_while_reading() -> None:
    lists = MAX_NODES // MAX_ITEMS + 1  # each list within MAX_ITEMS, all of them past MAX_NODES
    row = "[" + ",".join("1" for _ in range(MAX_ITEMS)) + "]"
    text = "system: x\ndefaults:\n" + "".join(f"  l{i}: {row}\n" for i in range(lists))
    _, problems = parse_mapping(text, "x.yaml")
    assert problems and f"more than {MAX_NODES} nodes" in problems[0].message


def test_a_list_or_table_past_max_items_is_refused_while_reading() -> None:
    text = "system: x\ndefaults:\n  l: [" + ",".join("1" for _ in range(MAX_ITEMS + 1)) + "]\n"
    _, problems = parse_mapping(text, "x.yaml")
    assert problems and f"more than {MAX_ITEMS} entries" in problems[0].message
    rows = "".join(f"    k{i}: v\n" for i in range(MAX_ITEMS + 1))
    _, problems = parse_mapping(f"system: x\ncrosswalks:\n  vendor:\n{rows}", "x.yaml")
    assert problems and f"more than {MAX_ITEMS} entries" in problems[0].message


def test_a_huge_value_is_refused_while_reading() -> None:
    _, problems = parse_mapping(f"system: x\ndescription: {'a' * (MAX_TEXT + 1)}\n", "x.yaml")
    assert problems and f"longer than {MAX_TEXT} characters" in problems[0].message


def test_parsed_data_obeys_the_same_rule() -> None:
    """A JSON draft (the mappings API) is held to the file's limits, naming the path."""
    too_long = check_data({"system": "x", "defaults": {"l": [0] * (MAX_ITEMS + 1)}}, "x")
    assert too_long and (too_long.path, too_long.message) == (
        "$.defaults.l", f"more than {MAX_ITEMS} entries")  # fmt: skip
    many = {f"l{i}": [0] * MAX_ITEMS for i in range(MAX_NODES // MAX_ITEMS + 1)}
    too_many = check_data({"defaults": many}, "x")
    assert too_many and f"more than {MAX_NODES} nodes" in too_many.message
    deep: object = "x"
    for _ in range(40):
        deep = [deep]
    too_deep = check_data({"defaults": {"a": deep}}, "x")
    assert too_deep and "nested deeper than 32 levels" in too_deep.message
    text = check_data({"description": "a" * (MAX_TEXT + 1)}, "x")
    assert text and text.path == "$.description" and "longer than" in text.message
    assert check_data({"system": "x", "crosswalks": {"vendor": {"a": "b"}}}, "x") is None


def test_a_very_deep_flow_is_a_problem_not_a_recursion_error() -> None:
    text = "system: x\ndefaults: {a: " + "[" * 20_000 + "]" * 20_000 + "}\n"
    _, problems = parse_mapping(text, "x.yaml")
    assert problems and "nested deeper" in problems[0].message


def test_watcher_survives_a_broken_file(tmp_path: Path) -> None:
    file = tmp_path / "leo.yaml"
    file.write_text("system: leo\ndefaults: {a: " + "[" * 20_000 + "]" * 20_000 + "}\n")
    asyncio.run(reload._reload(object(), file))  # type: ignore[arg-type]
