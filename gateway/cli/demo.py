"""``pohub demo``: simulators, gateway and workers on the embedded store, on this machine.

Pushes every document sample through its system's drop-in endpoint, shows one delivery
recovering from an injected fault and one parked until its mapping row is added, prints
what went where, then keeps serving with the addresses and a fresh admin key.
"""

from __future__ import annotations

import asyncio
import os
import secrets as pysecrets
import time
from pathlib import Path
from typing import Any

import click
import httpx
import uvicorn

from adapters import registry
from adapters._sim import Faults
from core.mapping.tables import Mapping
from gateway.api.auth import inbound_headers
from gateway.app import create_app
from gateway.cli.simulate import build_simulators
from gateway.cli.simulate import create_app as create_sim_app
from gateway.hub import Hub
from gateway.mappings import drafts, versions
from gateway.settings import secrets
from gateway.settings.config import Config, RetryConfig, load_config

DEMO_RETRY = RetryConfig(schedule=[1, 2, 5, 10, 30], max_age_s=3600)
FAULTY = "leo"
UNMAPPED = ("appliqloud", "vendor")


def demo_config(base: Config, sim_url: str) -> Config:
    systems = {
        name: cfg.model_copy(update={"base_url": f"{sim_url}/{name}", "retry": DEMO_RETRY})
        for name, cfg in base.systems.items()
    }
    return base.model_copy(update={"systems": systems})


def fill_env(config: Config) -> str:
    """Generate every secret config names that the environment lacks; returns the admin key."""
    for cfg in config.systems.values():
        if cfg.auth is not None and secrets.resolve(cfg.auth) is None:
            names = secrets.auth_env_names(cfg.auth)
            for key, value in secrets.generate(cfg.auth).items():
                os.environ.setdefault(names[key], value)
        inbound = cfg.inbound_auth
        if inbound is not None and inbound.basic is not None:
            os.environ.setdefault(inbound.basic.username_env, "pohub")
            os.environ.setdefault(inbound.basic.password_env, pysecrets.token_urlsafe(16))
        elif inbound is not None and inbound.token_env:
            os.environ.setdefault(inbound.token_env, pysecrets.token_urlsafe(24))
    admin_key = ""
    for api_key in config.api_keys:
        os.environ.setdefault(api_key.key_env, pysecrets.token_urlsafe(24))
        if api_key.role == "admin":
            admin_key = os.environ[api_key.key_env]
    return admin_key


async def run_demo(config_file: str | None, host: str, port: int, sim_port: int) -> None:
    os.environ.setdefault("POHUB_LOG_LEVEL", "WARNING")
    base = load_config(config_file, registry.system_ids())
    sim_url = f"http://{host}:{sim_port}"
    config = demo_config(base, sim_url)
    admin_key = fill_env(config)
    db = Path("var/pohub-demo.db")
    db.parent.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    sims = build_simulators(config)
    hub = Hub.build(config_file, config=config, store_url=f"sqlite:///{db}")
    servers = [_server(create_sim_app(sims), host, sim_port), _server(create_app(hub), host, port)]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):
        await asyncio.sleep(0.05)
    url = f"http://{host}:{port}"
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        await _walkthrough(hub, sims, http, admin_key)
    click.echo(
        f"\ngateway     {url}   (operations API: {url}/api/v1/messages, OpenAPI: {url}/schema)"
    )
    click.echo(f"admin page  {url}/admin   (sign in with the admin key below)")
    click.echo(f"simulators  {sim_url}/{{system}}")
    click.echo(f"admin key   {admin_key}")
    click.echo("serving; Ctrl-C stops")
    await asyncio.gather(*tasks)


def _server(app: Any, host: str, port: int) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))


async def _walkthrough(hub: Hub, sims: dict[str, Any], http: httpx.AsyncClient, key: str) -> None:
    system, table = UNMAPPED
    full = hub.mappings[system]
    # Through stored versions like an admin's edit, so every attempt's mapping hash names a
    # version (issue 15: the parked attempt's hash matched none when applied behind the store)
    without = _without_row(full, table, "Sachin123").file.model_dump(mode="json")
    await versions.save(hub, system, without, "demo",
                                f"demo: crosswalks.{table} row for Sachin123 left out")  # fmt: skip
    sims[FAULTY].faults = Faults.parse({"fail_rate": 1.0, "status": 503, "seed": 1})
    pushed = await _push_samples(hub, http)
    await asyncio.sleep(1.5)
    sims[FAULTY].faults = Faults()
    click.echo(f"\nadding the missing {system} crosswalks.{table} row for 'Sachin123' "
               "(a draft, then published) ...")  # fmt: skip
    draft = await drafts.save(hub, system, full.file.model_dump(mode="json"), "demo",
                                      f"demo: crosswalks.{table} row for Sachin123 added")  # fmt: skip
    record, requeued = await drafts.publish(hub, system, "demo", draft["revision"])
    click.echo(f"  published version {record['version']}; {requeued} parked deliveries re-queued")
    await _settle(http, key, pushed)
    await _table(http, key, pushed)


