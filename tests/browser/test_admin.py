"""The admin page in a real browser (Debian's chromium via Playwright) against a real gateway.

No browser download: ``/usr/bin/chromium`` (``.ci/install-browser``). Under ``CI=true`` a
missing browser fails the suite instead of skipping it. Screenshots go to tests/out/screens/.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from adapters._sim import Faults
from tests import support
from tests.gateway import harness
from tests.gateway.harness import KEYS, Gateway

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip
SCREENS = support.ROOT / "tests" / "out" / "screens"
TIMEOUT_MS = 15_000

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: run .ci/install-browser", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
sync_api.expect.set_options(timeout=TIMEOUT_MS)  # a loaded CI machine is slow to render
Page = Any


def _mount(app: Any) -> Any:
    """Register the admin controllers (and the mappings API) unless app.py already does."""
    from litestar import Controller
    from litestar.handlers import HTTPRouteHandler

    from gateway.api.admin import AdminController, StatsController

    paths = {route.path for route in app.routes}
    handlers: list[Any] = []
    if "/admin" not in paths:
        handlers += [AdminController, StatsController]
    try:
        module = importlib.import_module("gateway.api.mappings")
    except ImportError:
        module = None
    if module is not None and "/api/v1/mappings" not in paths:
        for obj in vars(module).values():
            own = inspect.isclass(obj) and issubclass(obj, Controller) and obj is not Controller
            if (own and obj.__module__ == module.__name__) or isinstance(obj, HTTPRouteHandler):
                handlers.append(obj)
    for handler in handlers:
        app.register(handler)
    return app


@pytest.fixture(scope="module")
def gw(simulators: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    original = getattr(harness, "create_app")  # noqa: B009 (the harness imports it)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(harness, "create_app", lambda *a, **kw: _mount(original(*a, **kw)))
        with harness.gateway(simulators, tmp_path_factory.mktemp("admin")) as g:
            yield g


@pytest.fixture(autouse=True)
def _fresh_sims(gw: Gateway) -> None:
    for s in gw.sims.sims.values():
        s.restart()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def sign_in(page: Page, gw: Gateway, role: str, hash_: str = "") -> None:
    page.goto(f"{gw.url}/admin{hash_}")
    page.fill("#key", KEYS[role])
    page.click("form.signin button[type=submit]")
    sync_api.expect(page.locator("#who")).to_have_attribute("data-role", role)


def push_po(gw: Gateway, po: str) -> str:
    path = support.sample_paths("uniware")[0]
    doc = orjson.loads(path.read_bytes())
    doc["code"] = po
    headers = {"Content-Type": "application/json", **gw.inbound_headers("uniware")}
    reply = httpx.post(f"{gw.url}/inbound/uniware/approvedPurchaseOrder",
                       content=orjson.dumps(doc), headers=headers, timeout=10)  # fmt: skip
    assert reply.status_code == 200, reply.text
    return reply.headers["X-Pohub-Message-Id"]


def open_message_by_po(page: Page, po: str) -> None:
    page.fill("#filters input[name=po_number]", po)
    page.click("#filters button[type=submit]")
    sync_api.expect(page.locator("#messages tbody tr")).to_have_count(1)
    sync_api.expect(page.locator("#messages td.po")).to_have_text(po)
    page.click("#messages tbody tr")
    sync_api.expect(page.locator("#source")).to_contain_text(po)


def test_admin_page_and_static_files_are_served(gw: Gateway) -> None:
    index = httpx.get(f"{gw.url}/admin")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    js = httpx.get(f"{gw.url}/admin/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert httpx.get(f"{gw.url}/admin/static/..%2Fcontroller.py").status_code == 404
    assert httpx.get(f"{gw.url}/admin/static/nope.js").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_sign_in_as_each_role(gw: Gateway, page: Page, role: str) -> None:
    sign_in(page, gw, role)
    sync_api.expect(page.locator("#counts .chip").first).to_be_visible()
    bulk = page.locator(".replay-bulk")
    sync_api.expect(bulk).to_have_count(0 if role == "viewer" else 1)
    shot(page, f"messages-{role}")


def test_a_wrong_key_is_refused(gw: Gateway, page: Page) -> None:
    page.goto(f"{gw.url}/admin")
    page.fill("#key", "not-a-key")
    page.click("form.signin button[type=submit]")
    sync_api.expect(page.locator("#signin-error")).to_contain_text("not valid")
    sync_api.expect(page.locator("#nav")).to_be_hidden()


def test_operator_finds_a_message_by_po_sees_attempts_and_replays(gw: Gateway, page: Page) -> None:
    message_id = push_po(gw, "ADM-REPLAY-1")
    gw.wait(message_id)
    sign_in(page, gw, "operator")
    open_message_by_po(page, "ADM-REPLAY-1")
    leo = page.locator(".delivery[data-target=leo]")
    sync_api.expect(leo.locator("tr.attempt")).to_have_count(1)
    sync_api.expect(leo.locator("td.mapping-version")).not_to_have_text("")
    sync_api.expect(page.locator("#canonical")).to_contain_text("ADM-REPLAY-1")
    shot(page, "message")
    page.locator("select.replay-mapping").first.select_option("first")  # the version first used
    leo.locator("button.replay").click()
    sync_api.expect(leo.locator("button.confirm-replay")).to_be_disabled()  # it was delivered
    leo.locator("input.resend-delivered").check()  # the explicit choice to send it again
    leo.locator("button.confirm-replay").click()
    sync_api.expect(page.locator(".delivery[data-target=leo] tr.attempt")).to_have_count(2)
    page.locator(".delivery[data-target=leo] button.render-again").click()
    sync_api.expect(page.locator(".delivery[data-target=leo] .rendered-box")).to_contain_text(
        "ADM-REPLAY-1"
    )
    shot(page, "message-replayed")


def test_message_shows_each_attempts_sent_request_and_reply(gw: Gateway, page: Page) -> None:
    message_id = push_po(gw, "ADM-SENT-1")
    gw.wait(message_id)
    with gw.client("viewer") as c:
        detail = c.get(f"/api/v1/messages/{message_id}").json()
    leo = next(d for d in detail["deliveries"] if d["target"] == "leo")
    (sent,) = leo["attempts"][-1]["exchanges"]
    received = gw.sims.sims["leo"].received[-1]
    assert orjson.loads(sent["request"]["body"]) == received["json"]
    sign_in(page, gw, "viewer")
    open_message_by_po(page, "ADM-SENT-1")
    card = page.locator(".delivery[data-target=leo]")
    call = card.locator("details.exchange").first
    sync_api.expect(call).to_have_attribute("open", "")
    sync_api.expect(call.locator("h4").first).to_have_text("Sent request")
    sync_api.expect(call.locator(".reply h4")).to_have_text("Reply")
    assert call.locator("pre.sent-body").text_content() == sent["request"]["body"]
    sync_api.expect(call.locator(".reply-status")).to_have_text(f"HTTP {sent['reply']['status']}")
    assert call.locator("pre.reply-body").text_content() == sent["reply"]["body"]
    sync_api.expect(call.locator("pre.sent-headers")).to_contain_text("authorization: [redacted]")
    alpha = next(d for d in detail["deliveries"] if d["target"] == "alphaalpha")
    calls = page.locator(".delivery[data-target=alphaalpha] details.exchange")
    sync_api.expect(calls).to_have_count(len(alpha["attempts"][-1]["exchanges"]))
    again = card.locator("button.render-again")
    sync_api.expect(again).to_have_text("Render again with today's mapping")
    sync_api.expect(page.locator("button", has_text="Show rendered payload")).to_have_count(0)
    again.click()
    sync_api.expect(card.locator(".rendered-note")).to_contain_text(
        "Rendered again with today's mapping"
    )
    sync_api.expect(card.locator(".rendered-box pre.rendered")).to_contain_text("ADM-SENT-1")
    shot(page, "message-sent-request")


def test_viewer_sees_no_replay_button_and_the_api_refuses(gw: Gateway, page: Page) -> None:
    message_id = push_po(gw, "ADM-VIEW-1")
    gw.wait(message_id)
    sign_in(page, gw, "viewer")
    open_message_by_po(page, "ADM-VIEW-1")
    sync_api.expect(page.locator(".delivery").first).to_be_visible()
    sync_api.expect(page.locator("button.replay, button.replay-all")).to_have_count(0)
    sync_api.expect(page.locator("select.replay-mapping")).to_have_count(0)
    with gw.client("viewer") as c:
        assert c.post(f"/api/v1/messages/{message_id}/replay").status_code == 403
        assert c.post("/api/v1/replays", json={"dry_run": True}).status_code == 403


def test_po_timeline_across_systems(gw: Gateway, page: Page) -> None:
    gw.wait(push_po(gw, "ADM-PO-1"))
    sign_in(page, gw, "viewer", "#/po/ADM-PO-1")
    sync_api.expect(page.locator("#timeline li").first).to_contain_text("uniware")
    sync_api.expect(page.locator("#timeline")).to_contain_text("sent to")
    shot(page, "purchase-order")


def test_dead_letters_grouped_by_cause_with_replay_count(gw: Gateway, page: Page) -> None:
    gw.sims.sims["leo"].faults = Faults.parse({"fail_rate": 1.0, "status": 400, "seed": 1})
    message_id = push_po(gw, "ADM-DEAD-1")
    gw.wait(message_id, states=("dead",))
    gw.sims.sims["leo"].faults = Faults()
    with gw.client("viewer") as c:
        causes = c.get("/api/v1/stats/causes", params={"status": "dead"}).json()
        assert c.get("/api/v1/stats/causes", params={"status": "nope"}).status_code == 400
    leo = [g for g in causes if g["target"] == "leo"]
    assert leo and leo[0]["count"] >= 1 and leo[0]["cause"]
    sign_in(page, gw, "operator", "#/problems")
    row = page.locator("#dead tr.cause", has_text="leo").first
    sync_api.expect(row.locator(".count")).to_contain_text("deliver")
    row.locator("button.replay-bulk").click()
    sync_api.expect(row.locator(".replay-count")).to_contain_text(f"replay {leo[0]['count']}")
    shot(page, "problems")
    row.locator("button.confirm-replay").click()
    sync_api.expect(row.locator(".job")).to_contain_text("Replayed")
    gw.wait(message_id)


def test_health_chart_renders_an_svg(gw: Gateway, page: Page) -> None:
    gw.wait(push_po(gw, "ADM-HEALTH-1"))
    with gw.client("viewer") as c:
        stats = c.get("/api/v1/stats/throughput", params={"minutes": 60}).json()
    assert stats["minutes"] == 60 and len(stats["buckets"]) == 60
    assert sum(stats["targets"]["leo"]["delivered"]) >= 1
    sign_in(page, gw, "viewer", "#/health")
    chart = page.locator(".target-health[data-target=leo] svg.chart")
    sync_api.expect(chart).to_be_visible()
    assert chart.locator("rect.bar-delivered").count() >= 1
    shot(page, "health")


def test_mapping_editor_adds_a_row_with_validation_as_you_type(gw: Gateway, page: Page) -> None:
    pytest.importorskip("gateway.api.mappings")
    sign_in(page, gw, "admin", "#/mappings/appliqloud")
    table = page.locator("[data-table='crosswalks.vendor']")
    sync_api.expect(table.locator("tbody tr").first).to_be_visible()
    before = table.locator("tbody tr").count()
    existing = table.locator("input.k").first.input_value()
    table.locator("button.add-row").click()
    new_row = table.locator("tbody tr").nth(before)
    new_row.locator("input.k").fill(existing)
    sync_api.expect(new_row.locator("td.err")).to_contain_text("duplicate key")
    sync_api.expect(page.locator("#save")).to_be_disabled()
    new_row.locator("input.k").fill("AdminPageVendor")
    new_row.locator("input.v").fill("777001")
    sync_api.expect(new_row.locator("td.err")).to_have_text("")
    page.select_option("#sample", "parked")
    sync_api.expect(page.locator("#preview")).not_to_be_empty()
    page.fill("#comment", "vendor added from the admin page")
    sync_api.expect(page.locator("#save")).to_be_enabled()
    page.click("#save")  # a draft: live only once reviewed and published (issue 15)
    sync_api.expect(page.locator("#saved")).to_contain_text("Saved draft")
    page.click("#review")
    page.click("#publish")
    sync_api.expect(page.locator("#saved")).to_contain_text("Published version")
    with gw.client("viewer") as c:
        saved = c.get("/api/v1/mappings/appliqloud").json()
    assert saved["mapping"]["crosswalks"]["vendor"]["AdminPageVendor"] == "777001"
    assert saved["comment"] == "vendor added from the admin page"
    page.click("#show-diff")
    sync_api.expect(page.locator("#diff")).to_contain_text("AdminPageVendor")
    shot(page, "mappings")


def test_mapping_editor_is_read_only_for_a_viewer(gw: Gateway, page: Page) -> None:
    pytest.importorskip("gateway.api.mappings")
    sign_in(page, gw, "viewer", "#/mappings/leo")
    sync_api.expect(page.locator("#read-only")).to_be_visible()
    sync_api.expect(page.locator("button.add-row, #save, button.rollback")).to_have_count(0)
    sync_api.expect(page.locator("input.k").first).to_be_disabled()
    shot(page, "mappings-viewer")


def test_a_view_that_answers_after_a_newer_one_does_not_replace_it(gw: Gateway, page: Page) -> None:
    """CI at load: a PO search showed every message. The list the sign-in opened was still
    waiting for the server when the search's view was drawn; its answer came last and the
    older view was drawn over the newer one. Here the first view's request is held until
    the searched view shows, then let go."""
    for po in ("ADM-RACE-1", "ADM-RACE-2"):
        gw.wait(push_po(gw, po))
    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/api/v1/systems", hold_the_first)
    sign_in(page, gw, "viewer", "#/messages")  # its view waits on the held request
    page.evaluate("location.hash = '#/messages?po_number=ADM-RACE-1'")
    rows = page.locator("#messages tbody tr")
    sync_api.expect(rows).to_have_count(1)
    held[0].continue_()  # the older view's answer comes last
    page.wait_for_timeout(1000)
    sync_api.expect(rows).to_have_count(1)
    sync_api.expect(page.locator("#messages td.po")).to_have_text("ADM-RACE-1")
