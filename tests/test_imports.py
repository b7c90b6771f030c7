"""Every module imports on its own (no import order hides a cycle).

An import cycle can stay invisible while the app starts, because some module happens to be
imported first. One child interpreter imports each project module with none of the
project's modules loaded before it (they are dropped from ``sys.modules`` between imports;
third-party libraries stay loaded, so the run takes seconds, not minutes). ``lint-imports``
(pyproject.toml, run by ``.ci/run``) keeps the layers and forbids cycles statically; this
test proves the modules really load.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "adapters", "gateway")

CHILD = """
import importlib, sys, traceback, orjson
packages = tuple(sys.argv[1].split(","))
failed = {}
for module in sys.argv[2:]:
    for name in [n for n in sys.modules if n.split(".")[0] in packages]:
        del sys.modules[name]
    try:
        importlib.import_module(module)
    except BaseException:
        failed[module] = traceback.format_exc().strip().splitlines()[-1]
print(orjson.dumps(failed).decode())
"""


def _modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for file in sorted((ROOT / package).rglob("*.py")):
            parts = file.relative_to(ROOT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_every_module_imports_alone() -> None:
    modules = _modules()
    assert len(modules) > 50, modules
    done = subprocess.run(
        [sys.executable, "-c", CHILD, ",".join(PACKAGES), *modules], cwd=ROOT,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == {}


def test_the_check_sees_a_cycle(tmp_path: Path) -> None:
    """The child reports a module that cannot load alone (so the test above can fail)."""
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyc.b import B\nA = 1\n")
    (pkg / "b.py").write_text("from cyc.a import A\nB = 2\n")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "cyc", "cyc.a"], cwd=tmp_path, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert "ImportError" in orjson.loads(done.stdout)["cyc.a"]
