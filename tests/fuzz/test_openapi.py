"""schemathesis against the gateway's own OpenAPI: every operations and mappings route.

One gateway on loopback (no workers); its ``/schema/openapi.json`` is loaded, the inbound
drop-in routes and health routes are left out (``tests/fuzz/test_inbound_fuzz.py`` covers
inbound), and each remaining operation gets a bounded number of positive and negative
cases sent with the admin key. No case may get a 5xx.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.gateway.harness import KEYS, Gateway, gateway
from tests.servers import SimulatorServer

EXAMPLES_PER_OPERATION = int(os.environ.get("POHUB_FUZZ_EXAMPLES_OPENAPI", "8"))
TAGS = ("operations", "mappings")


@pytest.fixture(scope="module")
def gw(simulators: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(simulators, tmp_path_factory.mktemp("openapi"), workers=0) as g:
        yield g


def _schema(gw: Gateway) -> schemathesis.BaseSchema:
    raw = httpx.get(gw.url + "/schema/openapi.json", timeout=10).json()
    return schemathesis.openapi.from_dict(raw).include(tag=list(TAGS))


def _operations(gw: Gateway) -> list[Any]:
    """Every operation of the filtered schema; an operation the schema cannot describe fails."""
    out: list[Any] = []
    for result in _schema(gw).get_all_operations():
        out.append(cast(Any, result).ok())
    return out


def test_the_schema_lists_the_operations_routes(gw: Gateway) -> None:
    labels = {op.label for op in _operations(gw)}
    assert "GET /api/v1/messages" in labels and "PUT /api/v1/mappings/{system}" in labels
    assert not any("/inbound/" in label for label in labels)


UNNAMED = {
    "GET /api/v1/audit": "a page, or the whole log as a JSON or CSV download (by format)",
    "GET /api/v1/stats/counts": "a map: state -> count",
}


def _names(schema: dict[str, Any]) -> bool:
    """A reply schema that names its shape: a component, a list of them, or one of them."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _names(schema.get("items", {}))
    return bool(schema.get("oneOf")) and all(_names(s) for s in schema["oneOf"])


def test_every_api_reply_is_a_named_schema(gw: Gateway) -> None:
    """Operations and mappings replies are components (``gateway/api/schemas.py``), so the
    document says what each returns instead of an anonymous object."""
    raw = httpx.get(gw.url + "/schema/openapi.json", timeout=10).json()
    anonymous = []
    for path, item in raw["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or not set(op.get("tags", [])) & set(TAGS):
                continue
            for code, reply in op.get("responses", {}).items():
                schema = reply.get("content", {}).get("application/json", {}).get("schema")
                label = f"{method.upper()} {path}"
                if code.startswith("2") and label not in UNNAMED and not _names(schema or {}):
                    anonymous.append(f"{label} {code}")
    assert not anonymous, anonymous
    assert {"MessagePage", "ReplayJob", "Targets", "MappingSaved"} <= set(
        raw["components"]["schemas"]
    )


def _fuzz(
    gw: Gateway, operation: Any, mode: GenerationMode,
    auth: dict[str, str], failures: dict[str, str],
) -> Callable[[], None]:  # fmt: skip
    """A bounded hypothesis test of one operation; failures are collected, not raised."""
    # KNOWN DEFECT (test below): an offset beyond 64 bits is a 500; drop this pin once fixed.
    pinned = {"offset": 0} if operation.label == "GET /api/v1/messages" else None

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode, query=pinned))
    def run(case: Any) -> None:
        response = case.call(base_url=gw.url, headers=auth, timeout=10)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except (Exception, BaseExceptionGroup) as exc:  # keep going: report every failing operation
            failures.setdefault(operation.label, f"{operation.label}: {exc}"[:1500])

    return cast(Callable[[], None], run)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_5xx(gw: Gateway, mode: GenerationMode) -> None:
    auth = {"Authorization": f"Bearer {KEYS['admin']}"}
    failures: dict[str, str] = {}
    tried = 0
    for operation in _operations(gw):
        run = _fuzz(gw, operation, mode, auth, failures)
        try:
            run()
        except Unsatisfiable:  # negative mode: an operation without parameters or body
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        tried += 1
    assert tried >= 10, tried
    assert not failures, "\n\n".join(failures.values())


def test_a_huge_offset_is_a_4xx(gw: Gateway) -> None:
    with httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {KEYS['admin']}"}) as c:
        for offset in ("99999999999999999999", "-112795199240212463616"):
            code = c.get("/api/v1/messages", params={"offset": offset}).status_code
            assert code < 500, (offset, code)
