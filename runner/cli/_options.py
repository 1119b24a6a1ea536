"""Options and helpers shared by several commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from runner.errors import ZdopsError

DEFAULT_CONFIG = "config.yaml"


def default_config_path() -> Path:
    """CONFIG when none is given: $ZDOPS_CONFIG, else ./config.yaml."""
    return Path(os.environ.get("ZDOPS_CONFIG") or DEFAULT_CONFIG)


def config_path(value: str | None) -> Path:
    return Path(value) if value else default_config_path()


def refuse_overwriting(
    option: str, target: str | None, suggestion: str, **inputs: Path | None
) -> None:
    """Stop before anything runs when an output file would replace one of the run's inputs
    (`--out config.yaml` would swap the config for a plan: a typo that loses the file)."""
    if target is None:
        return
    for what, source in inputs.items():
        if source is not None and _same_file(Path(target), source):
            raise ZdopsError(
                f"{option} {target} is the {what} this run reads; it would be overwritten.",
                hint=f"Give {option} another file, e.g. {option} "
                f"{Path(target).with_name(suggestion)}.",
            )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


config_argument = click.argument("config", required=False, type=click.Path(dir_okay=True))


F = TypeVar("F", bound=Callable[..., object])


def run_options(command: F) -> F:
    """The options `plan` and `apply` share: where tokens may go, and how much may change."""
    for option in reversed(
        [
            click.option(
                "--allow-host",
                "allow_hosts",
                multiple=True,
                metavar="HOST",
                help="Also allow sending tokens to HOST over HTTPS (also ZDOPS_ALLOW_HOSTS).",
            ),
            click.option(
                "--limit-override",
                type=click.IntRange(min=1),
                metavar="N",
                help="Let every rule change up to N tickets, whatever its `limit`.",
            ),
            click.option(
                "--max-changes",
                type=click.IntRange(min=0),
                metavar="N",
                help="Change at most N tickets in the whole run (default 1000, or the "
                "--limit-override if larger).",
            ),
        ]
    ):
        command = option(command)
    return command
