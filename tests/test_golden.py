"""Generated over every adapter folder and every sample in it: round trips and goldens.

A new system is picked up without editing this file: add ``adapters/<new>/samples/``.
A pair whose render parks or goes dead (a missing mapping, a value the target cannot
express, a state the event contradicts) has that error as its golden
(``{"unsendable": {...}}``, see ``support.render_outcome``).
Regenerate goldens with ``uv run pytest tests/test_golden.py --regen-golden`` and review
the diff.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from adapters import registry
from tests import support

SAMPLES = support.all_samples()
PAIRS = [
    (source, path, target)
    for source, path in SAMPLES
    for target in support.systems()
    if target != source
]


def _id(value: object) -> str:
    return value.name if isinstance(value, Path) else str(value)


def test_every_adapter_ships_samples() -> None:
    for system in support.systems():
        assert support.sample_paths(system), f"adapters/{system}/samples/ has no sample"


@pytest.mark.parametrize(("system", "sample"), SAMPLES, ids=_id)
def test_sample_round_trips_unchanged(system: str, sample: Path) -> None:
    events = support.parse_sample(system, sample)
    assert support.wire_of(system, events) == orjson.loads(sample.read_bytes())


@pytest.mark.parametrize(("system", "sample"), SAMPLES, ids=_id)
def test_sample_round_trips_through_canonical_json(system: str, sample: Path) -> None:
    """Wire -> canonical JSON text -> canonical -> wire: the canonical form loses nothing."""
    events = support.parse_sample(system, sample)
    canonical = registry.get("canonical")
    texts = [orjson.dumps(support.render_all("canonical", [ev])) for ev in events]
    again = [ev for text in texts for ev in support.parse("canonical", text)]
    assert support.wire_of(system, again) == orjson.loads(sample.read_bytes())
    assert canonical.system == "canonical"


@pytest.mark.parametrize(("source", "sample", "target"), PAIRS, ids=_id)
def test_golden_translation(
    source: str, sample: Path, target: str, request: pytest.FixtureRequest
) -> None:
    output = support.dumps(support.render_outcome(target, support.parse_sample(source, sample)))
    golden = support.golden_path(source, sample, target)
    if request.config.getoption("--regen-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(output)
    assert golden.exists(), f"no golden {golden}; run with --regen-golden and review"
    assert output.decode() == golden.read_text()
