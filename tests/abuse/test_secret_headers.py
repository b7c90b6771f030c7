"""Any header config.yaml names for auth is a secret everywhere (issue 11, item 6): a
custom inbound header was stored with the message and shown to viewers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters import registry
from gateway.intake.ingest import Ingest
from gateway.mappings.files import check_mappings
from gateway.settings.config import parse_config
from gateway.store.base import Store
from tests.support import ROOT

CONFIG = """
systems:
  enkash:
    base_url: http://127.0.0.1:1/enkash
    auth: {token: {token_env: ENKASH_TOKEN, header: X-Enkash-Key}}
    inbound_auth: {token_env: ENKASH_INBOUND_TOKEN, header: X-Partner-Secret}
routes:
  - from: enkash
    to: [leo]
"""


def _config():  # type: ignore[no-untyped-def]
    config, problems = parse_config(CONFIG, "config.yaml", registry.system_ids())
    assert config is not None, problems
    return config


def test_configured_auth_headers_are_secret() -> None:
    secret = _config().secret_headers()
    assert {"x-partner-secret", "x-enkash-key", "authorization"} <= secret


def test_custom_inbound_auth_header_is_never_stored(tmp_path: Path) -> None:
    mappings, _ = check_mappings(ROOT / "mappings")
    sample = (ROOT / "adapters/enkash/samples/status-change-request.json").read_bytes()

    async def run() -> dict[str, str]:
        store = Store.from_url(f"sqlite:///{tmp_path}/pohub.db")
        await store.open()
        try:
            ingest = Ingest(store, mappings, {"enkash": ["leo"]}, _config().secret_headers())
            headers = {"x-partner-secret": "planted-777", "content-type": "application/json"}
            done = await ingest.ingest("enkash", sample, headers)
            stored = await store.get_message(done.messages[0].id)
            assert stored is not None
            return stored.headers
        finally:
            await store.close()

    headers = asyncio.run(run())
    assert "x-partner-secret" not in {k.lower() for k in headers}
    assert "planted-777" not in str(headers)
    assert headers.get("content-type") == "application/json"
