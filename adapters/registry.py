"""Finds the adapters: every folder under ``adapters/`` not starting with ``_``.

A sixth system is a new folder exporting ``ADAPTER``; nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path
from types import ModuleType

import adapters
from core.adapter import Adapter

ADAPTERS_DIR = Path(adapters.__file__).parent


def system_ids() -> list[str]:
    """Every system with an adapter folder, in name order."""
    return sorted(
        m.name for m in pkgutil.iter_modules([str(ADAPTERS_DIR)]) if m.ispkg and m.name[0] != "_"
    )


@cache
def get(system: str) -> Adapter:
    """The adapter of ``system``; ``KeyError`` names the known ones."""
    if system not in system_ids():
        raise KeyError(f"unknown system {system!r}; known: {', '.join(system_ids())}")
    module = importlib.import_module(f"adapters.{system}")
    adapter: Adapter = module.ADAPTER
    return adapter


def part(system: str, name: str) -> ModuleType | None:
    """The module ``adapters.<system>.<name>`` (``inbound``, ``simulator``, ``client``), or
    None when the adapter has no such file. A file that exists but fails to import raises:
    a typo in an adapter must fail loudly, never make its endpoint quietly disappear."""
    if not (ADAPTERS_DIR / system / f"{name}.py").is_file():
        return None
    return importlib.import_module(f"adapters.{system}.{name}")


def samples_dir(system: str) -> Path:
    return ADAPTERS_DIR / system / "samples"
