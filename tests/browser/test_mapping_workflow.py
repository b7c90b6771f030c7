"""The mapping workflow in a real browser (issue 15): values checked against the system's
rules, drafts reviewed and then published, rollback through the same review, the
unsaved-changes guard, CSV export/import, and null kept null.

Fixtures come from test_admin.py (one gateway per module, Debian's chromium). Each test
works on its own system or cleans up its draft, so their order does not matter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.browser.test_admin import SCREENS, push_po, shot, sign_in, sync_api
from tests.browser.test_admin import _fresh_sims as _fresh_sims
from tests.browser.test_admin import browser as browser
from tests.browser.test_admin import gw as gw
from tests.browser.test_admin import page as page
from tests.gateway.harness import Gateway

Page = Any
expect = sync_api.expect


def _live(gw: Gateway, system: str) -> dict[str, Any]:
    with gw.client("viewer") as c:
        reply = c.get(f"/api/v1/mappings/{system}")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _put_live(gw: Gateway, system: str, mapping: dict[str, Any], comment: str) -> int:
    with gw.client("admin") as c:
        reply = c.put(f"/api/v1/mappings/{system}", json={"mapping": mapping, "comment": comment})
    assert reply.status_code == 200, reply.text
    return int(reply.json()["version"])


def _draft(gw: Gateway, system: str) -> dict[str, Any] | None:
    with gw.client("viewer") as c:
        reply = c.get(f"/api/v1/mappings/{system}/draft")
    return None if reply.status_code == 404 else dict(reply.json())


def _discard(gw: Gateway, system: str) -> None:
    with gw.client("admin") as c:
        assert c.delete(f"/api/v1/mappings/{system}/draft").status_code == 200


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(orjson.loads(orjson.dumps(doc)))


def _row(page: Page, table: str, key: str) -> Any:
    return page.locator(f"[data-table='{table}'] tbody tr[data-key='{key}']")


def test_a_status_code_that_is_not_a_choice_is_refused(gw: Gateway, page: Page) -> None:
    sign_in(page, gw, "admin", "#/mappings/alphaalpha")
    table = page.locator("[data-table='statuses.document']")
    expect(table.locator(".table-note")).to_contain_text("Choices only")
    row = _row(page, "statuses.document", "DRAFT")
    row.locator("input.v").fill("BOGUS")
    expect(row.locator("td.err")).to_contain_text("'BOGUS' is not one of the system's status codes")
    expect(row.locator("td.err")).to_contain_text("rule: choice")
    expect(row.locator("input.v")).to_have_class("v invalid")
    expect(page.locator("#save")).to_be_disabled()
    shot(page, "mapping-status-not-a-choice")
    row.locator("input.v").fill("PENDING_INTERNAL_APPROVAL")
    expect(row.locator("td.err")).to_have_text("")
    expect(page.locator("#save")).to_be_enabled()
    assert _draft(gw, "alphaalpha") is None and _live(gw, "alphaalpha")["version"] == 1


def test_a_blank_vendor_id_is_refused_and_no_format_is_invented(gw: Gateway, page: Page) -> None:
    sign_in(page, gw, "admin", "#/mappings/enkash")
    table = page.locator("[data-table='crosswalks.vendor']")
    expect(table.locator(".table-note")).to_contain_text("the document states no format")
    row = _row(page, "crosswalks.vendor", "Sachin123")
    row.locator("input.v").fill("   ")
    expect(row.locator("td.err")).to_contain_text("the value is blank")
    expect(row.locator("td.err")).to_contain_text("rule: not_blank")
    expect(page.locator("#save")).to_be_disabled()
    shot(page, "mapping-blank-vendor-id")
    row.locator("input.v").fill("not-a-number!!")  # no EnKash document states a format
    expect(row.locator("td.err")).to_have_text("")
    with gw.client("admin") as c:  # and the API refuses the blank id whatever the page does
        mapping = _live(gw, "enkash")["mapping"]
        mapping["crosswalks"]["vendor"]["Sachin123"] = "   "
        reply = c.put("/api/v1/mappings/enkash/draft", json={"mapping": mapping})
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["path"] == "$.crosswalks.vendor.Sachin123"


def test_draft_review_publish_from_a_parked_cause(gw: Gateway, page: Page) -> None:
    live = _live(gw, "appliqloud")
    broken = _copy(live["mapping"])
    vendor_id = broken["crosswalks"]["vendor"].pop("Sachin123")
    version = _put_live(gw, "appliqloud", broken, "vendor row removed")
    parked = [push_po(gw, f"MAPFLOW-PARK-{i:02d}") for i in range(12)]
    for message_id in parked:
        gw.wait(message_id, states=("parked",), target="appliqloud")

    sign_in(page, gw, "admin", "#/problems")
    cause = page.locator("#parked tr.cause", has_text="crosswalks.vendor").first
    cause.locator("a", has_text="edit mapping").click()
    expect(page.locator("#cause-note")).to_contain_text("crosswalks.vendor row 'Sachin123'")
    row = _row(page, "crosswalks.vendor", "Sachin123")
    expect(row.locator("input.v")).to_be_focused()
    row.locator("input.v").fill(vendor_id)
    page.fill("#comment", "vendor row back")
    page.click("#save")
    expect(page.locator("#saved")).to_contain_text("Saved draft revision 1")
    expect(page.locator("#draft-state")).to_contain_text(f"started from version {version}")
    assert _live(gw, "appliqloud")["version"] == version  # a draft is not live
    assert gw.wait(parked[0], states=("parked",), target="appliqloud")

    # the live preview of the parked deliveries: paged, collapsed, no diff against nothing
    page.select_option("#sample", "parked")
    expect(page.locator("#preview .pager")).to_contain_text("1\u201310 of 12")
    results = page.locator("#preview details.preview-result")
    expect(results).to_have_count(10)
    assert results.evaluate_all("els => els.filter(e => e.open).length") == 0
    expect(results.first.locator(".live-error")).to_contain_text("cannot render")
    expect(results.first.locator("table.diff")).to_have_count(0)
    page.locator("#preview button.next").click()
    expect(results).to_have_count(2)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 10_000, f"the page is {height} px tall"  # one page, collapsed (was 106,000)

    page.click("#review")
    panel = page.locator("#review-panel")
    expect(panel.locator("table.diff")).to_contain_text("$.crosswalks.vendor.Sachin123")
    expect(page.locator("#impact")).to_contain_text("Publishing releases 12 of 12 parked")
    expect(panel.locator(".pager")).to_contain_text("1\u201310 of 12")
    first = panel.locator("details.preview-result").first
    expect(first).to_contain_text("on publish: releases")
    first.locator("summary").first.click()
    first.locator("details.output summary").click()
    wide = panel.evaluate(
        "p => [...p.querySelectorAll('table.diff, pre, details')]"
        ".filter(e => e.scrollWidth > p.clientWidth).length"
    )
    assert wide == 0, "a diff or an output overflows the review card"
    shot(page, "mapping-review")
    panel.screenshot(path=str(SCREENS / "mapping-review-panel.png"))  # the README's picture
    page.click("#publish")
    expect(page.locator("#saved")).to_contain_text(f"Published version {version + 1}")
    expect(page.locator("#version")).to_have_text(f"live version {version + 1}")
    now = _live(gw, "appliqloud")
    assert now["mapping"]["crosswalks"]["vendor"]["Sachin123"] == vendor_id
    assert now["comment"] == "vendor row back" and _draft(gw, "appliqloud") is None
    for message_id in parked:
        gw.wait(message_id, timeout=30, target="appliqloud")
    shot(page, "mapping-published")


def test_a_new_code_on_an_open_list_must_be_confirmed_before_publishing(
    gw: Gateway, page: Page
) -> None:
    """Uniware's document gives one example code and no list: a new code is legal, so it is
    not refused, but the review names it and publishing waits for a confirmation."""
    sign_in(page, gw, "admin", "#/mappings/uniware")
    row = _row(page, "statuses.document", "DRAFT")
    row.locator("input.v").fill("BOGUS")
    expect(page.locator("#new-codes")).to_contain_text("New status codes")
    expect(page.locator("#new-codes")).to_contain_text("BOGUS")
    expect(row.locator("td.err")).to_have_text("")
    page.click("#review")
    expect(page.locator("#review-new-codes")).to_contain_text("BOGUS")
    expect(page.locator("#publish")).to_be_disabled()
    page.check("#ack-new-codes")
    expect(page.locator("#publish")).to_be_enabled()
    shot(page, "mapping-new-code-review")
    assert _live(gw, "uniware")["mapping"]["statuses"]["document"]["DRAFT"] == "CREATED"
    _discard(gw, "uniware")


def test_the_sample_picker_finds_a_message_by_po_number(gw: Gateway, page: Page) -> None:
    message_id = push_po(gw, "MAPFLOW-SAMPLE-1")
    gw.wait(message_id)
    sign_in(page, gw, "viewer", "#/mappings/leo")
    page.fill("#sample-search", "MAPFLOW-SAMPLE-1")
    page.click("#sample-find")
    expect(page.locator("#sample-info")).to_contain_text("messages 1\u20131 of 1")
    page.select_option("#sample", message_id)
    expect(page.locator("#preview details.preview-result")).to_contain_text("MAPFLOW-SAMPLE-1")
    expect(page.locator("#preview details.preview-result")).to_contain_text("no change")


def test_an_unchanged_draft_reviews_as_no_change(gw: Gateway, page: Page) -> None:
    sign_in(page, gw, "admin", "#/mappings/uniware")
    row = _row(page, "statuses.document", "APPROVED")
    row.locator("input.v").fill("APPROVED ")
    row.locator("input.v").fill("APPROVED")
    page.click("#review")
    expect(page.locator("#no-change")).to_contain_text("No change")
    _discard(gw, "uniware")


def test_rollback_shows_the_review_before_publishing(gw: Gateway, page: Page) -> None:
    before = _live(gw, "leo")
    changed = _copy(before["mapping"])
    changed["defaults"]["lob"] = "ROLLBACK-LOB"
    version = _put_live(gw, "leo", changed, "lob changed")
    sign_in(page, gw, "admin", "#/mappings/leo")
    page.locator(f"tr.version[data-version='{before['version']}'] button.rollback").click()
    panel = page.locator("#review-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("table.diff")).to_contain_text("$.defaults.lob")
    expect(panel.locator("table.diff")).to_contain_text("ROLLBACK-LOB")
    assert _live(gw, "leo")["version"] == version  # nothing happened on the click alone
    expect(page.locator("#draft-state")).to_contain_text("Draft revision")
    shot(page, "mapping-rollback-review")
    page.click("#publish")
    expect(page.locator("#saved")).to_contain_text(f"Published version {version + 1}")
    now = _live(gw, "leo")
    assert now["content_version"] == before["content_version"]
    assert now["comment"] == f"rollback to v{before['version']}"


def test_leaving_with_unsaved_edits_asks_first(gw: Gateway, page: Page) -> None:
    sign_in(page, gw, "admin", "#/mappings/enkash")
    row = _row(page, "crosswalks.buyer", "neemka")
    row.locator("input.v").fill("UNSAVED-BUYER")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#nav a[href='#/messages']")
    expect(page.locator("#mapping")).to_be_visible()
    assert asked and "unsaved edits" in asked[0]
    assert page.evaluate("location.hash") == "#/mappings/enkash"
    expect(row.locator("input.v")).to_have_value("UNSAVED-BUYER")
    prevented = page.evaluate(
        "() => { const e = new Event('beforeunload', {cancelable: true});"
        " window.dispatchEvent(e); return e.defaultPrevented; }"
    )
    assert prevented, "closing or reloading the tab is not guarded"
    page.once("dialog", dismiss)
    page.click("#signout")
    expect(page.locator("#who")).to_have_attribute("data-role", "admin")
    assert len(asked) == 2
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#nav a[href='#/messages']")
    expect(page.locator("#mapping")).to_have_count(0)
    assert _draft(gw, "enkash") is None


def test_csv_export_and_import_round_trip(gw: Gateway, page: Page, tmp_path: Path) -> None:
    sign_in(page, gw, "admin", "#/mappings/appliqloud")
    table = page.locator("[data-table='crosswalks.product']")
    expect(table.locator("thead")).to_contain_text("hub SKU")
    with page.expect_download() as download:
        table.locator("button.export-csv").click()
    exported = tmp_path / "product.csv"
    download.value.save_as(exported)
    lines = exported.read_text().splitlines()
    assert lines[0] == "hub SKU,productId"
    assert "Shirt27,101" in lines
    exported.write_text("\r\n".join([*lines, '"Csv, Sku",555', "CsvSku2,556"]) + "\r\n")
    table.locator("input.csv-file").set_input_files(str(exported))
    expect(table.locator("tbody tr")).to_have_count(len(lines) + 1)
    expect(table.locator("tr[data-key='Csv, Sku']")).to_have_count(1)
    table.locator("input.table-search").fill("csv")
    expect(table.locator(".row-count")).to_have_text(f"2 of {len(lines) + 1} rows")
    shot(page, "mapping-csv-import")
    page.click("#save")
    expect(page.locator("#saved")).to_contain_text("Saved draft")
    draft = _draft(gw, "appliqloud")
    assert draft is not None
    assert draft["mapping"]["crosswalks"]["product"]["Csv, Sku"] == "555"
    assert draft["mapping"]["crosswalks"]["product"]["CsvSku2"] == "556"
    _discard(gw, "appliqloud")


@pytest.mark.parametrize("system", ["alphaalpha"])
def test_saving_keeps_null_as_null(gw: Gateway, page: Page, system: str) -> None:
    live = _live(gw, system)
    no_description = _copy(live["mapping"])
    no_description["description"] = None
    _put_live(gw, system, no_description, "no description")
    assert _live(gw, system)["mapping"]["units"]["default"] is None
    sign_in(page, gw, "admin", f"#/mappings/{system}")
    table = page.locator("[data-table='crosswalks.product']")
    table.locator("button.add-row").click()
    new = table.locator("tbody tr").last
    new.locator("input.k").fill("NullCheckSku")
    new.locator("input.v").fill("p-1")
    page.click("#save")
    expect(page.locator("#saved")).to_contain_text("Saved draft")
    draft = _draft(gw, system)
    assert draft is not None
    assert draft["mapping"]["units"]["default"] is None
    assert draft["mapping"]["description"] is None
    assert draft["mapping"]["crosswalks"]["product"]["NullCheckSku"] == "p-1"
    _discard(gw, system)
