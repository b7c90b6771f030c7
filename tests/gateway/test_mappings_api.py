"""Mappings API and CLI end to end, on the embedded store and on Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from click.testing import CliRunner
from litestar import Litestar

from gateway.api.mappings import MappingsController, whoami
from gateway.app import create_app
from gateway.cli.mappings import mappings
from gateway.hub import Hub
from gateway.mappings import versions as mv
from tests.gateway import harness
from tests.gateway.harness import Gateway, gateway, store_url_for
from tests.gateway.test_e2e import push, sample
from tests.servers import SimulatorServer

SYSTEM = "appliqloud"


def _app_with_mappings(hub: Hub, **kw: Any) -> Litestar:
    """The gateway app, with the mappings API and store follower if not wired in yet."""
    app = create_app(hub, **kw)
    if not any(route.path == "/api/v1/whoami" for route in app.routes):
        app.register(MappingsController)
        app.register(whoami)
        app.on_startup.append(lambda: hub.spawn(mv.watch_store(hub, 0.2)))
    return app


@pytest.fixture(params=["sqlite", "redis"])
def gw(
    request: pytest.FixtureRequest, sim: SimulatorServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Gateway]:  # fmt: skip
    monkeypatch.setattr(harness, "create_app", _app_with_mappings)
    with gateway(sim, tmp_path, store_url_for(request, "m")) as g:
        yield g


def _current(gw: Gateway) -> dict[str, Any]:
    with gw.client("viewer") as c:
        reply = c.get(f"/api/v1/mappings/{SYSTEM}")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _without_vendor(mapping: dict[str, Any]) -> dict[str, Any]:
    draft = orjson.loads(orjson.dumps(mapping))
    draft["crosswalks"]["vendor"]["SomeoneElse"] = draft["crosswalks"]["vendor"].pop("Sachin123")
    return dict(draft)


def test_roles_and_whoami(gw: Gateway) -> None:
    path = f"/api/v1/mappings/{SYSTEM}"
    assert httpx.get(gw.url + "/api/v1/mappings").status_code == 401
    assert httpx.get(gw.url + "/api/v1/whoami").status_code == 401
    body = {"mapping": _current(gw)["mapping"], "comment": "x"}
    for role in ("viewer", "operator"):
        with gw.client(role) as c:
            assert c.put(path, json=body).status_code == 403
            assert c.post(path + "/rollback", json={"version": 1}).status_code == 403
            assert c.get("/api/v1/whoami").json() == {"name": role, "role": role}
    with gw.client("viewer") as c:
        listed = {s["system"]: s for s in c.get("/api/v1/mappings").json()}
    assert listed[SYSTEM]["version"] == 1
    assert listed[SYSTEM]["content_version"] == gw.hub.mappings[SYSTEM].version


def test_put_refuses_a_broken_mapping_naming_the_path(gw: Gateway) -> None:
    mapping = _current(gw)["mapping"]
    bad = dict(mapping, crosswalks={**mapping["crosswalks"], "bogus": {"a": "b"}}, units=5)
    with gw.client("admin") as c:
        reply = c.put(f"/api/v1/mappings/{SYSTEM}", json={"mapping": bad, "comment": "x"})
        assert reply.status_code == 400, reply.text
        paths = {e["path"] for e in reply.json()["errors"]}
        assert "$.units" in paths
        # a zone that does not exist would make every dated push fail later (issue 11)
        zoned = dict(mapping, timezone="Not/AZone")
        reply = c.put(f"/api/v1/mappings/{SYSTEM}", json={"mapping": zoned, "comment": "x"})
        assert reply.status_code == 400
        assert {e["path"] for e in reply.json()["errors"]} == {"$.timezone"}
    assert _current(gw)["version"] == 1


def test_save_versions_diff_and_rollback(gw: Gateway) -> None:
    first = _current(gw)
    draft = orjson.loads(orjson.dumps(first["mapping"]))
    draft["crosswalks"]["vendor"]["Sachin123"] = "9999"
    with gw.client("admin") as c:
        reply = c.put(f"/api/v1/mappings/{SYSTEM}", json={"mapping": draft, "comment": "new id"})
        assert reply.status_code == 200, reply.text
        saved = reply.json()
        assert saved["version"] == 2 and saved["requeued"] == 0
        assert gw.hub.mappings[SYSTEM].version == saved["content_version"]
        now = _current(gw)
        assert (now["version"], now["author"], now["comment"]) == (2, "admin", "new id")
        listed = c.get(f"/api/v1/mappings/{SYSTEM}/versions").json()
        assert [v["version"] for v in listed] == [2, 1] and "mapping" not in listed[0]
        changes = c.get(f"/api/v1/mappings/{SYSTEM}/diff",
                        params={"from_version": 1, "to_version": 2}).json()["changes"]  # fmt: skip
        assert changes == [{"path": "$.crosswalks.vendor.Sachin123", "from": "9715", "to": "9999"}]
        assert c.get(f"/api/v1/mappings/{SYSTEM}/versions/1").json()["mapping"] == first["mapping"]
        assert c.get(f"/api/v1/mappings/{SYSTEM}/versions/9").status_code == 404
        back = c.post(f"/api/v1/mappings/{SYSTEM}/rollback", json={"version": 1}).json()
    assert back["version"] == 3 and back["content_version"] == first["content_version"]
    assert gw.hub.mappings[SYSTEM].version == first["content_version"]
    assert _current(gw)["comment"] == "rollback to v1"


def test_preview_lists_missing_keys_and_stores_nothing(gw: Gateway) -> None:
    current = _current(gw)
    draft = _without_vendor(current["mapping"])
    payload = orjson.loads(sample("uniware")[0])
    with gw.client("viewer") as c:
        reply = c.post(f"/api/v1/mappings/{SYSTEM}/preview",
                       json={"mapping": draft, "source": "uniware", "payload": payload})  # fmt: skip
        assert reply.status_code == 200, reply.text
        (result,) = reply.json()["results"]
        assert {"table": "crosswalks.vendor", "key": "Sachin123"} in result["missing"]
        assert result["live_output"] is not None and result["changes"]
        same = c.post(f"/api/v1/mappings/{SYSTEM}/preview",
                      json={"mapping": current["mapping"], "source": "uniware",
                            "payload": payload}).json()["results"][0]  # fmt: skip
        assert same["missing"] == [] and same["changes"] == []
        assert same["output"] == same["live_output"]
        assert len(c.get(f"/api/v1/mappings/{SYSTEM}/versions").json()) == 1
    assert gw.hub.mappings[SYSTEM].version == current["content_version"]
    with gw.client("operator") as c:
        assert c.get("/api/v1/messages").json()["total"] == 0


def test_saving_a_mapping_requeues_parked_deliveries(gw: Gateway) -> None:
    original = _current(gw)["mapping"]
    with gw.client("admin") as c:
        reply = c.put(f"/api/v1/mappings/{SYSTEM}",
                      json={"mapping": _without_vendor(original), "comment": "oops"})  # fmt: skip
        assert reply.status_code == 200
        body, headers = sample("uniware")
        message_id = push(gw, "uniware", body, headers).headers["X-Pohub-Message-Id"]
        gw.wait(message_id, states=("parked",), target=SYSTEM)
        preview = c.post(f"/api/v1/mappings/{SYSTEM}/preview",
                         json={"mapping": original, "parked": True}).json()  # fmt: skip
        (result,) = preview["results"]
        assert result["message_id"] == message_id and result["missing"] == []
        reply = c.put(f"/api/v1/mappings/{SYSTEM}", json={"mapping": original, "comment": "fix"})
        assert reply.status_code == 200 and reply.json()["requeued"] >= 1
    gw.wait(message_id, timeout=30, target=SYSTEM)


def test_export_import_round_trip(gw: Gateway, tmp_path: Path) -> None:
    runner, out = CliRunner(), tmp_path / "export"
    config = ["--config", str(gw.config_file)]
    result = runner.invoke(mappings, ["export", *config, "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = yaml.safe_load((out / f"{SYSTEM}.yaml").read_text())
    assert exported == _current(gw)["mapping"]
    result = runner.invoke(mappings, ["import", *config, "--from", str(out)])
    assert result.exit_code == 0, result.output
    assert _current(gw)["version"] == 1  # unchanged files make no new version
    exported["crosswalks"]["vendor"]["Sachin123"] = "4242"
    (out / f"{SYSTEM}.yaml").write_text(yaml.safe_dump(exported))
    result = runner.invoke(mappings, ["import", *config, "--from", str(out), "--comment", "yaml"])
    assert result.exit_code == 0, result.output
    now = _current(gw)
    assert (now["version"], now["comment"]) == (2, "yaml")
    deadline = time.monotonic() + 10  # the gateway follows the store's head
    while gw.hub.mappings[SYSTEM].version != now["content_version"]:
        assert time.monotonic() < deadline, "the gateway did not follow the store"
        time.sleep(0.1)
    (out / f"{SYSTEM}.yaml").write_text("system: appliqloud\nunits: 5\n")
    result = runner.invoke(mappings, ["import", *config, "--from", str(out)])
    assert result.exit_code == 1 and "$.units" in result.output
