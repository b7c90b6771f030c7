"""The operator console in a real browser (issue 15): replays that do what they say, the
audit log, the truth per attempt, counts and filters, purchase orders, the keyboard.

Each test is one "What was seen" of the issue, in the browser, against a real gateway
(fixtures from test_admin.py). Screenshots go to tests/out/screens/console-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import orjson

from adapters._sim import Faults
from tests import support
from tests.browser import test_admin
from tests.browser.test_admin import shot, sign_in, sync_api
from tests.gateway.harness import KEYS, Gateway

# the fixtures of test_admin.py, shared by assignment (pytest finds them by name)
gw = test_admin.gw
browser = test_admin.browser
page = test_admin.page
_fresh_sims = test_admin._fresh_sims
Page = Any
expect = sync_api.expect
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")


def push_po(gw: Gateway, po: str) -> str:
    return test_admin.push_po(gw, po)


def dead_at_leo(gw: Gateway, *pos: str) -> list[str]:
    gw.sims.sims["leo"].faults = Faults.parse({"fail_rate": 1.0, "status": 400, "seed": 1})
    ids = [push_po(gw, po) for po in pos]
    for message_id in ids:
        gw.wait(message_id, states=("dead",), target="leo")
    gw.sims.sims["leo"].faults = Faults()
    return ids


def leo_of(gw: Gateway, message_id: str) -> dict[str, Any]:
    with gw.client("viewer") as c:
        detail = c.get(f"/api/v1/messages/{message_id}").json()
    return next(d for d in detail["deliveries"] if d["target"] == "leo")


def test_bulk_replay_acts_on_the_typed_filter_not_the_searched_one(gw: Gateway, page: Page) -> None:
    """Seen: Target and Status typed but not searched, and the replay counted (and would
    have replayed) the last searched filter."""
    wanted, other = dead_at_leo(gw, "CON-TYPED-1", "CON-TYPED-2")
    sign_in(page, gw, "operator", "#/messages")
    expect(page.locator("#messages tbody tr").first).to_be_visible()
    page.fill("#filters input[name=po_number]", "con-typed-1")  # typed, any case, not searched
    page.select_option("#filters select[name=target]", "leo")
    page.select_option("#filters select[name=status]", "dead")
    page.click("button.replay-bulk")
    confirm = page.locator(".bulk-replay .confirm")
    expect(confirm.locator(".replay-count")).to_have_text("This will replay 1 delivery:")
    expect(confirm.locator(".replay-filter")).to_have_text(
        'deliveries that are dead, to leo, of POs starting with "con-typed-1" (any case)'
    )
    expect(confirm.locator(".replay-states")).to_contain_text("States: dead")
    shot(page, "console-bulk-replay-confirm")
    page.fill("#filters input[name=po_number]", "con-typed")  # the filter changed: no stale confirm
    expect(confirm).to_have_count(0)
    page.fill("#filters input[name=po_number]", "con-typed-1")
    page.click("button.replay-bulk")
    page.click(".bulk-replay button.confirm-replay")
    expect(page.locator(".bulk-replay .job")).to_have_text("Replayed 1 of 1 delivery.")
    gw.wait(wanted, target="leo")
    assert leo_of(gw, wanted)["attempts"][-1]["manual_by"] == "operator (operator)"
    untouched = leo_of(gw, other)
    assert untouched["state"] == "dead" and len(untouched["attempts"]) == 1


def test_delivered_deliveries_need_the_explicit_box(gw: Gateway, page: Page) -> None:
    """Seen: with no filter every delivery was offered, delivered ones included, and
    "Replay all targets" resent delivered deliveries on one click."""
    message_id = push_po(gw, "CON-DELIV-1")
    gw.wait(message_id)
    sent_before = len(gw.sims.sims["leo"].received)
    sign_in(page, gw, "operator", "#/messages")
    page.fill("#filters input[name=po_number]", "CON-DELIV-1")
    page.select_option("#filters select[name=target]", "leo")
    page.click("button.replay-bulk")
    expect(page.locator(".replay-count")).to_have_text("This will replay 0 deliveries:")
    expect(page.locator(".replay-states")).to_contain_text("dead, parked, retrying")
    expect(page.locator(".bulk-replay button.confirm-replay")).to_be_disabled()
    page.click(".bulk-replay button.cancel-replay")
    page.select_option("#filters select[name=status]", "delivered")
    page.click("button.replay-bulk")
    expect(page.locator(".replay-refused")).to_contain_text("include_delivered")
    page.click(".bulk-replay button.cancel-replay")
    page.check(".bulk-replay input.include-delivered")
    page.click("button.replay-bulk")
    expect(page.locator(".replay-count")).to_have_text("This will replay 1 delivery:")
    expect(page.locator(".replay-states")).to_contain_text("will be sent again")
    shot(page, "console-bulk-replay-delivered")
    page.click(".bulk-replay button.cancel-replay")
    # one message: "Replay all targets…" leaves the delivered ones alone unless ticked
    page.goto(f"{gw.url}/admin#/message/{message_id}")
    page.click("button.replay-all")
    bar = page.locator(".replay-bar")
    expect(bar.locator(".replay-count")).not_to_contain_text("leo")
    expect(bar.locator("label.resend")).to_contain_text("leo (delivered)")
    shot(page, "console-replay-all-confirm")
    page.click(".replay-bar button.cancel-replay")
    assert len(gw.sims.sims["leo"].received) == sent_before
    assert len(leo_of(gw, message_id)["attempts"]) == 1


def test_the_audit_log_shows_who_did_what_and_when(gw: Gateway, page: Page) -> None:
    (message_id,) = dead_at_leo(gw, "CON-AUDIT-1")
    sign_in(page, gw, "operator", f"#/message/{message_id}")
    leo = page.locator(".delivery[data-target=leo]")
    leo.locator("button.replay").click()
    leo.locator("button.confirm-replay").click()
    expect(leo.locator("tr.attempt")).to_have_count(2)  # the page reloads once it went
    expect(page.locator(".delivery[data-target=leo] tr.attempt").nth(1)).to_have_attribute(
        "data-trigger", "manual"
    )
    page.click("#nav a[href='#/audit']")
    row = page.locator("#audit tr.audit-entry", has_text=message_id).first
    expect(row.locator(".action")).to_have_text("replay")
    expect(row.locator(".who")).to_have_text("operator · operator")
    expect(row.locator(".subject")).to_have_text(f"message {message_id} to leo")
    assert ISO.match(row.locator(".at").inner_text()), row.locator(".at").inner_text()
    shot(page, "console-audit-log")
    with page.expect_download() as download:
        page.click("button.export-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("at,actor,role,action") and message_id in text
    assert all(key not in text for key in KEYS.values())


def test_a_viewer_has_no_audit_link_and_the_api_refuses(gw: Gateway, page: Page) -> None:
    sign_in(page, gw, "viewer")
    expect(page.locator("#nav a[href='#/audit']")).to_be_hidden()
    reply = httpx.get(
        f"{gw.url}/api/v1/audit", headers={"Authorization": f"Bearer {KEYS['viewer']}"}
    )
    assert reply.status_code == 403


def test_each_attempt_says_manual_or_automatic_and_its_version_number(
    gw: Gateway, page: Page
) -> None:
    """Seen: manual replays looked like automatic retries; attempts showed a 12-character
    hash while the Mappings page shows integer versions; no next attempt time."""
    (message_id,) = dead_at_leo(gw, "CON-TRUTH-1")
    with gw.client("operator") as c:
        c.post(f"/api/v1/messages/{message_id}/replay", params={"target": "leo"})
        versions = c.get("/api/v1/mappings/leo/versions").json()
    gw.wait(message_id, target="leo")
    number = {v["content_version"]: v["version"] for v in versions}
    sign_in(page, gw, "viewer", f"#/message/{message_id}")
    rows = page.locator(".delivery[data-target=leo] tr.attempt")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td.trigger")).to_have_text("automatic (first try)")
    expect(rows.nth(1).locator("td.trigger")).to_have_text("manual replay by operator (operator)")
    fingerprint = leo_of(gw, message_id)["attempts"][-1]["mapping_version"]
    version = rows.nth(1).locator("td.mapping-version")
    expect(version.locator("a")).to_have_text(f"v{number[fingerprint]}")
    expect(version.locator("code.hash")).to_have_text(fingerprint)  # secondary detail
    expect(
        page.locator(".delivery[data-target=leo] .exchange pre.sent-body").first
    ).not_to_be_empty()
    shot(page, "console-attempts")
    gw.sims.sims["leo"].faults = Faults.parse({"fail_rate": 1.0, "status": 429, "retry_after": 60})
    retrying = push_po(gw, "CON-RETRY-1")
    gw.wait(retrying, states=("retrying",), target="leo")
    gw.sims.sims["leo"].faults = Faults()
    page.goto(f"{gw.url}/admin#/message/{retrying}")
    next_at = page.locator(".delivery[data-target=leo] .next-attempt time")
    expect(next_at).to_be_visible()
    assert ISO.match(next_at.inner_text()), next_at.inner_text()


def test_counts_say_deliveries_or_messages_and_the_state_filter_matches_the_column(
    gw: Gateway, page: Page
) -> None:
    """Seen: chips counted deliveries and the table messages, unlabelled; the "delivered"
    filter listed messages whose State column said parked."""
    gw.wait(push_po(gw, "CON-COUNT-1"))  # leo delivered; enkash parks it (identity missing)
    sign_in(page, gw, "viewer", "#/messages?po_number=CON-COUNT-1&status=delivered")
    expect(page.locator("#counts .chips-label").first).to_have_text("Deliveries:")
    expect(page.locator("#counts")).to_contain_text("Messages:")
    expect(page.locator("#results .total")).to_contain_text("0 messages")
    page.goto(f"{gw.url}/admin#/messages?po_number=CON-COUNT-1&status=parked")
    expect(page.locator("#messages td.state")).to_have_text(["parked"])
    page.goto(f"{gw.url}/admin#/messages?po_number=con-count&target=leo&status=delivered")
    expect(page.locator("#messages thead")).to_contain_text("State at leo")
    expect(page.locator("#messages td.state")).to_have_text(["delivered"])
    shot(page, "console-counts")


def test_filters_are_choices_and_search_ignores_case_by_po_prefix_and_id(
    gw: Gateway, page: Page
) -> None:
    """Seen: free-text, case-sensitive System/Target; no search by message id."""
    message_id = push_po(gw, "Con-Case-1")
    gw.wait(message_id)
    sign_in(page, gw, "viewer", "#/messages")
    targets = page.locator("#filters select[name=target] option").all_inner_texts()
    assert {"leo", "enkash", "appliqloud", "alphaalpha"} <= set(targets)
    assert "uniware" in page.locator("#filters select[name=system] option").all_inner_texts()
    page.fill("#filters input[name=po_number]", "CON-CASE")
    page.click("#filters button[type=submit]")
    expect(page.locator("#messages td.po")).to_have_text(["Con-Case-1"])
    page.fill("#filters input[name=po_number]", "")
    page.fill("#filters input[name=message_id]", message_id.upper())
    page.click("#filters button[type=submit]")
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    expect(page.locator("#messages tbody tr")).to_have_attribute("data-id", message_id)


def test_message_rows_open_with_the_keyboard_and_times_are_iso(gw: Gateway, page: Page) -> None:
    """Seen: message rows could not take focus; dates en-US without a zone."""
    message_id = push_po(gw, "CON-KEYS-1")
    gw.wait(message_id)
    sign_in(page, gw, "viewer", "#/messages?po_number=CON-KEYS-1")
    row = page.locator("#messages tbody tr")
    expect(row).to_have_count(1)
    page.focus("#filters button[type=submit]")
    for _ in range(10):  # Tab from the Search button reaches the row
        page.keyboard.press("Tab")
        if row.evaluate("el => el === document.activeElement"):
            break
    expect(row).to_be_focused()
    assert ISO.match(row.locator("td").first.inner_text())
    shot(page, "console-keyboard-focus")
    page.keyboard.press("Enter")
    expect(page.locator("h1 code")).to_have_text(message_id)
    facts = page.locator(".message-facts time").inner_text()
    assert ISO.match(facts), facts


def test_purchase_orders_list_timeline_and_unknown(gw: Gateway, page: Page) -> None:
    """Seen: an unknown PO printed "null"; identical timeline lines naming no event; a
    summary beginning "· buyer"; remote ids as raw JSON; no list of POs."""
    gw.wait(push_po(gw, "CON-PO-1"))
    gw.wait(push_po(gw, "CON-PO-2"))
    sign_in(page, gw, "viewer", "#/po?prefix=con-po")
    expect(page.locator("#po-list tbody tr")).to_have_count(2)
    expect(page.locator("#po-list tbody tr").first).to_have_attribute("data-po", "CON-PO-2")
    shot(page, "console-po-list")
    page.click("#po-list a:text('CON-PO-1')")
    summary = page.locator("#po-summary")
    expect(summary).to_contain_text("PO CON-PO-1")
    facts = page.locator("#po-summary .po-facts").inner_text()
    assert not facts.startswith("·") and "buyer" in facts, facts
    expect(summary).not_to_contain_text("{")
    events = page.locator("#timeline > li.event")
    expect(events).to_have_count(1)
    expect(events.first.locator(".event-kind")).not_to_have_text("message")
    lines = events.first.locator("li.sent-to").all_inner_texts()
    assert len(lines) == len(set(lines)) >= 4, lines
    shot(page, "console-po-timeline")
    page.goto(f"{gw.url}/admin#/po/NO-SUCH-PO-1")
    expect(page.locator("#no-po")).to_contain_text('no purchase order "NO-SUCH-PO-1"')
    expect(page.locator("#view")).not_to_contain_text("null")


def test_a_rejected_message_shows_its_po_and_reason(gw: Gateway, page: Page) -> None:
    """Seen: rejected messages showed no PO or reason."""
    gw.wait(push_po(gw, "CON-REJ-1"))
    path = support.ROOT / "adapters" / "leo" / "samples" / "corpus" / "unknown-line.json"
    doc = orjson.loads(path.read_bytes())
    doc["documentNumber"] = "CON-REJ-1"  # a line the PO does not have: refused against it
    headers = {"Content-Type": "application/json", **support.headers_for(path),
               **gw.inbound_headers("leo")}  # fmt: skip
    reply = httpx.post(f"{gw.url}/inbound/leo/leo-order-domaingateway-api/api/v2/Order/processAsync",
                       content=orjson.dumps(doc), headers=headers, timeout=10)  # fmt: skip
    assert reply.status_code >= 400, reply.text
    sign_in(page, gw, "viewer", "#/messages?status=rejected&po_number=CON-REJ-1")
    row = page.locator("#messages tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td.po")).to_have_text("CON-REJ-1")
    expect(row.locator(".rejected-reason")).to_contain_text("Rejected: ")
    row.click()
    expect(page.locator(".message-facts a.po-link")).to_have_text("CON-REJ-1")
    expect(page.locator("p.rejected")).to_contain_text("$.lineInfo")
    shot(page, "console-rejected")


def test_time_filters_are_typed_and_shown_as_iso_with_zone(gw: Gateway, page: Page) -> None:
    """Seen: dates in the en-US form without a zone (the browser's date control too)."""
    gw.wait(push_po(gw, "CON-TIME-1"))
    sign_in(page, gw, "viewer", "#/messages?po_number=CON-TIME-1")
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    page.fill("#filters input[name=since]", "2999-01-01T00:00Z")
    page.click("#filters button[type=submit]")
    expect(page.locator("#results .total")).to_contain_text("0 messages")
    expect(page.locator("#filters input[name=since]")).to_have_value("2999-01-01T00:00:00Z")
    page.fill("#filters input[name=since]", "2000-01-01T00:00:00+05:30")
    page.click("#filters button[type=submit]")
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    expect(page.locator("#filters input[name=since]")).to_have_value("1999-12-31T18:30:00Z")
