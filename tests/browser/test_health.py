"""The health page shows trouble (issue 15): open circuits in red, backlog, oldest age, next
retry, latency, a shared scale, park events apart from deliveries parked now; and an operator
pauses and resumes a target from it. Same gateway and browser fixtures as test_admin.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from adapters._sim import Faults
from gateway.settings.config import AlertsConfig
from tests.alert_receivers import SECRET, Mailbox, Receiver, smtp_server, webhook_receiver
from tests.browser import test_admin as admin
from tests.browser.test_admin import push_po, shot, sign_in, sync_api
from tests.gateway import harness
from tests.gateway.harness import Gateway

# the gateway, browser and page fixtures of test_admin.py (a gateway of this module's own)
gw, browser, page, _fresh_sims = admin.gw, admin.browser, admin.page, admin._fresh_sims
expect = sync_api.expect
RED = "rgb(192, 57, 43)"


def wait_for(check: Any, what: str, timeout: float = 30) -> Any:
    """Poll ``check`` until it returns something true (a wait, not an assertion on time)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.1)


def target_view(gw: Gateway, name: str) -> dict[str, Any]:
    with gw.client("viewer") as c:
        return dict(c.get("/api/v1/targets").json()["targets"][name])


def close_breakers(gw: Gateway, name: str) -> None:
    for worker in gw.hub.workers:
        worker.targets[name].breaker.success()


def test_an_open_circuit_is_red_with_its_backlog_and_next_retry(gw: Gateway, page: Any) -> None:
    sim = gw.sims.sims["appliqloud"]
    sim.faults = Faults.parse({"fail_rate": 1.0, "status": 500, "seed": 1})
    try:
        push_po(gw, "HEALTH-CIRCUIT-1")
        wait_for(lambda: target_view(gw, "appliqloud")["circuit"] == "open", "an open circuit")
        sign_in(page, gw, "viewer", "#/health")
        row = page.locator("tr.target-row[data-target=appliqloud]")
        chip = row.locator(".circuit")
        expect(chip).to_have_class("chip circuit circuit-open")
        expect(chip).to_have_css("background-color", RED)
        closed = page.locator("tr.target-row[data-target=leo] .circuit")
        expect(closed).to_have_class("chip circuit circuit-closed")
        expect(closed).not_to_have_css("background-color", RED)
        expect(row.locator(".backlog")).not_to_have_text("0")
        expect(row.locator(".oldest")).to_contain_text(" s")
        expect(row.locator(".next-retry")).to_contain_text("retrying, next 20")
        expect(row.locator(".next-retry")).to_contain_text("Z")
        shot(page, "health-circuit-open")
    finally:
        sim.faults = Faults()
        close_breakers(gw, "appliqloud")


def test_half_open_is_shown_apart_from_open_and_closed(gw: Gateway, page: Any) -> None:
    breaker = gw.hub.workers[0].targets["uniware"].breaker
    breaker.failures, breaker.opened_at = breaker.threshold, time.monotonic() - 3600
    try:
        assert target_view(gw, "uniware")["circuit"] == "half-open"
        sign_in(page, gw, "viewer", "#/health")
        chip = page.locator("tr.target-row[data-target=uniware] .circuit")
        expect(chip).to_have_class("chip circuit circuit-half-open")
        expect(chip).to_contain_text("half-open")
    finally:
        close_breakers(gw, "uniware")


def test_operator_pauses_a_target_deliveries_wait_and_resume_delivers(
    gw: Gateway, page: Any
) -> None:
    sign_in(page, gw, "operator", "#/health")
    row = page.locator("tr.target-row[data-target=leo]")
    row.locator("button.pause").click()
    row.locator("button.confirm-pause").click()
    expect(row.locator(".paused-chip")).to_be_visible()
    expect(row.locator("button.resume")).to_be_visible()
    message_id = push_po(gw, "HEALTH-PAUSE-1")
    got = gw.wait(message_id, states=("parked",), target="leo")
    leo = next(d for d in got["deliveries"] if d["target"] == "leo")
    assert leo["park_kind"] == "paused" and leo["attempts"] == []
    assert not any("HEALTH-PAUSE-1" in str(r["json"]) for r in gw.sims.sims["leo"].received)
    expect(row.locator(".paused-now")).to_have_text("1")  # the page refreshes every 5 s
    shot(page, "health-paused")
    row.locator("button.resume").click()
    expect(row.locator("button.pause")).to_be_visible()
    done = gw.wait(message_id, target="leo")
    leo = next(d for d in done["deliveries"] if d["target"] == "leo")
    assert [a["outcome"] for a in leo["attempts"]] == ["delivered"]
    assert any("HEALTH-PAUSE-1" in str(r["json"]) for r in gw.sims.sims["leo"].received)


