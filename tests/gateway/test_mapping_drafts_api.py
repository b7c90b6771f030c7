"""Mapping drafts, review and publish through the API, on the embedded store and on Redis
(issue 15: saves went live at once, invalid values included, and rollback had no preview)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml
from click.testing import CliRunner

from gateway.cli.mappings import mappings
from tests.gateway.harness import Gateway
from tests.gateway.test_e2e import push, sample
from tests.gateway.test_mappings_api import SYSTEM, _current, _without_vendor
from tests.gateway.test_mappings_api import gw as gw

BASE = f"/api/v1/mappings/{SYSTEM}"


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(orjson.loads(orjson.dumps(doc)))


def test_invalid_values_are_refused_naming_path_and_rule(gw: Gateway) -> None:
    with gw.client("admin") as c:
        alpha = c.get("/api/v1/mappings/alphaalpha").json()["mapping"]
        alpha["statuses"]["document"]["DRAFT"] = "BOGUS"
        for path in ("/api/v1/mappings/alphaalpha", "/api/v1/mappings/alphaalpha/draft"):
            reply = c.put(path, json={"mapping": alpha, "comment": "typo"})
            assert reply.status_code == 400, reply.text
            (error,) = reply.json()["errors"]
            assert (error["path"], error["rule"]) == ("$.statuses.document.DRAFT", "choice")
            assert "'BOGUS'" in error["message"] and "APPROVED_INTERNALLY" in error["message"]
        mapping = _current(gw)["mapping"]
        mapping["crosswalks"]["vendor"]["Sachin123"] = "  "
        mapping["crosswalks"]["item_type"]["Shirt27"] = "BOGUS"
        reply = c.put(f"{BASE}/draft", json={"mapping": mapping})
        assert reply.status_code == 400
        assert {(e["path"], e["rule"]) for e in reply.json()["errors"]} == {
            ("$.crosswalks.vendor.Sachin123", "not_blank"),
            ("$.crosswalks.item_type.Shirt27", "choice"),
        }
        assert c.get(f"{BASE}/draft").status_code == 404
        assert c.get("/api/v1/mappings/alphaalpha").json()["version"] == 1


def test_rules_offer_the_adapters_choices_and_say_where_no_format_is_stated(
    gw: Gateway,
) -> None:
    with gw.client("viewer") as c:
        alpha = c.get("/api/v1/mappings/alphaalpha/rules").json()
        aq = c.get(f"{BASE}/rules").json()
        leo = c.get("/api/v1/mappings/leo/rules").json()
    assert (
        alpha["statuses"]["closed"] and "PENDING_INTERNAL_APPROVAL" in alpha["statuses"]["choices"]
    )
    assert "lifecycle" in alpha["statuses"]["source"]
    assert aq["crosswalks"]["item_type"]["choices"] == ["GOODS", "SERVICE"]
    assert "states no format" in aq["crosswalks"]["vendor"]["id_format"]
    assert aq["statuses"]["levels"] == ["document"]
    assert not leo["statuses"]["closed"] and leo["statuses"]["documented"] == []
    assert "APPROVED" in leo["statuses"]["choices"]  # the codes the live mapping already uses


def test_draft_review_publish_releases_parked_deliveries(gw: Gateway) -> None:
    original = _current(gw)["mapping"]
    with gw.client("admin") as c:
        broken = c.put(BASE, json={"mapping": _without_vendor(original), "comment": "oops"})
        assert broken.status_code == 200 and broken.json()["version"] == 2
        body, headers = sample("uniware")
        message_id = push(gw, "uniware", body, headers).headers["X-Pohub-Message-Id"]
        gw.wait(message_id, states=("parked",), target=SYSTEM)
        saved = c.put(f"{BASE}/draft", json={"mapping": original, "comment": "vendor back"})
        assert saved.status_code == 200, saved.text
        draft = saved.json()
        assert (draft["revision"], draft["base_version"], draft["author"]) == (1, 2, "admin")
        assert _current(gw)["version"] == 2  # a draft is not live
        assert gw.hub.mappings[SYSTEM].version == broken.json()["content_version"]
        reviewed = c.post(f"{BASE}/draft/review", json={"limit": 5}).json()
        assert not reviewed["unchanged"] and not reviewed["stale"]
        assert {"path": "$.crosswalks.vendor.Sachin123", "from": None, "to": "9715"} in (
            reviewed["changes"]
        )
        assert reviewed["impact"]["parked"] == 1 and reviewed["impact"]["will_release"] == 1
        (result,) = reviewed["results"]
        assert result["message_id"] == message_id and result["on_publish"] == "releases"
        assert result["output"] is not None and "live_error" in result
        stale = c.post(f"{BASE}/draft/publish", json={"revision": 0})
        assert stale.status_code == 409 and "review it again" in stale.text
        published = c.post(f"{BASE}/draft/publish", json={"revision": 1})
        assert published.status_code == 200, published.text
        assert published.json()["version"] == 3 and published.json()["requeued"] == 1
        assert c.get(f"{BASE}/draft").status_code == 404
        now = _current(gw)
        assert (now["version"], now["comment"]) == (3, "vendor back")
    gw.wait(message_id, timeout=30, target=SYSTEM)


def test_an_unchanged_draft_says_no_change(gw: Gateway) -> None:
    with gw.client("admin") as c:
        assert c.put(f"{BASE}/draft", json={"mapping": _current(gw)["mapping"]}).status_code == 200
        reviewed = c.post(f"{BASE}/draft/review", json={}).json()
        assert reviewed["unchanged"] and reviewed["changes"] == []
        assert reviewed["new_status_codes"] == []
        assert c.delete(f"{BASE}/draft").json() == {"discarded": True}
        assert c.get(f"{BASE}/draft").status_code == 404


def test_rollback_goes_through_the_draft_and_its_review(gw: Gateway) -> None:
    first = _current(gw)
    changed = _copy(first["mapping"])
    changed["crosswalks"]["vendor"]["Sachin123"] = "9999"
    with gw.client("admin") as c:
        assert c.put(BASE, json={"mapping": changed, "comment": "new id"}).status_code == 200
        reply = c.post(f"{BASE}/rollback", json={"version": 1, "draft": True})
        assert reply.status_code == 200, reply.text
        assert reply.json()["draft"]["comment"] == "rollback to v1"
        assert _current(gw)["version"] == 2  # nothing live yet
        reviewed = c.post(f"{BASE}/draft/review", json={}).json()
        assert reviewed["changes"] == [
            {"path": "$.crosswalks.vendor.Sachin123", "from": "9999", "to": "9715"}
        ]
        revision = reviewed["draft"]["revision"]
        published = c.post(f"{BASE}/draft/publish", json={"revision": revision}).json()
    assert published["version"] == 3 and published["content_version"] == first["content_version"]
    assert _current(gw)["comment"] == "rollback to v1"


def test_publishing_after_live_moved_needs_a_new_review(gw: Gateway) -> None:
    live = _current(gw)["mapping"]
    mine, theirs = _copy(live), _copy(live)
    mine["crosswalks"]["vendor"]["Mine"] = "1"
    theirs["crosswalks"]["vendor"]["Theirs"] = "2"
    with gw.client("admin") as c:
        assert c.put(f"{BASE}/draft", json={"mapping": mine, "revision": 0}).status_code == 200
        again = c.put(f"{BASE}/draft", json={"mapping": mine, "revision": 0})
        assert again.status_code == 409  # someone saved revision 1 meanwhile
        assert c.put(BASE, json={"mapping": theirs}).status_code == 200
        assert c.post(f"{BASE}/draft/review", json={}).json()["stale"]
        moved = c.post(f"{BASE}/draft/publish", json={"revision": 1})
        assert moved.status_code == 409 and "version 2" in moved.json()["detail"]
        resaved = c.put(f"{BASE}/draft", json={"mapping": mine, "revision": 1}).json()
        assert resaved["base_version"] == 2
        assert c.post(f"{BASE}/draft/publish", json={"revision": 2}).status_code == 200


def test_null_unit_default_survives_draft_and_publish(gw: Gateway) -> None:
    live = _current(gw)["mapping"]
    assert live["units"]["default"] is None and live["description"]
    edited = _copy(live)
    edited["crosswalks"]["vendor"]["Another"] = "9716"
    with gw.client("admin") as c:
        revision = c.put(f"{BASE}/draft", json={"mapping": edited}).json()["revision"]
        assert c.get(f"{BASE}/draft").json()["mapping"]["units"]["default"] is None
        assert c.post(f"{BASE}/draft/publish", json={"revision": revision}).status_code == 200
    assert _current(gw)["mapping"]["units"]["default"] is None


def test_an_attempts_content_hash_names_its_integer_version(gw: Gateway) -> None:
    current = _current(gw)
    with gw.client("viewer") as c:
        found = c.get(f"{BASE}/versions/content/{current['content_version']}").json()
        assert found["version"] == 1 and "mapping" not in found
        assert c.get(f"{BASE}/versions/content/nope").status_code == 404


def test_only_an_admin_saves_publishes_or_discards_a_draft(gw: Gateway) -> None:
    body = {"mapping": _current(gw)["mapping"]}
    for role in ("viewer", "operator"):
        with gw.client(role) as c:
            assert c.put(f"{BASE}/draft", json=body).status_code == 403
            assert c.post(f"{BASE}/draft/publish", json={"revision": 1}).status_code == 403
            assert c.delete(f"{BASE}/draft").status_code == 403


def test_cli_imports_yaml_as_a_draft(gw: Gateway, tmp_path: Path) -> None:
    runner, out = CliRunner(), tmp_path / "export"
    config = ["--config", str(gw.config_file)]
    assert runner.invoke(mappings, ["export", *config, "--out", str(out)]).exit_code == 0
    result = runner.invoke(mappings, ["import", *config, "--from", str(out), "--draft"])
    assert result.exit_code == 0, result.output
    assert f"{SYSTEM}: unchanged (live v1); no draft" in result.output
    exported = yaml.safe_load((out / f"{SYSTEM}.yaml").read_text())
    exported["crosswalks"]["vendor"]["FromYaml"] = "4243"
    (out / f"{SYSTEM}.yaml").write_text(yaml.safe_dump(exported))
    result = runner.invoke(mappings, ["import", *config, "--from", str(out), "--draft",
                                      "--comment", "yaml draft"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{SYSTEM}: draft revision 1 (from v1)" in result.output
    with gw.client("viewer") as c:
        draft = c.get(f"{BASE}/draft").json()
    assert draft["mapping"]["crosswalks"]["vendor"]["FromYaml"] == "4243"
    assert (draft["author"], draft["comment"]) == ("cli", "yaml draft")
    assert _current(gw)["version"] == 1  # nothing went live
