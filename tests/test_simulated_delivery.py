"""Generated over adapter folders: every sample, translated to every system that has a
simulator, is sent by that system's real client over loopback HTTP and accepted.

This proves each golden translation is document-valid by the receiving simulator's own
rules, and that with the fault setting ``honour_keys`` on (no vendor defines the header:
by default a simulator acts on every request, as the real system would) a repeated
Idempotency-Key has no second effect. A sixth system with a
``simulator.py`` and ``client.py`` is picked up without editing this file. A translation
whose golden is an error is not sent; a plan with a ``refused`` step is sent up to it and
stops there with its reason.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters._sim import Faults
from core.errors import PermanentDelivery
from gateway.cli.simulate import simulator_systems
from tests import support
from tests.servers import client_for

pytestmark = pytest.mark.anyio
TARGETS = simulator_systems()
CASES = [(s, p, t) for s, p in support.all_samples() for t in TARGETS]


def _id(value: object) -> str:
    return value.name if isinstance(value, Path) else str(value)


@pytest.mark.parametrize(("source", "sample", "target"), CASES, ids=_id)
async def test_translated_sample_is_accepted_by_the_target(
    sim: Any, source: str, sample: Path, target: str
) -> None:
    simulator = sim.sims[target]
    simulator.faults = Faults.parse({"honour_keys": True})
    events = support.parse_sample(source, sample)
    outcome = support.render_outcome(target, events)
    if "unsendable" in outcome:  # parked or dead: the golden records why, nothing is sent
        golden = orjson.loads(support.golden_path(source, sample, target).read_bytes())
        assert outcome == golden
        return
    async with client_for(sim, target) as client:
        for event in events:
            plan = support.plan_for(target, event)
            stop = next((i for i, c in enumerate(plan.calls) if c.refused is not None), None)
            if stop is not None:  # the plan may not take this step: the client stops there
                with pytest.raises(PermanentDelivery) as stopped:
                    await client.send(plan, uuid.uuid4().hex)
                assert stopped.value.step == stop
                assert str(plan.calls[stop].refused) in str(stopped.value)
                return
            known_id = event.remote_ids.get(target)
            if target == source and known_id and known_id in plan.calls[0].path:
                # an action on a PO this fresh simulator has never seen: its 404 is faithful
                with pytest.raises(PermanentDelivery) as refused:
                    await client.send(plan, uuid.uuid4().hex)
                assert refused.value.status == 404
                return
            key = uuid.uuid4().hex
            delivered = await client.send(plan, key)
            assert delivered.steps == len(plan.calls)
            seen = len(simulator.received)
            again = await client.send(plan, key)
            assert again.steps == len(plan.calls)
            assert len(simulator.received) == seen, "a repeated Idempotency-Key had an effect"
    assert simulator.duplicates >= 1
