"""Mapping files are read within limits (issue 11, item 9): a zone that does not exist, a
file of millions of scalars and a 20,000-deep flow are refused while parsing, with a
problem naming where, and the file watcher survives them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.mapping.loader import MAX_NODES, parse_mapping
from gateway import reload


def test_unknown_time_zone_is_refused_at_its_line() -> None:
    _, problems = parse_mapping("system: x\ntimezone: Not/AZone\n", "x.yaml")
    assert [(p.line, p.path) for p in problems] == [(2, "$.timezone")]
    assert "unknown time zone" in problems[0].message


def test_known_time_zone_is_accepted() -> None:
    mapping, problems = parse_mapping("system: x\ntimezone: America/Mexico_City\n", "x.yaml")
    assert problems == [] and mapping is not None


def test_too_many_scalars_are_refused_while_reading() -> None:
    text = "system: x\ndefaults:\n  l: [" + ",".join("1" for _ in range(MAX_NODES + 10)) + "]\n"
    _, problems = parse_mapping(text, "x.yaml")
    assert problems and f"more than {MAX_NODES} nodes" in problems[0].message


def test_a_very_deep_flow_is_a_problem_not_a_recursion_error() -> None:
    text = "system: x\ndefaults: {a: " + "[" * 20_000 + "]" * 20_000 + "}\n"
    _, problems = parse_mapping(text, "x.yaml")
    assert problems and "nested deeper" in problems[0].message


def test_watcher_survives_a_broken_file(tmp_path: Path) -> None:
    file = tmp_path / "leo.yaml"
    file.write_text("system: leo\ndefaults: {a: " + "[" * 20_000 + "]" * 20_000 + "}\n")
    asyncio.run(reload._reload(object(), file))  # type: ignore[arg-type]
