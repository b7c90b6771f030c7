"""The registry finds adapters by folder and fails loudly on a broken one."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters import registry


def test_every_system_has_its_inbound_and_simulator() -> None:
    for system in registry.system_ids():
        assert registry.part(system, "inbound") is not None, system
    assert registry.part("canonical", "simulator") is None  # no file: no simulator, no error


def test_an_adapter_file_that_fails_to_import_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in an adapter's import must not make its endpoint quietly disappear."""
    pkg = tmp_path / "adapters"
    (pkg / "brokensys").mkdir(parents=True)
    (pkg / "brokensys" / "__init__.py").write_text("")
    (pkg / "brokensys" / "inbound.py").write_text("from adapters.no_such_thing import X\n")
    monkeypatch.setattr(registry, "ADAPTERS_DIR", pkg)
    import adapters

    monkeypatch.setattr(adapters, "__path__", [str(pkg), *adapters.__path__])
    assert registry.part("brokensys", "simulator") is None
    with pytest.raises(ModuleNotFoundError, match="no_such_thing"):
        registry.part("brokensys", "inbound")
    from gateway.inbound import inbound_specs

    with pytest.raises(ModuleNotFoundError, match="no_such_thing"):
        inbound_specs()  # the endpoints are built from here: the app does not start
