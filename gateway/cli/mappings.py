"""``pohub mappings export|import``: the YAML files are the seed and the export format."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
import yaml

from adapters import registry
from core.mapping.loader import parse_mapping
from gateway.cli.options import config_option
from gateway.hub import Hub
from gateway.mappings import drafts as drafts
from gateway.mappings import versions as mv
from gateway.observe import audit


@click.group()
def mappings() -> None:
    """Move mappings between the store (versions) and YAML files."""


@mappings.command("export")
@config_option
@click.option("--out", "out_dir", default=None, help="Folder to write (default: mappings_dir).")
def export(config_file: str | None, out_dir: str | None) -> None:
    """Write each system's current store version as <system>.yaml."""
    hub = Hub.build(config_file)
    target = Path(out_dir) if out_dir else hub.mappings_path or Path("mappings")
    target.mkdir(parents=True, exist_ok=True)
    for system, record in asyncio.run(_export(hub)):
        text = yaml.safe_dump(record["mapping"], allow_unicode=True, sort_keys=False)
        (target / f"{system}.yaml").write_text(text)
        click.echo(f"{system}: v{record['version']} ({record['content_version']})")


async def _export(hub: Hub) -> list[tuple[str, dict[str, object]]]:
    await hub.store.open()
    try:
        return [(s, await mv.ensure(hub, s)) for s in registry.system_ids() if s in hub.mappings]
    finally:
        await hub.store.close()


@mappings.command("import")
@config_option
@click.option("--from", "from_dir", default=None, help="Folder to read (default: mappings_dir).")
@click.option("--comment", default="imported from YAML", show_default=True)
@click.option(
    "--draft",
    "as_draft",
    is_flag=True,
    help="Store each changed file as the system's draft, to review and publish on the admin "
    "page, instead of a live version.",
)
def import_(config_file: str | None, from_dir: str | None, comment: str, as_draft: bool) -> None:
    """Store every valid <system>.yaml as a new version (unchanged ones are skipped), or with
    --draft as the system's draft (nothing goes live)."""
    hub = Hub.build(config_file)
    source = Path(from_dir) if from_dir else hub.mappings_path or Path("mappings")
    found, failed = {}, False
    for system in registry.system_ids():
        file = source / f"{system}.yaml"
        if not file.exists():
            continue
        mapping, problems = parse_mapping(
            file.read_text(), str(file), registry.get(system).spec, system
        )
        for problem in problems:
            click.echo(str(problem), err=True)
        failed |= mapping is None
        if mapping is not None:
            found[system] = mapping.file.model_dump(mode="json")
    if failed:
        sys.exit(1)
    if as_draft:
        for system, note in asyncio.run(_import_drafts(hub, found, comment)):
            click.echo(f"{system}: {note}")
        return
    for system, version, requeued in asyncio.run(_import(hub, found, comment)):
        click.echo(f"{system}: v{version} (requeued {requeued})")


async def _import(
    hub: Hub, found: dict[str, dict[str, object]], comment: str
) -> list[tuple[str, int, int]]:
    await hub.store.open()
    try:
        out = []
        for system, data in found.items():
            record, requeued = await mv.save(hub, system, data, "cli", comment, skip_unchanged=True)
            out.append((system, int(record["version"]), requeued))
            await audit.record(hub.store, audit.command_line(), "mappings import", system,
                               f"v{record['version']} in force, {requeued} requeued",
                               {"system": system, "comment": comment})  # fmt: skip
        return out
    finally:
        await hub.store.close()


async def _import_drafts(
    hub: Hub, found: dict[str, dict[str, object]], comment: str
) -> list[tuple[str, str]]:
    """Each file that differs from the live version becomes the system's draft (replacing
    one an admin may have started: the file is what the operator asked for)."""
    await hub.store.open()
    try:
        out = []
        for system, data in found.items():
            live = await mv.ensure(hub, system)
            if mv.diff(live["mapping"], data) == []:
                out.append((system, f"unchanged (live v{live['version']}); no draft"))
                continue
            draft = await drafts.save(hub, system, data, "cli", comment)
            out.append((system, f"draft revision {draft['revision']} (from v{live['version']}); "
                                "review and publish it to put it live"))  # fmt: skip
        return out
    finally:
        await hub.store.close()
