"""`zdops plan`: read Zendesk and show what the rules would change, ticket by ticket, as whom."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from runner.cli._options import config_argument, config_path, refuse_overwriting, run_options
from runner.errors import EXIT_CHANGES_PENDING

if TYPE_CHECKING:
    from runner.engine.plan import Plan


@click.command("plan")
@config_argument
@click.option("--rule", "rules", multiple=True, metavar="NAME",
              help="Plan only this rule (repeatable); default: every enabled rule.")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), metavar="PLAN.json",
              help="Also save the plan as JSON, for `zdops apply CONFIG PLAN.json`.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True, help="How to print the plan on stdout.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when there are changes to apply, 0 when there are none.")
@run_options
def plan(
    config: str | None,
    rules: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    allow_hosts: tuple[str, ...],
    limit_override: int | None,
    max_changes: int | None,
) -> None:
    """Read Zendesk and print what the rules in CONFIG would change (nothing is changed)."""
    from runner.engine.progress import Progress
    from runner.engine.run import RunOptions, open_run

    refuse_overwriting("--out", out, "plan.json", config=config_path(config))
    options = RunOptions(
        rules=rules,
        allow_hosts=allow_hosts,
        limit_override=limit_override,
        max_changes=max_changes,
        progress=Progress.for_stream(sys.stderr),
    )
    with open_run(config_path(config), options) as run:
        for warning in run.loaded.warnings:
            click.echo(str(warning), err=True)
        result = run.plan()
    if out is not None:
        write_plan(Path(out), result)
    click.echo(render(result, fmt), nl=False)
    if out is not None and fmt == "text":
        command = f"zdops apply {shlex.quote(str(config_path(config)))} {shlex.quote(out)}"
        click.echo(f"\nSaved the plan to {out}; apply exactly it with `{command}`.", err=True)
    # A rule held back by its limit is work the file asks for that was not planned: not in sync.
    if detailed_exitcode and (result.changes or result.blocked_rules):
        raise click.exceptions.Exit(EXIT_CHANGES_PENDING)


def render(result: Plan, fmt: str) -> str:
    if fmt == "json":
        from runner.render.plan_json import render_json

        return render_json(result)
    if fmt == "markdown":
        from runner.render.plan_markdown import render_markdown

        return render_markdown(result)
    from runner.render.plan_text import render_text

    return render_text(result, color=use_color())


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR", "") != "":
        return False
    return sys.stdout.isatty()


def write_plan(path: Path, result: Plan) -> None:
    """Save the plan JSON for `zdops apply CONFIG PLAN.json`: never half a file."""
    from runner.files import write_atomic
    from runner.render.plan_json import render_json

    write_atomic(
        path,
        render_json(result),
        what="the plan",
        hint="Pass --out with a path in an existing, writable directory.",
    )
