"""`zdops validate [CONFIG ...]`: is this file right? No secrets, no network.

Kept light on purpose (no httpx, no jsonschema, no engine): it runs as a pre-commit hook.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from runner.cli._options import default_config_path
from runner.config import load_config
from runner.errors import EXIT_ERROR, EXIT_OK, ConfigError
from runner.render.problems import RENDERERS, FileReport


@click.command("validate")
@click.argument("configs", nargs=-1, type=click.Path(dir_okay=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(RENDERERS)),
    default=None,
    help="text (default), json, or github (workflow annotations; the default when "
    "GITHUB_ACTIONS=true).",
)
@click.pass_context
def validate(ctx: click.Context, configs: tuple[str, ...], fmt: str | None) -> None:
    """Check config files without secrets or network: exit 0 when all are valid."""
    if fmt is None:
        fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    paths = [Path(c) for c in configs] or [default_config_path()]
    reports = [validate_file(path) for path in paths]
    click.echo(RENDERERS[fmt](reports), nl=False)
    ctx.exit(EXIT_OK if all(report.valid for report in reports) else EXIT_ERROR)


def validate_file(path: Path) -> FileReport:
    """Every problem in one file (warnings included), never raising for a bad file."""
    try:
        loaded = load_config(path)
    except ConfigError as error:
        return FileReport(str(path), tuple(error.problems))
    return FileReport(str(path), tuple(loaded.warnings))