def test_a_viewer_sees_the_pause_state_but_no_buttons(gw: Gateway, page: Any) -> None:
    sign_in(page, gw, "viewer", "#/health")
    expect(page.locator("tr.target-row").first).to_be_visible()
    expect(page.locator("button.pause, button.resume")).to_have_count(0)


def test_shared_scale_latency_and_park_events_are_labelled(gw: Gateway, page: Any) -> None:
    gw.wait(push_po(gw, "HEALTH-SCALE-1"))
    sign_in(page, gw, "viewer", "#/health")
    expect(page.locator(".target-health").first).to_be_visible()
    expect(page.locator(".target-health .summary").first).to_contain_text("park events")
    expect(page.locator("#targets thead")).to_contain_text("Parked now (deliveries)")
    expect(page.locator("tr.target-row[data-target=leo] .latency")).to_contain_text(" ms")
    page.check("#shared-scale")
    maxima = {c.get_attribute("data-max") for c in page.locator("svg.chart").all()}
    assert len(maxima) == 1, maxima
    shot(page, "health-shared-scale")


# alerts: a gateway of its own, with alerts to a local webhook receiver and SMTP server ----
@pytest.fixture(scope="module")
def alerting(
    simulators: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, Receiver, Mailbox]]:
    with webhook_receiver() as (url, receiver), smtp_server() as box:
        mail = {"host": "127.0.0.1", "port": box.port, "starttls": False,
                "from": "pohub@example.com", "to": ["ops@example.com"]}  # fmt: skip
        alerts = AlertsConfig.model_validate({
            "interval_s": 0.2, "admin_url": "http://hub.example/admin", "email": mail,
            "webhooks": [{"url": f"{url}/alerts", "secret_env": "POHUB_TEST_ALERT_SECRET"}],
        })  # fmt: skip
        original = harness.load_config

        def with_alerts(*args: Any, **kw: Any) -> Any:
            return original(*args, **kw).model_copy(update={"alerts": alerts})

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(harness, "load_config", with_alerts)
            mp.setenv("POHUB_TEST_ALERT_SECRET", SECRET)
            with harness.gateway(simulators, tmp_path_factory.mktemp("alerts")) as g:
                yield g, receiver, box


def test_a_new_dead_cause_is_alerted_by_signed_webhook_and_mail(
    alerting: tuple[Gateway, Receiver, Mailbox], page: Any
) -> None:
    gw_a, receiver, box = alerting
    leo = gw_a.sims.sims["leo"]
    leo.faults = Faults.parse({"fail_rate": 1.0, "status": 400, "seed": 1})
    try:
        message_id = push_po(gw_a, "HEALTH-ALERT-1")
        gw_a.wait(message_id, states=("dead",), target="leo")
    finally:
        leo.faults = Faults()

    def dead_alert() -> dict[str, Any] | None:
        for request in list(receiver.requests):
            event = Webhook(SECRET).verify(request["body"], request["headers"])  # signed
            if event["type"] == "pohub.alert.dead" and event["data"]["target"] == "leo":
                return dict(event)
        return None

    event = wait_for(dead_alert, "a signed webhook alert for the dead cause at leo")
    assert "leo" in event["data"]["summary"] and event["data"]["count"] == 1
    mail = wait_for(lambda: [m for m in box.mails if "dead cause at leo" in m["Subject"]],
                    "an alert mail")  # fmt: skip
    assert mail[0]["To"] == "ops@example.com"
    assert event["data"]["summary"] in mail[0].get_payload(decode=True).decode()
    sign_in(page, gw_a, "viewer", "#/health")
    item = page.locator("#open-alerts li.alert[data-kind=dead][data-target=leo]")
    expect(item).to_contain_text("400")
    shot(page, "health-alerts")