async def _push_samples(hub: Hub, http: httpx.AsyncClient) -> list[str]:
    from gateway.api.inbound import inbound_specs

    specs = inbound_specs()
    ids: list[str] = []
    click.echo("pushing every document sample through its drop-in endpoint:")
    for system in [r.from_ for r in hub.config.routes]:
        for sample in sorted(registry.samples_dir(system).glob("*.json")):
            extra = _sample_headers(sample)
            ids += await _push(
                hub, http, specs[system], system, sample.name, sample.read_bytes(), extra
            )
    await asyncio.sleep(0.5)
    click.echo("and a status change of PO0194 in each status-only dialect:")
    for system in [r.from_ for r in hub.config.routes]:
        if registry.get(system).needs_full_po:
            continue
        body, headers = await _status_change_in(hub, system)
        ids += await _push(hub, http, specs[system], system, "(PO0194 -> SENT)", body, headers)
    return ids


async def _push(hub: Hub, http: httpx.AsyncClient, spec: Any, system: str, label: str,
                body: bytes, extra: dict[str, str]) -> list[str]:  # fmt: skip
    route, path = _route_for(spec, extra.pop("X-Pohub-Path", None))
    headers = {"Content-Type": "application/json", **_inbound_headers(hub, system), **extra}
    reply = await http.request(
        route.method, f"/inbound/{system}{path}", content=body, headers=headers
    )
    got = reply.headers.get("X-Pohub-Message-Id", "")
    click.echo(f"  {system:<11} {label:<28} -> HTTP {reply.status_code} {got}")
    return [i for i in got.split(",") if i]


def _route_for(spec: Any, path: str | None) -> tuple[Any, str]:
    """The spec's route for a sample that names its own path (AlphaAlpha actions)."""
    import re

    if path is None:
        return spec.routes[0], spec.routes[0].path
    for route in spec.routes:
        if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", route.path), path):
            return route, path
    return spec.routes[0], spec.routes[0].path


async def _status_change_in(hub: Hub, system: str) -> tuple[bytes, dict[str, str]]:
    """The canonical sample status event, written by the system's own adapter."""
    import orjson

    from core.adapter import RemoteState, RenderContext
    from core.model import PoEvent

    sample = registry.samples_dir("canonical") / "status-event.json"
    event = PoEvent.model_validate_json(sample.read_bytes())
    state = await hub.store.get_po(event.po_number)
    adapter, mapping = registry.get(system), hub.mappings[system]
    remote = RemoteState()
    if adapter.learns_identity and state is not None and state.status:
        # The demo plays the system itself here (EnKash): its own id, version and status
        # of the PO are its to give, and the hub learns them from this change.
        own_id = f"{system.upper()}-{event.po_number}"
        remote = RemoteState(own_id, mapping.status_out(state.status), 0)
    plan = adapter.render(event, RenderContext(mapping, state, remote))
    call = plan.calls[0]
    return orjson.dumps(call.json), dict(call.headers)


def _sample_headers(sample: Path) -> dict[str, str]:
    import orjson

    file = sample.parent / "headers" / sample.name
    return orjson.loads(file.read_bytes()) if file.exists() else {}


def _inbound_headers(hub: Hub, system: str) -> dict[str, str]:
    return inbound_headers(hub.config.systems[system].inbound_auth, os.environ)


def _without_row(mapping: Mapping, table: str, key: str) -> Mapping:
    data = mapping.file.model_dump(mode="json")
    data["crosswalks"][table] = {k: v for k, v in data["crosswalks"][table].items() if k != key}
    return Mapping.from_dict(data, spec=registry.get(mapping.system).spec)


async def _settle(http: httpx.AsyncClient, key: str, ids: list[str], timeout: float = 60) -> None:
    """Until every message is delivered, dead or parked, or nothing moved for 3 s (a delivery
    queued behind a parked one of the same PO and target waits for it: ordering per PO)."""
    deadline = time.monotonic() + timeout
    auth = {"Authorization": f"Bearer {key}"}
    last: list[Any] = []
    still = 0
    while time.monotonic() < deadline:
        got = [(await http.get(f"/api/v1/messages/{i}", headers=auth)).json() for i in ids]
        if all(m["state"] in ("delivered", "dead", "parked") for m in got):
            return
        now = [[(d["state"], len(d["attempts"])) for d in m["deliveries"]] for m in got]
        still = still + 1 if now == last else 0
        if still >= 6 and not any(d[0] in ("delivering", "retrying") for m in now for d in m):
            return
        last = now
        await asyncio.sleep(0.5)


async def _table(http: httpx.AsyncClient, key: str, ids: list[str]) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    click.echo(f"\n{'from':<11} {'PO':<12} {'to':<11} {'state':<10} {'attempts':>8}  note")
    for message_id in ids:
        m = (await http.get(f"/api/v1/messages/{message_id}", headers=auth)).json()
        for d in m["deliveries"]:
            outcomes = [a["outcome"] for a in d["attempts"]]
            note = ""
            if "retry" in outcomes and d["state"] == "delivered":
                note = "recovered from an injected fault"
            elif "parked" in outcomes and d["state"] == "delivered":
                why = next(a["error"] or "" for a in d["attempts"] if a["outcome"] == "parked")
                note = (f"parked until {d['target']} named the PO"
                        if why.startswith("identity missing")
                        else "parked until its mapping row was added")  # fmt: skip
            elif d["state"] != "delivered":
                note = d.get("reason") or ""
            click.echo(f"{m['system']:<11} {str(m['po_number'])[:12]:<12} {d['target']:<11} "
                       f"{d['state']:<10} {len(d['attempts']):>8}  {note[:70]}")  # fmt: skip
