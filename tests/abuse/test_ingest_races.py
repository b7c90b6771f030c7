"""A request resent while the first copy is still being stored (found by the state machine,
tests/abuse/test_state_machine.py): one event, applied to the PO's state once.

On Redis, ``Store.ingest`` is the composition (dedup check, PO update, accept), not one
transaction: both copies passed the dedup check, both applied the event to the PO, and only
then did ``accept`` keep one message. A goods receipt sent twice in a hurry counted twice
(the receipt of 1 unit made the total 2), and a PO ordering one unit refused the retry
outright as "2 received of 1 ordered"."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import orjson
import pytest

from gateway.intake.ingest import Ingest
from gateway.store.base import Store
from gateway.store.records import Message
from tests import support

PO = orjson.dumps({"po_number": "PO-RACE", "status": "APPROVED",
                   "lines": [{"line_number": "1", "sku": "SKU-1", "quantity": 1}]})  # fmt: skip
RECEIPT = orjson.dumps({"kind": "goods_received", "po_number": "PO-RACE",
                        "source_system": "canonical",
                        "receipts": [{"line_number": "1", "accepted": 1}]})  # fmt: skip


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/pohub.db"
    base = str(request.getfixturevalue("redis_url")).rsplit("/", 1)[0]
    return f"{base}/0?prefix=race{uuid.uuid4().hex[:8]}"


def test_a_receipt_resent_while_the_first_is_stored_counts_once(store_url: str) -> None:
    async def run() -> None:
        store = Store.from_url(store_url)
        await store.open()
        accept = store.accept

        async def slow_accept(message: Message, targets: list[str]) -> tuple[Message, bool]:
            await asyncio.sleep(0.02)  # a busy store: the second copy arrives meanwhile
            return await accept(message, targets)

        try:
            ingest = Ingest(store, support.mappings(), {"canonical": ["uniware"]})
            await ingest.ingest("canonical", PO, {})
            store.accept = slow_accept  # type: ignore[method-assign]
            copies = await asyncio.gather(*(ingest.ingest("canonical", RECEIPT, {})
                                            for _ in range(2)))  # fmt: skip
            assert {c.messages[0].id for c in copies} == {copies[0].messages[0].id}
            assert sorted(c.created[0] for c in copies) == [False, True]
            state = await store.get_po("PO-RACE")
            assert state is not None and state.lines[0].accepted_quantity == 1
        finally:
            await store.close()

    asyncio.run(run())
