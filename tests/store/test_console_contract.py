"""The store contract's operator-console parts, on every backend: the audit log, the
manual-replay marker, case-insensitive prefix search and the PO list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.store.base import Store
from gateway.store.records import AuditEntry, MessageFilter, State
from tests.store.test_contract import T0, attempt, msg, store  # noqa: F401 (the fixture)

pytestmark = pytest.mark.anyio


async def test_the_audit_log_keeps_every_entry_newest_first(store: Store) -> None:  # noqa: F811
    assert (await store.audit()).total == 0
    for i in range(5):
        entry = AuditEntry(actor="ops", role="operator", action="replay", subject=f"m{i}",
                           at=T0 + timedelta(seconds=i), detail={"n": i})  # fmt: skip
        await store.add_audit(entry)
    page = await store.audit(offset=1, limit=2)
    assert page.total == 5 and page.offset == 1 and page.limit == 2
    assert [e.subject for e in page.items] == ["m3", "m2"]
    first = (await store.audit(limit=10)).items[-1]
    assert first.subject == "m0" and first.actor == "ops" and first.role == "operator"
    assert first.at == T0 and first.detail == {"n": 0}


async def test_a_manual_replay_marks_the_next_attempt_only(store: Store) -> None:  # noqa: F811
    stored, _ = await store.accept(msg(), ["leo"])
    ((d, _),) = await store.claim("w", 10, 30, T0)
    assert d.replayed_by is None
    await store.finish(d.id, attempt("dead", 400), State.DEAD, reason="x")
    assert await store.replay(d.id, by="alice (operator)")
    ((claimed, _),) = await store.claim("w", 10, 30, T0 + timedelta(seconds=1))
    assert claimed.replayed_by == "alice (operator)"
    await store.finish(d.id, attempt("retry", 500), State.RETRYING, next_at=T0)
    got = await store.get_message(stored.id)
    assert got is not None and got.deliveries[0].replayed_by is None  # the retry is automatic
    assert await store.replay(d.id)  # a replay without a name leaves no marker
    got = await store.get_message(stored.id)
    assert got is not None and got.deliveries[0].replayed_by is None


async def test_search_by_po_prefix_and_message_id_ignores_case(store: Store) -> None:  # noqa: F811
    one, _ = await store.accept(msg(po="Abc-100"), ["leo"])
    await store.accept(msg(po="abc-200", at=T0 + timedelta(seconds=1)), ["leo"])
    await store.accept(msg(po="XABC-1"), ["leo"])
    found = await store.search(MessageFilter(po_prefix="ABC-"))
    assert found.total == 2 and {m.po_number for m in found.items} == {"Abc-100", "abc-200"}
    assert (await store.search(MessageFilter(po_prefix="abc-1"))).total == 1
    assert (await store.search(MessageFilter(po_prefix="abc%"))).total == 0  # no wildcards
    by_id = await store.search(MessageFilter(message_id=one.id[:8].upper()))
    assert [m.id for m in by_id.items] == [one.id]
    with_state = MessageFilter(po_prefix="aBc", status=State.QUEUED)
    assert (await store.search(with_state)).total == 2
    assert len([d async for d in store.deliveries(with_state)]) == 2
    assert len([d async for d in store.deliveries(MessageFilter(message_id=one.id[:6]))]) == 1


async def test_the_po_list_is_latest_first_with_counts(store: Store) -> None:  # noqa: F811
    await store.accept(msg(po="PO-A"), ["leo"])
    await store.accept(msg(po="PO-A", at=T0 + timedelta(seconds=5)), ["leo"])
    await store.accept(msg(po="po-b", at=T0 + timedelta(seconds=9)), ["leo"])
    await store.accept(msg(po="Other", at=T0 + timedelta(seconds=1)), ["leo"])
    listing = await store.purchase_orders()
    assert listing.total == 3
    assert [(p.po_number, p.messages) for p in listing.items] == [
        ("po-b", 1), ("PO-A", 2), ("Other", 1)
    ]  # fmt: skip
    assert listing.items[1].last_received_at == T0 + timedelta(seconds=5)
    only = await store.purchase_orders(prefix="PO-", limit=1)
    assert only.total == 2 and [p.po_number for p in only.items] == ["po-b"]
    page_two = await store.purchase_orders(prefix="po-", offset=1, limit=1)
    assert [p.po_number for p in page_two.items] == ["PO-A"]


async def test_message_state_filter_is_the_state_lists_show(store: Store) -> None:  # noqa: F811
    """Seen: the "delivered" filter listed messages whose State column said parked."""
    mixed, _ = await store.accept(msg(po="M1"), ["leo", "enkash"])
    done, _ = await store.accept(msg(po="M2"), ["leo"])
    for d, _m in await store.claim("w", 10, 30, T0):
        if d.message_id == mixed.id and d.target == "enkash":
            await store.finish(d.id, attempt("parked", None), State.PARKED, reason="r",
                               park_kind="mapping")  # fmt: skip
        else:
            await store.finish(d.id, attempt("delivered"), State.DELIVERED)
    delivered = await store.search(MessageFilter(message_state=State.DELIVERED))
    assert [m.id for m in delivered.items] == [done.id]
    parked = await store.search(MessageFilter(message_state=State.PARKED))
    assert [m.id for m in parked.items] == [mixed.id]
    # a delivery's state (``status``) still finds the message by its delivered leo delivery
    by_delivery = await store.search(MessageFilter(status=State.DELIVERED, target="leo"))
    assert by_delivery.total == 2
