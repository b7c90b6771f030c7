"""The identity crosswalk and the message note, on every backend (the contract suite's store)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.model import PurchaseOrder
from gateway.store.base import Store, aggregate
from gateway.store.records import MessageFilter, State
from tests.store.test_contract import msg, store

__all__ = ["store"]  # the contract suite's fixtures, reused
pytestmark = pytest.mark.anyio


async def test_a_learnt_remote_id_names_the_hub_po(store: Store) -> None:
    assert await store.find_remote("alphaalpha", "AA-PO-000002") is None
    linked = await store.link_remote("alphaalpha", "AA-PO-000002", "PO-2025-0042")
    assert linked == "PO-2025-0042"
    assert await store.find_remote("alphaalpha", "AA-PO-000002") == "PO-2025-0042"
    assert await store.find_remote("enkash", "AA-PO-000002") is None, "per system"


async def test_a_reply_replaces_a_link_and_an_inbound_event_only_fills_gaps(store: Store) -> None:
    await store.link_remote("enkash", "OBJ-1", "AA-PO-000009")
    kept = await store.link_remote("enkash", "OBJ-1", "PO-2", replace=False)
    assert kept == "AA-PO-000009"
    assert await store.find_remote("enkash", "OBJ-1") == "AA-PO-000009"
    assert await store.link_remote("enkash", "OBJ-1", "PO-2") == "PO-2"
    assert await store.find_remote("enkash", "OBJ-1") == "PO-2"
    assert await store.link_remote("enkash", "OBJ-2", "PO-3", replace=False) == "PO-3"


async def test_remote_ids_and_systems_with_key_characters_do_not_collide(store: Store) -> None:
    await store.link_remote("a:b", "c", "PO-1")
    await store.link_remote("a", "b:c", "PO-2")
    await store.link_remote("erp", "{x}%20 y", "PO-3")
    assert await store.find_remote("a:b", "c") == "PO-1"
    assert await store.find_remote("a", "b:c") == "PO-2"
    assert await store.find_remote("erp", "{x}%20 y") == "PO-3"
    assert await store.find_remote("a", "c") is None


async def test_a_message_without_deliveries_keeps_its_note(store: Store) -> None:
    echo = msg(po="PO-2025-0042", system="alphaalpha", key="k-echo")
    echo.status, echo.note = State.RECEIVED, "echo of delivery d-1"
    stored, created = await store.ingest(echo, [], lambda state: None, True)
    assert created and stored.deliveries == []
    got = await store.get_message(stored.id)
    assert got is not None and got.note == "echo of delivery d-1"
    assert aggregate(got) is State.RECEIVED
    assert await store.get_po("PO-2025-0042") is None, "an echo leaves the PO state alone"
    page = await store.search(MessageFilter(po_number="PO-2025-0042"))
    assert [m.note for m in page.items] == ["echo of delivery d-1"]
    again, created_again = await store.ingest(echo, [], lambda state: None, True)
    assert not created_again and again.note == "echo of delivery d-1"


async def test_sqlite_file_from_before_the_note_column_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE messages (id TEXT PRIMARY KEY, system TEXT NOT NULL, po_number TEXT, "
        "received_at TEXT NOT NULL, dedup_key TEXT UNIQUE, status TEXT NOT NULL, body TEXT NOT "
        "NULL, headers TEXT NOT NULL, canonical TEXT NOT NULL, error TEXT, error_path TEXT)"
    )
    conn.close()
    s = Store.from_url(f"sqlite:///{path}")
    await s.open()
    try:
        m = msg()
        m.note = "echo of delivery d-2"
        await s.accept(m, [])
        got = await s.get_message(m.id)
        assert got is not None and got.note == "echo of delivery d-2"
    finally:
        await s.close()


async def test_lookup_reads_the_state_and_every_link_at_once(store: Store) -> None:
    await store.link_remote("enkash", "OBJ-1", "PO-1")
    state, links = await store.lookup("PO-1", [("enkash", "OBJ-1"), ("leo", "ERP-9")])
    assert state is None and links == {("enkash", "OBJ-1"): "PO-1"}
    await store.ingest(
        msg(po="PO-1", key="k1"), [], lambda s: PurchaseOrder(po_number="PO-1"), True
    )
    state, links = await store.lookup("PO-1", [])
    assert state is not None and state.po_number == "PO-1" and links == {}


async def test_link_new_links_only_what_is_unlinked_and_releases_its_parked(store: Store) -> None:
    from datetime import timedelta

    from tests.store.test_contract import T0

    await store.accept(msg(po="PO-1"), ["enkash", "leo"])
    for d, _ in await store.claim("w", 10, 30, T0):
        await store.finish(d.id, None, State.PARKED, reason="identity missing",
                           park_kind="unknown_po")  # fmt: skip
    await store.link_remote("leo", "ERP-1", "PO-OTHER")
    linked = await store.link_new([("enkash", "OBJ-1"), ("leo", "ERP-1")], "PO-1")
    assert linked == ["enkash"]
    assert await store.find_remote("enkash", "OBJ-1") == "PO-1"
    assert await store.find_remote("leo", "ERP-1") == "PO-OTHER", "an existing link stays"
    claimed = await store.claim("w", 10, 30, T0 + timedelta(seconds=1))
    assert [d.target for d, _ in claimed] == ["enkash"], "only the newly named system's"
    assert await store.link_new([("enkash", "OBJ-1")], "PO-1") == []
