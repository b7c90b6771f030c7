"""Finds the systems: every folder under ``adapters/`` not starting with ``_``, each
declaring one ``SYSTEM`` (``adapters._system.System``) in its ``__init__.py``.

A sixth system is a new folder; nothing here changes. A folder whose files fail to import,
or that declares no ``SYSTEM``, raises here: a broken adapter stops the app instead of
quietly losing an endpoint.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path

import adapters
from adapters._system import System
from core.adapter import Adapter

ADAPTERS_DIR = Path(adapters.__file__).parent


def system_ids() -> list[str]:
    """Every system with an adapter folder, in name order."""
    return sorted(
        m.name for m in pkgutil.iter_modules([str(ADAPTERS_DIR)]) if m.ispkg and m.name[0] != "_"
    )


@cache
def system(name: str) -> System:
    """The declared ``System`` of ``name``; ``KeyError`` names the known ones."""
    if name not in system_ids():
        raise KeyError(f"unknown system {name!r}; known: {', '.join(system_ids())}")
    module = importlib.import_module(f"adapters.{name}")
    declared = getattr(module, "SYSTEM", None)
    if not isinstance(declared, System):
        raise TypeError(f"adapters/{name}/__init__.py declares no SYSTEM = System(...)")
    if declared.name != name:
        raise TypeError(f"adapters/{name}/ declares the system {declared.name!r}")
    return declared


def systems() -> list[System]:
    """Every declared system, in name order."""
    return [system(name) for name in system_ids()]


def get(name: str) -> Adapter:
    """The pure dialect (parse, render) of ``name``; ``KeyError`` names the known ones."""
    return system(name).adapter


def samples_dir(name: str) -> Path:
    return ADAPTERS_DIR / name / "samples"
