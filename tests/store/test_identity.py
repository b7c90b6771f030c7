"""The identity crosswalk and the message note, on every backend (the contract suite's store)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

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
