"""The operator console's API on both stores: replays that do what they say, the audit log,
the manual marker on attempts, one version identifier, searches and the PO list (issue 15)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from click.testing import CliRunner

from adapters._sim import Faults
from gateway.cli.mappings import mappings
from tests.gateway.harness import KEYS, Gateway, gateway, store_url_for
from tests.gateway.test_e2e import push, sample
from tests.servers import SimulatorServer


@pytest.fixture(params=["sqlite", "redis"])
def gw(request: pytest.FixtureRequest, sim: SimulatorServer, tmp_path: Path) -> Iterator[Gateway]:
    with gateway(sim, tmp_path, store_url_for(request, "c")) as g:
        yield g


def push_po(gw: Gateway, po: str) -> str:
    body, headers = sample("uniware")
    doc = orjson.loads(body)
    doc["code"] = po
    reply = push(gw, "uniware", orjson.dumps(doc), headers)
    assert reply.status_code == 200, reply.text
    return reply.headers["X-Pohub-Message-Id"]


def dead_at_leo(gw: Gateway, po: str) -> str:
    gw.sims.sims["leo"].faults = Faults.parse({"fail_rate": 1.0, "status": 400, "seed": 1})
    message_id = push_po(gw, po)
    gw.wait(message_id, states=("dead",), target="leo")
    gw.sims.sims["leo"].faults = Faults()
    return message_id


def test_bulk_replay_replays_the_filter_it_is_given_in_the_default_states(gw: Gateway) -> None:
    """Seen: the count was for another filter than the one typed, and with no filter every
    delivery, delivered ones included, was offered."""
    dead_at_leo(gw, "Con-Bulk-1")
    gw.wait(push_po(gw, "con-bulk-2"))  # delivered everywhere: never in a default replay
    with gw.client("operator") as c:
        everything = c.post("/api/v1/replays", json={"dry_run": True}).json()
        assert everything["states"] == ["dead", "parked", "retrying"]
        assert "delivered" not in everything["described"]
        typed = {"po_prefix": "CON-BULK", "target": "leo", "dry_run": True}
        dry = c.post("/api/v1/replays", json=typed).json()
        assert dry["count"] == 1 and dry["filter"]["po_prefix"] == "CON-BULK"
        assert dry["described"] == ('deliveries that are dead, parked or retrying, to leo, of POs '
                                    'starting with "CON-BULK" (any case)')  # fmt: skip
        refused = c.post("/api/v1/replays", json={**typed, "states": ["dead", "delivered"]})
        assert refused.status_code == 400 and "include_delivered" in refused.json()["detail"]
        assert refused.json()["detail"].startswith("states:")
        queued = c.post("/api/v1/replays", json={**typed, "states": ["queued"]})
        assert queued.status_code == 400 and queued.json()["detail"].startswith("states[0]:")
        both = {**typed, "states": ["dead", "delivered"], "include_delivered": True}
        assert c.post("/api/v1/replays", json=both).json()["count"] == 2  # + con-bulk-2
        job = c.post("/api/v1/replays", json={**typed, "dry_run": False}).json()
        assert job["described"] == dry["described"] and job["by"] == "operator (operator)"
    done = gw.wait(job_message(gw, "Con-Bulk-1"), target="leo")
    leo = next(d for d in done["deliveries"] if d["target"] == "leo")
    assert leo["attempts"][0]["manual_by"] is None
    assert leo["attempts"][-1]["manual_by"] == "operator (operator)"


def saved_versions(reply: Any) -> list[dict[str, Any]]:
    """The versions list (a list today; an object with ``versions`` is read too)."""
    return list(reply["versions"] if isinstance(reply, dict) else reply)


def job_message(gw: Gateway, po: str) -> str:
    with gw.client("viewer") as c:
        (item,) = c.get("/api/v1/messages", params={"po_number": po}).json()["items"]
    return str(item["id"])


def test_a_delivered_delivery_is_replayed_only_on_an_explicit_choice(gw: Gateway) -> None:
    """Seen: "Replay all targets" resent delivered deliveries on one click."""
    message_id = push_po(gw, "CON-ONE-1")
    gw.wait(message_id)
    before = len(gw.sims.sims["leo"].received)
    with gw.client("operator") as c:
        leo_only = c.post(f"/api/v1/messages/{message_id}/replay", params={"target": "leo"})
        assert leo_only.status_code == 409 and "include_delivered" in leo_only.text
        every = c.post(f"/api/v1/messages/{message_id}/replay").json()  # all targets
        assert len(every["replayed"]) == 1  # the parked enkash delivery
        assert {r["target"] for r in every["refused"]} == {"leo", "appliqloud", "alphaalpha"}
        assert all("include_delivered" in r["reason"] for r in every["refused"])
        assert len(gw.sims.sims["leo"].received) == before
        chosen = c.post(f"/api/v1/messages/{message_id}/replay",
                        params={"target": "leo", "include_delivered": True})  # fmt: skip
        assert chosen.status_code == 202 and len(chosen.json()["replayed"]) == 1
    got = gw.wait(message_id)
    leo = next(d for d in got["deliveries"] if d["target"] == "leo")
    assert [a["manual_by"] for a in leo["attempts"]] == [None, "operator (operator)"]


def test_every_manual_action_is_in_the_audit_log_with_who_and_when(gw: Gateway) -> None:
    message_id = dead_at_leo(gw, "CON-AUDIT-1")
    with gw.client("operator") as c:
        replayed = c.post(f"/api/v1/messages/{message_id}/replay", params={"target": "leo"})
        assert replayed.status_code == 202
        counted = {"po_number": "CON-AUDIT-1", "dry_run": True}  # a count is not an action
        assert c.post("/api/v1/replays", json=counted).status_code == 202
    with gw.client("operator") as c:  # refused (admin only): recorded as a refusal
        assert c.post("/api/v1/mappings/leo/rollback", json={"version": 1}).status_code == 403
    with gw.client("admin") as c:
        first = saved_versions(c.get("/api/v1/mappings/leo/versions").json())[-1]["version"]
        assert c.post("/api/v1/mappings/leo/rollback", json={"version": first}).status_code < 500
        page = c.get("/api/v1/audit").json()
    actions = [(e["action"], e["actor"], e["role"]) for e in page["items"]]
    assert actions[0] == ("POST /api/v1/mappings/leo/rollback", "admin", "admin")
    assert actions[1] == ("POST /api/v1/mappings/leo/rollback", "operator", "operator")
    assert page["items"][1]["outcome"] == "HTTP 403"
    assert actions[2] == ("replay", "operator", "operator")
    assert page["total"] == 3
    replay = page["items"][2]
    assert replay["subject"] == f"message {message_id} to leo"
    assert replay["outcome"].startswith("replayed 1")
    assert replay["at"].endswith("Z") or "+00:00" in replay["at"]
    with gw.client("viewer") as c:
        assert c.get("/api/v1/audit").status_code == 403
    with gw.client("operator") as c:
        exported = c.get("/api/v1/audit", params={"format": "csv"})
        as_json = c.get("/api/v1/audit", params={"format": "json"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == [a for a, _, _ in actions]
    assert [e["id"] for e in as_json.json()] == [e["id"] for e in page["items"]]
    for key in KEYS.values():  # who, never the secret
        assert key not in exported.text and key not in as_json.text


def test_attempts_name_the_integer_mapping_version(gw: Gateway) -> None:
    """Seen: attempts showed a 12-character hash, the Mappings page integer versions."""
    message_id = push_po(gw, "CON-VER-1")
    got = gw.wait(message_id)
    with gw.client("viewer") as c:
        versions = c.get("/api/v1/mappings/leo/versions").json()
    listed = saved_versions(versions)
    by_hash = {v["content_version"]: v["version"] for v in listed}
    leo = next(d for d in got["deliveries"] if d["target"] == "leo")
    attempt = leo["attempts"][-1]
    assert attempt["mapping_version_number"] == by_hash[attempt["mapping_version"]]


def test_search_by_po_prefix_and_message_id_and_the_po_list(gw: Gateway) -> None:
    one = push_po(gw, "Con-Find-10")
    gw.wait(one)
    gw.wait(push_po(gw, "CON-FIND-20"))
    with gw.client("viewer") as c:
        found = c.get("/api/v1/messages", params={"po_prefix": "con-find"}).json()
        assert found["total"] == 2
        by_id = c.get("/api/v1/messages", params={"message_id": one.upper()}).json()
        assert [m["id"] for m in by_id["items"]] == [one]
        listing = c.get("/api/v1/purchase-orders", params={"prefix": "con-FIND"}).json()
        assert [p["po_number"] for p in listing["items"]] == ["CON-FIND-20", "Con-Find-10"]
        assert listing["total"] == 2 and listing["items"][0]["messages"] == 1
        delivered = c.get("/api/v1/messages", params={"message_state": "delivered",
                                                      "po_prefix": "con-find"}).json()  # fmt: skip
        assert all(m["state"] == "delivered" for m in delivered["items"])


def test_mapping_changes_outside_the_api_are_in_the_audit_log(gw: Gateway, tmp_path: Path) -> None:
    """``pohub mappings import`` and a mapping file edited on disk are manual actions too."""
    runner, out, config = CliRunner(), tmp_path / "export", ["--config", str(gw.config_file)]
    assert runner.invoke(mappings, ["export", *config, "--out", str(out)]).exit_code == 0
    data = yaml.safe_load((out / "appliqloud.yaml").read_text())
    data["crosswalks"]["vendor"]["AuditVendor"] = "4243"
    (out / "appliqloud.yaml").write_text(yaml.safe_dump(data))
    result = runner.invoke(mappings, ["import", *config, "--from", str(out), "--comment", "c"])
    assert result.exit_code == 0, result.output
    file = gw.mappings / "appliqloud.yaml"
    file.write_text(file.read_text().replace("Sachin123:", "SomeoneElse:"))
    deadline = time.monotonic() + 15
    with gw.client("operator") as c:
        while True:
            entries = c.get("/api/v1/audit").json()["items"]
            if any(e["action"] == "mapping file changed" for e in entries):
                break
            assert time.monotonic() < deadline, entries
            time.sleep(0.1)
    imported = [
        e for e in entries if e["action"] == "mappings import" and e["subject"] == "appliqloud"
    ]
    assert imported and imported[0]["actor"].startswith("command line (")
    assert imported[0]["role"] == "admin" and imported[0]["outcome"].startswith("v2 in force")
    (changed,) = [e for e in entries if e["action"] == "mapping file changed"]
    assert (changed["actor"], changed["subject"]) == ("mapping file on disk", "appliqloud.yaml")


def test_an_audit_offset_past_any_log_is_an_empty_page_not_a_500(gw: Gateway) -> None:
    """The OpenAPI fuzz test: ``offset=325008950628076406964224`` overflowed SQLite's
    integer (500). An offset past the log is an empty page, as for messages and POs."""
    with gw.client("operator") as c:
        got = c.get("/api/v1/audit", params={"offset": 325008950628076406964224})
    assert got.status_code == 200 and got.json()["items"] == []
