"""One error table per system: the drop-in endpoint and the simulator answer the same error
in the same envelope (issue 13: the two copies had drifted, EnKash 413/415 and AppliQloud
causes). Generated over the registry."""

from __future__ import annotations

import orjson
import pytest

from adapters import registry
from core.inbound import InboundRoute
from tests.contract.cases import ERROR_STATUSES, delivering, receiving, shape

pytestmark = pytest.mark.parametrize("status", ERROR_STATUSES)


@pytest.mark.parametrize("system", [s for s in delivering() if s in receiving()])
def test_inbound_and_simulator_answer_an_error_in_one_shape(system: str, status: int) -> None:
    declared = registry.system(system)
    assert declared.inbound is not None and declared.simulator is not None
    inbound = declared.inbound.refused(None, status, "refused for the test")
    simulated = declared.simulator({}).error(status, "refused for the test")
    table = declared.error_reply(status, "refused for the test")
    assert inbound.status == simulated.status == table.status == status
    assert shape(inbound.json) == shape(simulated.json) == shape(table.json)
    assert sorted(inbound.headers) == sorted(simulated.headers) == sorted(table.headers)


@pytest.mark.parametrize("system", receiving())
def test_a_field_error_is_named_in_the_envelope(system: str, status: int) -> None:
    declared = registry.system(system)
    reply = declared.error_reply(status, "is required", "$.somewhere", "missing")
    text = str(reply.json)
    assert "$.somewhere" in text and "is required" in text and "missing" in text


@pytest.mark.parametrize("system", receiving())
def test_the_endpoint_answers_any_status_with_its_message(system: str, status: int) -> None:
    spec = registry.system(system).inbound
    assert spec is not None
    assert spec.routes and all(isinstance(r, InboundRoute) for r in spec.routes)
    assert all(r.path.startswith("/") for r in spec.routes)
    reply = spec.refused(None, status, "it went wrong")
    assert reply.status == status
    assert "it went wrong" in orjson.dumps(reply.json).decode()
