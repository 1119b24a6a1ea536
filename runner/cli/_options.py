"""Options and helpers shared by several commands."""

from __future__ import annotations

import os
from pathlib import Path

import click

DEFAULT_CONFIG = "config.yaml"


def default_config_path() -> Path:
    """CONFIG when none is given: $ZDOPS_CONFIG, else ./config.yaml."""
    return Path(os.environ.get("ZDOPS_CONFIG") or DEFAULT_CONFIG)


def config_path(value: str | None) -> Path:
    return Path(value) if value else default_config_path()


config_argument = click.argument("config", required=False, type=click.Path(dir_okay=True))
