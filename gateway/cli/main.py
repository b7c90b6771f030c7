"""The ``pohub`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, BinaryIO

import click
import orjson

from adapters import registry
from core.adapter import RemoteState
from core.errors import ConfigError, ConfigProblem, InvalidInput, PohubError
from core.mapping.loader import notes
from core.model import PurchaseOrder
from gateway.cli.options import config_option
from gateway.delivery.render import parse_for, render_for
from gateway.mappings.files import check_mappings, load_mapping, mappings_dir
from gateway.settings.config import config_path, load_config, parse_config

EXIT_INVALID = 2
EXIT_MAPPING = 3
EXIT_CONFIG = 4


@click.group()
def main() -> None:
    """pohub: translate purchase orders between business systems."""


@main.command()
@click.option("--from", "source", required=True, help="Dialect of the input.")
@click.option("--to", "target", required=True, help="Dialect to write.")
@config_option
@click.option(
    "--state",
    "state_file",
    type=click.File("rb"),
    default=None,
    help="Canonical PO JSON the hub knows: a status-only event to a full-PO system needs it.",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    help="Request header NAME:VALUE (Leo event, subtypeAppId).",
)
@click.option("--remote-id", default=None, help="The PO's id in the target system, if it has one.")
@click.option("--remote-status", default=None, help="The PO's status in the target system.")
@click.argument("payload", type=click.File("rb"), default="-")
def translate(
    source: str,
    target: str,
    config_file: str | None,
    state_file: BinaryIO | None,
    headers: tuple[str, ...],
    remote_id: str | None,
    remote_status: str | None,
    payload: BinaryIO,
) -> None:
    """Translate one payload (FILE or - for stdin) from one dialect to another."""
    try:
        registry.get(source)  # an unknown name is a usage error before a file is read
        dst = registry.get(target)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    directory = _mappings_dir(config_file)
    try:
        m_src, m_dst = load_mapping(directory, source), load_mapping(directory, target)
        state = PurchaseOrder.model_validate_json(state_file.read()) if state_file else None
        events = parse_for(source, payload.read(), m_src, _headers(headers))
        remote = RemoteState(remote_id=remote_id, status=remote_status)
        rendered = [render_for(target, event, m_dst, state, remote) for event in events]
    except PohubError as exc:
        _fail(exc)
    out = orjson.dumps(dst.combine(rendered), option=orjson.OPT_INDENT_2)
    sys.stdout.buffer.write(out + b"\n")
    refused = [c for plan in rendered for c in plan.calls if c.refused is not None]
    if refused:  # the plan stops before a step it may not take: not the whole translation
        click.echo(f"error: the plan stops before {refused[0].step}: {refused[0].refused}",
                   err=True)  # fmt: skip
        sys.exit(3)


@main.command("new-adapter")
@click.argument("name")
@click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=".",
    help="The project's directory (holding adapters/, mappings/ and config.yaml).",
)  # fmt: skip
def new_adapter(name: str, root: Path) -> None:
    """Write the skeleton of a new system NAME: adapters/NAME/, mappings/NAME.yaml and its
    config.yaml entry (a working JSON status update dialect to start from)."""
    from gateway.cli.scaffold import ScaffoldError
    from gateway.cli.scaffold import new_adapter as scaffold

    try:
        written = scaffold(root, name)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from None
    for path in written:
        click.echo(f"wrote {path.relative_to(root)}")
    click.echo(f"next: uv run pytest tests/test_golden.py --regen-golden -k {name}, review "
               f"the goldens, then run the generated suites")  # fmt: skip


@main.command("check-config")
@config_option
def check_config(config_file: str | None) -> None:
    """Validate config.yaml and every mapping; print each problem with file, line and path."""
    file = config_path(config_file)
    problems: list[ConfigProblem] = []
    configured = "mappings"
    if file.exists():
        config, problems = parse_config(file.read_text(), str(file), registry.system_ids())
        configured = config.mappings_dir if config else configured
    elif config_file is not None:
        raise click.ClickException(f"{file}: file not found")
    loaded, mapping_problems = check_mappings(mappings_dir(file, configured))
    problems += mapping_problems
    for mapping in loaded.values():
        for note in notes(mapping):
            click.echo(f"note: {note}")
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo(f"ok: {file} and {len(registry.system_ids())} mappings are valid")


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, type=int)
def simulate(config_file: str | None, host: str, port: int) -> None:
    """Run the five systems' simulators, faithful to their documents, on one port."""
    import uvicorn

    from gateway.cli.simulate import build_simulators, create_app

    try:
        config = load_config(config_file, registry.system_ids())
    except ConfigError as exc:
        _fail(exc)
    sims = build_simulators(config, printer=lambda line: click.echo(line, err=True))
    for system in sims:
        click.echo(f"{system:<11} http://{host}:{port}/{system}", err=True)
    uvicorn.run(create_app(sims), host=host, port=port, log_level="warning")


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", "n_workers", default=1, show_default=True, type=int,
              help="Delivery workers in this process (0: gateway only).")  # fmt: skip
