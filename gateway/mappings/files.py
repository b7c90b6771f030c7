"""The mapping files on disk, loaded and checked against each adapter's spec."""

from __future__ import annotations

from pathlib import Path

from adapters import registry
from core.errors import ConfigError, ConfigProblem
from core.mapping.loader import parse_mapping
from core.mapping.tables import Mapping


def mappings_dir(config_file: Path, configured: str) -> Path:
    """Relative mapping dirs are relative to the config file's folder."""
    path = Path(configured)
    return path if path.is_absolute() else (config_file.parent / path)


def check_mappings(directory: Path) -> tuple[dict[str, Mapping], list[ConfigProblem]]:
    """Load every system's mapping; problems for broken, missing and unknown files."""
    mappings: dict[str, Mapping] = {}
    problems: list[ConfigProblem] = []
    systems = registry.system_ids()
    for system in systems:
        file = directory / f"{system}.yaml"
        if not file.exists():
            problems.append(ConfigProblem(str(file), None, "$", "mapping file is missing"))
            continue
        mapping, found = parse_mapping(
            file.read_text(), str(file), registry.get(system).spec, system
        )
        problems.extend(found)
        if mapping is not None:
            mappings[system] = mapping
    for file in sorted(directory.glob("*.yaml")):
        if file.stem not in systems:
            problems.append(ConfigProblem(str(file), None, "$", "no adapter for this system"))
    return mappings, problems


def load_mapping(directory: Path, system: str) -> Mapping:
    file = directory / f"{system}.yaml"
    if not file.exists():
        raise ConfigError([ConfigProblem(str(file), None, "$", "mapping file is missing")])
    mapping, problems = parse_mapping(
        file.read_text(), str(file), registry.get(system).spec, system
    )
    if mapping is None:
        raise ConfigError(problems)
    return mapping
