from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI replays the same examples on every run (a red CI blocks a landing, so it must not depend
# on the dice); local runs draw new ones each time and are where new cases are found.
# HYPOTHESIS_PROFILE=explore makes any run random again.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        help="rewrite adapters/*/samples/golden/ from the current translators",
    )


@pytest.fixture(scope="module")
def redis_url():  # type: ignore[no-untyped-def]
    """A real redis-server on a free port (AOF on), one per test module."""
    from tests.redis_server import redis_server

    with redis_server() as (url, *_):
        yield url


@pytest.fixture(scope="session")
def redis_cluster_url():  # type: ignore[no-untyped-def]
    """A real Redis Cluster (3 primaries, AOF on) for the whole run: ``redis+cluster://``.
    Tests keep apart by key prefix; one cluster start (~2 s) serves every module."""
    from tests.redis_server import redis_cluster

    with redis_cluster() as cluster:
        yield cluster.url


@pytest.fixture(scope="session")
def simulators():  # type: ignore[no-untyped-def]
    """All simulators on one loopback port, with generated secrets (``sims[s].secrets``)."""
    from adapters import registry
    from gateway.cli.simulate import build_simulators, create_app
    from gateway.settings.config import Config, load_config
    from tests.servers import SimulatorServer, serve
    from tests.support import ROOT

    config: Config = load_config(str(ROOT / "config.yaml"), registry.system_ids())
    sims = build_simulators(config)
    with serve(create_app(sims)) as url:
        yield SimulatorServer(url, sims)


@pytest.fixture
def sim(simulators, request):  # type: ignore[no-untyped-def]
    """Every simulator as new before a test: log, faults, idempotency keys, business state."""
    for s in simulators.sims.values():
        s.restart()
    return simulators


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests (``pytest.mark.anyio``) run on asyncio, as the hub does: one place."""
    return "asyncio"
