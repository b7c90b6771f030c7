"""The mappings in force, per system, swapped in place when a file or the API saves one."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as AbcMapping
from pathlib import Path

from core.errors import ConfigError
from core.mapping.tables import Mapping
from gateway.mappings.files import check_mappings


class LiveMappings(AbcMapping[str, Mapping]):
    """A read-only mapping of system -> Mapping whose entries can be replaced atomically."""

    def __init__(self, mappings: dict[str, Mapping]) -> None:
        self._mappings = dict(mappings)

    @classmethod
    def load(cls, directory: Path) -> LiveMappings:
        found, problems = check_mappings(directory)
        if problems:
            raise ConfigError(problems)
        return cls(found)

    def replace(self, system: str, mapping: Mapping) -> None:
        self._mappings[system] = mapping

    def __getitem__(self, system: str) -> Mapping:
        return self._mappings[system]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mappings)

    def __len__(self) -> int:
        return len(self._mappings)
