"""A whole PO that names no status is delivered in the status the PO had when it arrived
(chaos finding D).

Uniware says PENDING_APPROVAL, AppliQloud updates the PO (its update has no status), then
Uniware says APPROVED. Before: the AppliQloud event's AlphaAlpha delivery rendered from the
newest state and approved the PO there; Uniware's PENDING_APPROVAL, still queued behind it,
then died ``alphaalpha lifecycle does not allow 'APPROVED_INTERNALLY' ->
'PENDING_INTERNAL_APPROVAL'``.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from adapters import registry
from core.adapter import RemoteState, RenderContext
from core.model import PoEvent
from gateway.intake.ingest import Ingest
from gateway.store.base import Store
from tests import support

pytestmark = pytest.mark.anyio
PO = "PO-D-1"
ROUTES = {"uniware": ["alphaalpha"], "appliqloud": ["alphaalpha"]}


def uniware(status: str) -> bytes:
    doc = json.loads((support.ROOT / "adapters/uniware/samples/approved-po.json").read_text())
    doc.update(code=PO, statusCode=status)
    return orjson.dumps(doc)


def appliqloud() -> bytes:
    doc = json.loads((support.ROOT / "adapters/appliqloud/samples/update.json").read_text())
    doc["inputs"][0]["header"].update(purchaseOrderId=PO, currencyId="INR")
    doc["inputs"][0]["items"][0].update(itemId="1", quantity=7, netUnitPrice=100)
    return orjson.dumps(doc)


async def test_a_status_less_update_is_rendered_in_the_status_of_its_time(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'd.db'}")
    await store.open()
    try:
        ingest = Ingest(store, support.mappings(), ROUTES)
        await ingest.ingest("uniware", uniware("PENDING_APPROVAL"), {})
        update = (await ingest.ingest("appliqloud", appliqloud(), {})).messages[0]
        await ingest.ingest("uniware", uniware("APPROVED"), {})
        stored = await store.get_message(update.id)
        newest = await store.get_po(PO)
    finally:
        await store.close()
    assert stored is not None and newest is not None
    assert newest.status is not None and newest.status.value == "APPROVED"
    canonical = stored.canonical[0]["po"]
    assert canonical["status"] == "PENDING_APPROVAL" and "source_status" not in canonical
    event = PoEvent.model_validate(stored.canonical[0])
    remote = RemoteState(remote_id="AA-PO-000001", status="PENDING_INTERNAL_APPROVAL")
    ctx = RenderContext(support.mappings()["alphaalpha"], newest, remote)
    plan = registry.get("alphaalpha").render(event, ctx)
    reached = [c.reaches for c in plan.calls if c.reaches]
    assert reached[-1] == "PENDING_INTERNAL_APPROVAL", [c.step for c in plan.calls]
    assert "APPROVED_INTERNALLY" not in reached
    assert "update" in [c.step for c in plan.calls], "the update itself is written"
