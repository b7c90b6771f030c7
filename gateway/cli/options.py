"""Options the ``pohub`` commands and the ``pohub mappings`` group share."""

from __future__ import annotations

import click

config_option = click.option(
    "--config",
    "config_file",
    default=None,
    help="config.yaml (default ./config.yaml or POHUB_CONFIG).",
)
