"""YAML with line numbers, safely: no tags, no aliases, bounded size.

``check-config`` names each problem with file, line and path, so the loader records the line
of every key while it builds plain Python data. Aliases are refused outright: mapping files
never need them, and they are how YAML bombs multiply.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import ConfigProblem, json_path
from core.mapping.schema import MappingFile, MappingSpec
from core.mapping.tables import Mapping
from core.mapping.values import check_values

MAX_BYTES = 5_000_000
MAX_NODES = 500_000
MAX_DEPTH = 32
"""A mapping file is at most five levels deep; anything far deeper is an attack on the parser."""
MAX_ITEMS = 100_000
"""Entries in one object or list: the schema's row cap of one crosswalk table."""
MAX_TEXT = 65_536
"""Characters in one key or value (the schema allows 1,024 for a value; descriptions are free
text, but not megabytes of it)."""

# The same shape rule holds for a file (``_check_shape``, while libyaml streams it) and for a
# draft sent to the mappings API as JSON (``check_data``, before the schema sees it).

_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}

Lines = dict[tuple[str | int, ...], int]


class YamlProblem(ValueError):
    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        super().__init__(message)


def load_yaml(text: str) -> tuple[Any, Lines]:
    """Parse YAML text into data plus the 1-based line of every path."""
    if len(text) > MAX_BYTES:
        raise YamlProblem(None, f"file is larger than {MAX_BYTES} bytes")
    _check_shape(text)
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise YamlProblem(mark.line + 1 if mark else None, f"not valid YAML: {exc}") from None
    lines: Lines = {}
    if node is None:
        return {}, lines
    builder = _Builder(lines)
    return builder.build(node, ()), lines


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_shape(text: str) -> None:
    """Count nodes, depth, entries and text from the event stream (libyaml, streaming) before
    anything is composed: a file over a limit is refused while it is being read, not after a
    tree of millions of nodes was built (or a recursion limit was hit)."""
    nodes = 0
    open_: list[list[int]] = []  # per open collection: [child nodes, child nodes allowed]
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise YamlProblem(_line(event), f"more than {MAX_NODES} nodes")
                if open_:
                    open_[-1][0] += 1
                    if open_[-1][0] > open_[-1][1]:
                        raise YamlProblem(_line(event), f"more than {MAX_ITEMS} entries")
            if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_TEXT:
                raise YamlProblem(_line(event), f"a value longer than {MAX_TEXT} characters")
            if isinstance(event, yaml.CollectionStartEvent):
                pairs = isinstance(event, yaml.MappingStartEvent)
                open_.append([0, MAX_ITEMS * (2 if pairs else 1)])
                if len(open_) > MAX_DEPTH:
                    raise YamlProblem(_line(event), f"nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                open_.pop()
            if isinstance(event, yaml.AliasEvent):
                raise YamlProblem(_line(event), "aliases (&/*) are not allowed")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise YamlProblem(mark.line + 1 if mark else None, f"not valid YAML: {exc}") from None


def check_data(data: Any, file: str) -> ConfigProblem | None:
    """``_check_shape`` for data already parsed (a JSON draft): the first limit ``data``
    breaks, naming its path, or None. Iterative, and stops at the first problem, so a
    million-item list costs one pass over the list, never its validation. Scalars are
    checked in place and paths are built only for a problem (100,000 rows: ~0.05 s)."""
    nodes = 1
    # (collection, depth, parent entry, key in parent): the parent chain spells the path
    stack: list[tuple[Any, int, Any, Any]] = [(data, 1, None, None)]
    while stack:
        entry = stack.pop()
        value, depth = entry[0], entry[1]
        if not isinstance(value, (dict, list)):
            if isinstance(value, str) and len(value) > MAX_TEXT:
                return _problem(file, entry, f"a value longer than {MAX_TEXT} characters")
            continue
        if depth > MAX_DEPTH:
            return _problem(file, entry, f"nested deeper than {MAX_DEPTH} levels")
        if len(value) > MAX_ITEMS:
            return _problem(file, entry, f"more than {MAX_ITEMS} entries")
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        nodes += 2 * len(value) if isinstance(value, dict) else len(value)
        if nodes > MAX_NODES:
            return _problem(file, entry, f"more than {MAX_NODES} nodes")
        for key, item in pairs:
            if isinstance(key, str) and len(key) > MAX_TEXT:
                return _problem(file, entry, f"a key longer than {MAX_TEXT} characters")
            if isinstance(item, str):
                if len(item) > MAX_TEXT:
                    message = f"a value longer than {MAX_TEXT} characters"
                    return _problem(file, (item, depth + 1, entry, key), message)
            elif isinstance(item, (dict, list)):
                stack.append((item, depth + 1, entry, key))
    return None


def _problem(file: str, entry: Any, message: str) -> ConfigProblem:
    loc: list[str | int] = []
    while entry is not None and entry[2] is not None:
        key = entry[3]
        loc.append(key if isinstance(key, int) else str(key))
        entry = entry[2]
    return ConfigProblem(file, None, json_path(tuple(reversed(loc))), message, "limit")


def _line(event: yaml.Event) -> int | None:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else None


class _Builder:
    def __init__(self, lines: Lines) -> None:
        self.lines = lines
        self.seen: set[int] = set()
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:
        if id(node) in self.seen:
            raise YamlProblem(node.start_mark.line + 1, "aliases (&/*) are not allowed")
        self.seen.add(id(node))
        if len(self.seen) > MAX_NODES:
            raise YamlProblem(node.start_mark.line + 1, "too many nodes")
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"))
                if key in out:
                    raise YamlProblem(key_node.start_mark.line + 1, f"duplicate key {key!r}")
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag in _PLAIN_TAGS:
            return self.constructor.construct_object(node, deep=True)
        raise YamlProblem(node.start_mark.line + 1, f"tag {node.tag} is not allowed")


def line_of(lines: Lines, loc: tuple[str | int, ...]) -> int | None:
    """The line of the deepest known prefix of ``loc``."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def problems_from(
    exc: ValidationError, file: str, lines: Lines, prefix: tuple[str | int, ...] = ()
) -> list[ConfigProblem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *err["loc"])
        out.append(
            ConfigProblem(file, line_of(lines, loc), json_path(loc), err["msg"], err["type"])
        )
    return out


def parse_mapping(
    text: str, file: str, spec: MappingSpec | None = None, expect_system: str | None = None
) -> tuple[Mapping | None, list[ConfigProblem]]:
    """Validate one mapping file; returns the mapping (if usable) and every problem found."""
    try:
        data, lines = load_yaml(text)
    except YamlProblem as exc:
        return None, [ConfigProblem(file, exc.line, "$", str(exc))]
    return mapping_from_data(data, file, spec, expect_system, lines)


def mapping_from_data(
    data: Any, file: str, spec: MappingSpec | None = None, expect_system: str | None = None,
    lines: Lines | None = None,
) -> tuple[Mapping | None, list[ConfigProblem]]:  # fmt: skip
    """``parse_mapping`` after the YAML: the schema and the adapter's spec. Callers holding
    parsed data (the mappings API) run ``check_data`` first; ``lines`` name file lines."""
    lines = lines if lines is not None else {}
    try:
        mapping_file = MappingFile.model_validate(data)
    except ValidationError as exc:
        problems = problems_from(exc, file, lines)
        defaults = data.get("defaults") if isinstance(data, dict) else None
        if spec is not None and spec.defaults is not None and isinstance(defaults, dict):
            problems += _check_defaults_data(spec.defaults, defaults, file, lines)
        return None, problems
    problems = _check_spec(mapping_file, spec, file, lines)
    if expect_system and mapping_file.system != expect_system:
        problems.append(
            ConfigProblem(
                file,
                line_of(lines, ("system",)),
                "$.system",
                f"says {mapping_file.system!r} but the file is for {expect_system!r}",
                "system",
            )
        )
    return (None if problems else Mapping(mapping_file, spec=spec)), problems


def _check_spec(
    file_model: MappingFile, spec: MappingSpec | None, file: str, lines: Lines
) -> list[ConfigProblem]:
    if spec is None:
        return []
    problems = []
    for table in file_model.crosswalks:
        if table not in spec.crosswalks:
            known = ", ".join(sorted(spec.crosswalks)) or "none"
            problems.append(
                ConfigProblem(
                    file,
                    line_of(lines, ("crosswalks", table)),
                    f"$.crosswalks.{table}",
                    f"unknown crosswalk table (this system reads: {known})",
                    "known_table",
                )
            )
    for table, table_spec in spec.crosswalks.items():
        if table_spec.required and table not in file_model.crosswalks:
            problems.append(
                ConfigProblem(
                    file,
                    line_of(lines, ("crosswalks",)),
                    f"$.crosswalks.{table}",
                    f"required table is missing: {table_spec.description}",
                    "required",
                )
            )
    if spec.defaults is not None:
        problems.extend(_check_defaults(spec.defaults, file_model, file, lines))
    problems.extend(check_values(file_model, spec, file, lines))
    return problems


def notes(mapping: Mapping) -> list[str]:
    """What ``check-config`` explains without refusing: many-to-one crosswalks and how their
    shared ids read back (through ``reverse.<table>``, else as no hub key)."""
    out = []
    for table in mapping.file.crosswalks:
        shared = mapping.shared_values(table)
        if not shared:
            continue
        explicit = mapping.file.reverse.get(table)
        for value, keys in sorted(shared.items()):
            if explicit is not None and value in explicit:
                how = f"reads back as {explicit[value]!r} (reverse.{table})"
            else:
                how = f"reads back as no hub key: add reverse.{table}.{value} to choose one"
            out.append(
                f"{mapping.system}: crosswalks.{table}: {', '.join(map(repr, keys))} all write "
                f"{value!r}; inbound, {value!r} {how}"
            )
    return out


def _check_defaults(
    model: type[BaseModel], file_model: MappingFile, file: str, lines: Lines
) -> list[ConfigProblem]:
    return _check_defaults_data(model, file_model.defaults, file, lines)


def _check_defaults_data(
    model: type[BaseModel], defaults: dict[str, Any], file: str, lines: Lines
) -> list[ConfigProblem]:
    try:
        model.model_validate(defaults)
    except ValidationError as exc:
        return problems_from(exc, file, lines, ("defaults",))
    return []
