"""Proof that a sixth system is its folder, its mapping and its config entry (issue 13).

A copy of the tree gets ``pohub new-adapter acme`` (run with the project's Python, as a
newcomer would); its goldens are written the documented way; then the whole generated
suite (golden, bad input, client/simulator/inbound contracts) runs over it in a fresh
interpreter. Nothing outside ``adapters/acme/``, ``mappings/acme.yaml`` and
``config.yaml`` may change on the way.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

NAME = "acme"
ALLOWED = (f"adapters/{NAME}/", f"mappings/{NAME}.yaml", "config.yaml")
IGNORED = (".git", ".venv", "__pycache__", "*.pyc", ".*_cache", "var", "node_modules")


def _files(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _run(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("scaffold") / "pohub"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*IGNORED))
    return copy


def test_a_scaffolded_sixth_system_passes_the_generated_suite(tree: Path) -> None:
    before = _files(tree)
    made = _run(tree, "-m", "gateway.cli", "new-adapter", NAME)
    assert made.returncode == 0, made.stderr
    pytest_args = ["-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider", "-k", NAME]
    regen = _run(tree, *pytest_args, "tests/test_golden.py", "--regen-golden")
    assert regen.returncode == 0, regen.stdout[-3000:] + regen.stderr[-3000:]

    after = _files(tree)
    changed = sorted(p for p in after.keys() | before.keys() if after.get(p) != before.get(p))
    assert changed and all(p.startswith(ALLOWED) for p in changed), changed
    assert any(p.startswith(f"adapters/{NAME}/samples/golden/from/") for p in changed)

    suites = ["tests/test_golden.py", "tests/test_bad_input.py", "tests/contract",
              "tests/test_simulated_delivery.py", "tests/adapters/test_sim_keys.py"]  # fmt: skip
    run = _run(tree, *pytest_args, "-rs", *suites)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "skipped" not in summary and "failed" not in summary
    assert _files(tree) == after, "running the suite changed the tree"


def test_a_name_that_is_taken_or_unusable_is_refused(tree: Path) -> None:
    for name in ("uniware", "Bad-Name", "x"):
        got = _run(tree, "-m", "gateway.cli", "new-adapter", name)
        assert got.returncode == 2 and "Error" in got.stderr, (name, got.stderr)


def test_the_config_entry_goes_at_the_end_of_systems_and_nothing_else_moves() -> None:
    from gateway.cli.scaffold import with_entry

    config = (
        "store: x\n\nsystems:\n  a:\n    base_url: u\n  # note\n  b: {}\n\nroutes:\n  - from: a\n"
    )
    got = with_entry(config, "  acme:\n    base_url: v\n")
    assert got == config.replace("  b: {}\n", "  b: {}\n  acme:\n    base_url: v\n")
