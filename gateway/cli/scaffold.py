"""``pohub new-adapter NAME``: the skeleton of a new system, from ``adapters/_template/``.

The template is a real, working system (a JSON status update dialect), type-checked and
linted with the rest of the code; the registry skips it because its folder starts with
``_``. Scaffolding copies it to ``adapters/<name>/`` with the name put in, writes
``mappings/<name>.yaml`` and adds the ``config.yaml`` entry: the three places a system
lives (issue 13), and nothing else is touched.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE = "_template"
SCAFFOLD = "_scaffold"
"""Inside the template: the mapping and the config entry, written outside the folder."""
NAME_RULE = re.compile(r"^[a-z][a-z0-9]{1,30}$")
SKIPPED = ("__pycache__", SCAFFOLD)


class ScaffoldError(Exception):
    """The name is not usable, or the system already exists."""


def new_adapter(root: Path, name: str) -> list[Path]:
    """Write the new system ``name`` into the tree at ``root``; returns what was written."""
    if not NAME_RULE.match(name):
        raise ScaffoldError(f"{name!r}: a system name is 2-31 lower-case letters or digits")
    template = root / "adapters" / TEMPLATE
    folder = root / "adapters" / name
    mapping = root / "mappings" / f"{name}.yaml"
    config = root / "config.yaml"
    if folder.exists() or mapping.exists():
        raise ScaffoldError(f"{name}: adapters/{name}/ or mappings/{name}.yaml already exists")
    text = config.read_text()
    if re.search(rf"^  {name}:", text, re.MULTILINE):
        raise ScaffoldError(f"{name}: config.yaml already has an entry")
    written: list[Path] = []
    for source in sorted(template.rglob("*")):
        relative = source.relative_to(template)
        if source.is_dir() or any(part in SKIPPED for part in relative.parts):
            continue
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(named(source.read_text(), name))
        written.append(target)
    mapping.write_text(named((template / SCAFFOLD / "mapping.yaml").read_text(), name))
    config.write_text(
        with_entry(text, named((template / SCAFFOLD / "config.yaml").read_text(), name))
    )
    return [*written, mapping, config]


def named(text: str, name: str) -> str:
    """The template's text for ``name``: module paths, class names, constants and words."""
    for placeholder, value in (
        (f"adapters.{TEMPLATE}", f"adapters.{name}"),
        (f"adapters/{TEMPLATE}", f"adapters/{name}"),
        ("Template", name.capitalize()),
        ("TEMPLATE", name.upper()),
        ("template", name),
    ):
        text = text.replace(placeholder, value)
    return text


def with_entry(config: str, entry: str) -> str:
    """``config.yaml`` with ``entry`` appended to its ``systems:`` block (before the next
    top-level key), leaving every other line as it was."""
    lines = config.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "systems:"), None)
    if start is None:
        raise ScaffoldError("config.yaml has no systems: block")
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " #"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # the entry goes before the blank lines that close the block
    return "".join([*lines[:end], entry if entry.endswith("\n") else entry + "\n", *lines[end:]])
