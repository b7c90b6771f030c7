"""Alerts (issue 15) against a local HTTP receiver and a local SMTP server: signed the
Standard Webhooks way (checked with the reference library), Slack/Teams text, mail; one
alert per cause across processes until it clears; secrets never logged; bounded queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from structlog.testing import capture_logs

from gateway.alerts import Alerts, ledger
from gateway.alerts.runner import QUEUE_MAX
from gateway.delivery.targets import Breaker
from gateway.settings.config import AlertsConfig, EmailAlert, WebhookAlert
from gateway.store.base import Store
from gateway.store.records import Attempt, Message, State
from tests.alert_receivers import SECRET, smtp_server, webhook_receiver

pytestmark = pytest.mark.anyio
ENV = {"ALERT_SECRET": SECRET, "SLACK_URL": ""}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path}/alerts.db")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def config(url: str | None = None, form: str = "standard", **kw: Any) -> AlertsConfig:
    hooks = [WebhookAlert(url=url, secret_env="ALERT_SECRET", format=form)] if url else []  # type: ignore[arg-type]
    return AlertsConfig(webhooks=hooks, admin_url="http://hub.example/admin", **kw)


def no_breakers() -> dict[str, Breaker]:
    return {}


async def make(store: Store, state: State, target: str = "leo", reason: str = "400: bad vendor",
               park_kind: str | None = None, received: datetime | None = None) -> str:  # fmt: skip
    message = Message(id=uuid.uuid4().hex, system="uniware", po_number=uuid.uuid4().hex,
                      body="{}", received_at=received or datetime.now(UTC))  # fmt: skip
    await store.accept(message, [target])
    if state is State.QUEUED:
        return f"{message.id}:{target}"
    ((delivery, _),) = await store.claim("w", 1, 30)
    outcome = Attempt(at=datetime.now(UTC), target=target, outcome=state.value)
    await store.finish(delivery.id, outcome, state, reason=reason, park_kind=park_kind)
    return delivery.id


async def test_a_new_dead_cause_is_posted_signed_the_standard_webhooks_way(store: Store) -> None:
    with webhook_receiver() as (url, receiver):
        alerts = Alerts(config(url + "/hook"), store, no_breakers, name="p1", env=ENV)
        await make(store, State.DEAD)
        (cause,) = await alerts.evaluate()
        assert cause.kind == "dead" and cause.target == "leo"
        await alerts.send(alerts.queue.get_nowait())
        await alerts.client.aclose()
    (request,) = receiver.requests
    data = Webhook(SECRET).verify(request["body"], request["headers"])
    assert data["type"] == "pohub.alert.dead"
    assert "400: bad vendor" in data["data"]["summary"] and data["data"]["target"] == "leo"
    assert data["data"]["link"] == "http://hub.example/admin#/problems"
    assert request["headers"]["webhook-id"].startswith("msg_")
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request["body"] + b" ", request["headers"])


async def test_slack_and_teams_get_a_text_payload(store: Store) -> None:
    with webhook_receiver() as (url, receiver):
        alerts = Alerts(config(url, "slack"), store, no_breakers, name="p1", env=ENV)
        await make(store, State.PARKED, reason="mapping missing: crosswalks.vendor 'V9'",
                   park_kind="mapping")  # fmt: skip
        await alerts.evaluate()
        await alerts.send(alerts.queue.get_nowait())
        await alerts.client.aclose()
    (request,) = receiver.requests
    body = orjson.loads(request["body"])
    assert list(body) == ["text"]
    assert body["text"].startswith("pohub: new parked cause at leo: 1 parked delivery to leo")
    assert "crosswalks.vendor 'V9'" in body["text"]


async def test_an_alert_is_mailed_through_smtp(store: Store) -> None:
    with smtp_server() as box:
        mail = EmailAlert.model_validate({"host": "127.0.0.1", "port": box.port,
                                          "starttls": False, "from": "pohub@example.com",
                                          "to": ["ops@example.com", "oncall@example.com"]})  # fmt: skip
        alerts = Alerts(config(email=mail), store, no_breakers, name="p1", env=ENV)
        await make(store, State.DEAD, target="enkash", reason="401: auth failure")
        await alerts.evaluate()
        await alerts.send(alerts.queue.get_nowait())
        await alerts.client.aclose()
    (received,) = box.mails
    assert received["Subject"] == "pohub: new dead cause at enkash"
    assert received["To"] == "ops@example.com, oncall@example.com"
    assert "401: auth failure" in received.get_payload()


async def test_one_alert_per_cause_across_processes_until_it_clears(store: Store) -> None:
    one = Alerts(config(), store, no_breakers, name="p1", env=ENV)
    two = Alerts(config(), store, no_breakers, name="p2", env=ENV)
    dead = await make(store, State.DEAD)
    assert len(await one.evaluate()) == 1
    assert await two.evaluate() == [] and await one.evaluate() == []
    await make(store, State.DEAD)  # a second delivery, same target and reason: same cause
    assert await two.evaluate() == []
    assert len(await ledger.read(store)) == 1
    await store.replay(dead)  # an operator replays; the other one is still dead
    assert await two.evaluate() == []
    async for delivery in store.deliveries(store_filter(State.DEAD)):
        await store.replay(delivery.id)
    assert await two.evaluate() == [] and await ledger.read(store) == {}  # cleared
    await make(store, State.DEAD)  # it comes back: announced again
    assert [c.kind for c in await one.evaluate()] == ["dead"]


def store_filter(state: State) -> Any:
    from gateway.store.records import MessageFilter

    return MessageFilter(status=state)


async def test_a_paused_target_is_not_a_parked_cause(store: Store) -> None:
    alerts = Alerts(config(), store, no_breakers, name="p1", env=ENV)
    await make(store, State.PARKED, reason="target paused", park_kind="paused")
    assert await alerts.evaluate() == []


async def test_an_open_circuit_alerts_once_and_only_its_process_clears_it(store: Store) -> None:
    breaker = Breaker("leo")
    for _ in range(breaker.threshold):
        breaker.failure()
    mine = Alerts(config(), store, lambda: {"leo": breaker}, name="p1", env=ENV)
    other = Alerts(config(), store, lambda: {"leo": Breaker("leo")}, name="p2", env=ENV)
    (cause,) = await mine.evaluate()
    assert cause.key == "circuit:leo" and "5 failures in a row" in cause.summary
    assert await other.evaluate() == [] and "circuit:leo" in await ledger.read(store)
    breaker.success()
    await mine.evaluate()
    assert await ledger.read(store) == {}


async def test_a_backlog_older_than_its_limit_alerts(store: Store) -> None:
    alerts = Alerts(config(backlog_age_s=600), store, no_breakers, name="p1", env=ENV)
    await make(store, State.QUEUED, target="uniware", received=datetime.now(UTC))
    assert await alerts.evaluate() == []
    await make(store, State.QUEUED, target="uniware",
               received=datetime.now(UTC) - timedelta(hours=1))  # fmt: skip
    (cause,) = await alerts.evaluate()
    assert cause.key == "backlog:uniware" and cause.count == 2
    assert "2 deliveries wait for uniware" in cause.summary


def failed_count() -> float:
    from gateway.observe.metrics import REGISTRY

    labels = {"channel": "webhook", "outcome": "failed"}
    return REGISTRY.get_sample_value("pohub_alerts_total", labels) or 0.0


async def test_a_failed_sending_logs_no_secret_and_no_url(store: Store) -> None:
    with webhook_receiver() as (url, receiver):
        receiver.status = 500
        env = {**ENV, "SLACK_URL": f"{url}/services/T0SECRETPATH"}
        hook = WebhookAlert(url_env="SLACK_URL", secret_env="ALERT_SECRET", format="slack")
        alerts = Alerts(AlertsConfig(webhooks=[hook]), store, no_breakers, name="p1", env=env)
        await make(store, State.DEAD)
        await alerts.evaluate()
        before = failed_count()
        with capture_logs() as logs:
            await alerts.send(alerts.queue.get_nowait())
        await alerts.client.aclose()
    assert len(receiver.requests) == 1 and failed_count() == before + 1
    (failed,) = [e for e in logs if e["event"] == "alerts.send_failed"]
    assert failed["status"] == 500 and failed["error"] == "HTTPStatusError"
    text = repr(logs)
    assert "T0SECRETPATH" not in text and SECRET not in text and SECRET[6:] not in text


async def test_a_missing_secret_variable_stops_start_up(store: Store) -> None:
    with pytest.raises(ValueError, match="ALERT_SECRET is not set"):
        Alerts(config("http://127.0.0.1:9/x"), store, no_breakers, name="p1", env={})


async def test_the_queue_is_bounded(store: Store) -> None:
    alerts = Alerts(config(), store, no_breakers, name="p1", env=ENV)
    with capture_logs() as logs:
        for _ in range(QUEUE_MAX + 5):
            alerts._queue({"data": {"key": "k", "kind": "dead", "target": "leo"}})
    await alerts.client.aclose()
    assert alerts.queue.qsize() == QUEUE_MAX
    assert len([e for e in logs if e["event"] == "alerts.dropped"]) == 5


async def test_pos_waiting_for_their_identity_are_one_cause_per_target(store: Store) -> None:
    alerts = Alerts(config(), store, no_breakers, name="p1", env=ENV)
    for po in ("A", "B"):
        await make(store, State.PARKED, target="enkash", park_kind="unknown_po",
                   reason=f"identity missing: enkash needs its own objectId for PO '{po}'")  # fmt: skip
    (cause,) = await alerts.evaluate()
    assert cause.count == 2 and "waiting for a PO" in cause.summary


def test_the_readme_alerts_example_is_a_valid_config() -> None:
    from adapters import registry
    from gateway.settings.config import parse_config
    from tests.support import ROOT

    readme = (ROOT / "README.md").read_text()
    block = next(b for b in readme.split("```yaml\n")[1:] if b.startswith("alerts:"))
    text = block.split("```", 1)[0]
    config, problems = parse_config(text, "README.md", registry.system_ids())
    assert problems == [] and config is not None and config.alerts is not None
    assert [w.format for w in config.alerts.webhooks] == ["standard", "slack"]
    assert config.alerts.email is not None and config.alerts.email.from_ == "pohub@example.com"