def serve(config_file: str | None, host: str, port: int, n_workers: int) -> None:
    """Gateway and delivery workers in one process."""
    import uvicorn

    from gateway.app import create_app

    hub = _hub(config_file)
    _check_store(hub)
    app = create_app(hub, run_workers=n_workers > 0, workers=max(n_workers, 1))
    click.echo(f"pohub gateway on http://{host}:{port} (store {_safe_url(hub)})", err=True)
    loop, http = fast_server()
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=20,
                loop=loop, http=http)  # fmt: skip


def fast_server() -> tuple[str, str]:
    """uvicorn's event loop and HTTP parser: uvloop and httptools (C, cheaper per request)
    when importable, else the standard asyncio loop and h11."""
    from importlib.util import find_spec

    return ("uvloop" if find_spec("uvloop") else "asyncio",
            "httptools" if find_spec("httptools") else "h11")  # fmt: skip


@main.command()
@config_option
@click.option("--concurrency", default=64, show_default=True, type=int,
              help="Deliveries in flight in this process.")  # fmt: skip
@click.option("--lease-s", default=60.0, show_default=True, type=float,
              help="How long a claimed delivery is ours; a dead worker's work returns after it.")  # fmt: skip
def worker(config_file: str | None, concurrency: int, lease_s: float) -> None:
    """Delivery workers only: run many, on many machines, against one Redis."""
    import asyncio
    import signal

    from gateway.api.alerts import alerts_for
    from gateway.delivery import circuits
    from gateway.delivery.worker import Worker
    from gateway.observe.logs import configure_logging

    configure_logging()
    hub = _hub(config_file)
    _check_store(hub)

    async def run() -> None:
        await hub.store.open()
        from gateway.mappings import versions

        follow = asyncio.create_task(versions.watch_store(hub))
        w = Worker(hub.config, hub.store, hub.mappings, batch=concurrency, lease_s=lease_s)
        hub.workers.append(w)  # alerts see its circuits (known in this process only)
        alerts = hub.config.alerts
        alerting = asyncio.create_task(alerts_for(hub, alerts).run()) if alerts else None
        publishing = asyncio.create_task(circuits.publish_loop(hub))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, w.stop)
        try:
            await w.run()
        finally:
            follow.cancel()
            publishing.cancel()
            if alerting is not None:
                alerting.cancel()
            await hub.store.close()

    click.echo(f"pohub worker (store {_safe_url(hub)})", err=True)
    asyncio.run(run())


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--sim-port", default=9100, show_default=True, type=int)
def demo(config_file: str | None, host: str, port: int, sim_port: int) -> None:
    """The hub on embedded defaults with simulators: push every sample, show where it went."""
    import asyncio

    from gateway.cli.demo import run_demo

    try:
        asyncio.run(run_demo(config_file, host, port, sim_port))
    except ConfigError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        pass


def _hub(config_file: str | None) -> Any:
    from gateway.hub import Hub

    try:
        return Hub.build(config_file)
    except ConfigError as exc:
        _fail(exc)


def _check_store(hub: Any) -> None:
    """Open and close the store once before serving: a store whose server contradicts what
    it must promise (Redis persistence below the ``durability`` setting, another partition
    count) raises ``ValueError`` with what to change, and the process does not start."""
    import asyncio

    async def check() -> None:
        await hub.store.open()
        await hub.store.close()

    try:
        asyncio.run(check())
    except ValueError as exc:
        click.echo(f"error: store {_safe_url(hub)}: {exc}", err=True)
        sys.exit(EXIT_CONFIG)


def _safe_url(hub: Any) -> str:
    import re

    return re.sub(r"//[^@/]*@", "//***@", str(getattr(hub.store, "url", "?")))


def _mappings_dir(config_file: str | None) -> Path:
    file = config_path(config_file)
    try:
        config = load_config(config_file, registry.system_ids())
    except ConfigError as exc:
        _fail(exc)
    return mappings_dir(file, config.mappings_dir)


def _headers(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep:
            raise click.UsageError(f"--header wants NAME:VALUE, got {pair!r}")
        out[name.strip()] = value.strip()
    return out


def _fail(exc: PohubError) -> None:
    if isinstance(exc, InvalidInput):
        click.echo(f"error: invalid {exc.system} payload", err=True)
        for err in exc.errors:
            click.echo(f"  {err.path}: {err.message} [{err.rule}]", err=True)
        sys.exit(EXIT_INVALID)
    if isinstance(exc, ConfigError):
        click.echo(f"error: configuration\n{exc}", err=True)
        sys.exit(EXIT_CONFIG)
    click.echo(f"error: {exc}", err=True)
    sys.exit(getattr(exc, "exit_code", 1))


def _attach_mappings_group() -> None:
    from gateway.cli.mappings import mappings

    main.add_command(mappings)


_attach_mappings_group()
