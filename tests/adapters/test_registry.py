"""The registry reads one declared ``System`` per folder and fails loudly on a broken one."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters import registry
from adapters._system import System


def test_every_folder_declares_its_system() -> None:
    for name in registry.system_ids():
        declared = registry.system(name)
        assert isinstance(declared, System) and declared.name == name
        assert declared.inbound is not None, name
        assert registry.get(name) is declared.adapter
    canonical = registry.system("canonical")
    assert canonical.client is None and canonical.simulator is None  # nothing to deliver to
    assert [s.name for s in registry.systems() if s.poll is not None] == ["alphaalpha"]
    assert registry.system("uniware").dates is not None


def test_an_unknown_system_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: alphaalpha"):
        registry.system("nosuch")


def _broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, init: str) -> None:
    pkg = tmp_path / "adapters"
    (pkg / name).mkdir(parents=True)
    (pkg / name / "__init__.py").write_text(init)
    (pkg / name / "inbound.py").write_text("from adapters.no_such_thing import X\n")
    monkeypatch.setattr(registry, "ADAPTERS_DIR", pkg)
    import adapters

    monkeypatch.setattr(adapters, "__path__", [str(pkg), *adapters.__path__])
    registry.system.cache_clear()


def test_an_adapter_file_that_fails_to_import_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in an adapter's import must not make its endpoint quietly disappear."""
    _broken(tmp_path, monkeypatch, "brokensys", "from adapters.brokensys.inbound import X\n")
    with pytest.raises(ModuleNotFoundError, match="no_such_thing"):
        registry.system("brokensys")
    from gateway.api.inbound import inbound_specs

    with pytest.raises(ModuleNotFoundError, match="no_such_thing"):
        inbound_specs()  # the endpoints are built from here: the app does not start
    registry.system.cache_clear()


def test_a_folder_without_a_declared_system_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _broken(tmp_path, monkeypatch, "halfsys", '"""Forgot the SYSTEM."""\n')
    with pytest.raises(TypeError, match="declares no SYSTEM"):
        registry.system("halfsys")
    registry.system.cache_clear()
