"""`zdops apply`: carry out a fresh plan (after showing it) or exactly a saved one.

A fresh plan is shown and confirmed on the terminal (or `--yes`); with stdin not a terminal and
no `--yes`, apply refuses instead of waiting for an answer nobody will type. A saved plan was
reviewed already, so it is applied without a question, but only if it still fits
(runner.engine.saved_plan). Interrupts are handled by runner.engine.interrupts: the report is
written and the exit code is 130.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from runner.cli._options import config_argument, config_path, refuse_overwriting, run_options
from runner.errors import ApplyError, Interrupted, ZdopsError

if TYPE_CHECKING:
    from runner.engine.plan import Plan
    from runner.engine.report import ApplyReport

SHOW_FAILURES = 20


@click.command("apply")
@config_argument
@click.argument("plan_file", metavar="[PLAN.json]", required=False,
                type=click.Path(dir_okay=False))
@click.option("--yes", "-y", is_flag=True,
              help="Apply a fresh plan without asking (needed when stdin is not a terminal).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), metavar="REPORT.json",
              help="Write every ticket's outcome as JSON to this file.")
@run_options
def apply(
    config: str | None,
    plan_file: str | None,
    yes: bool,
    report_path: str | None,
    allow_hosts: tuple[str, ...],
    limit_override: int | None,
    max_changes: int | None,
) -> None:
    """Apply the rules in CONFIG to Zendesk: a fresh plan, or exactly the saved PLAN.json."""
    from runner.engine.interrupts import apply_interruptibly
    from runner.engine.progress import Progress
    from runner.engine.run import RunOptions, open_run
    from runner.engine.saved_plan import (
        check_against_run,
        check_before_decrypting,
        is_saved_plan,
        read_plan,
    )

    if plan_file is None and config is not None and is_saved_plan(Path(config)):
        # `zdops apply plan.json`: the one argument is the plan, the config is the default one
        config, plan_file = None, config
    path = config_path(config)
    plan_path = Path(plan_file) if plan_file else None
    refuse_overwriting("--report", report_path, "report.json", config=path, plan=plan_path)
    saved = read_plan(plan_path) if plan_path else None
    if saved is None and not yes and not _stdin_is_terminal():
        raise ZdopsError(
            "zdops apply would ask for confirmation, but stdin is not a terminal; nothing was "
            "read or changed.",
            hint="Review with `zdops plan` and pass --yes (or apply a saved plan: `zdops plan "
            "--out plan.json`, then `zdops apply CONFIG plan.json`).",
        )
    options = RunOptions(
        rules=[r.name for r in saved.rules] if saved else (),
        allow_hosts=allow_hosts,
        limit_override=limit_override,
        max_changes=max_changes,
        progress=Progress.for_stream(sys.stderr),
    )
    if saved is not None:
        check_before_decrypting(saved, path, options, plan_file or "")
    with open_run(path, options) as run:
        for warning in run.loaded.warnings:
            click.echo(str(warning), err=True)
        if saved is not None:
            check_against_run(saved, run, plan_file or "")
            plan = saved
        else:
            plan = run.plan()
            _show(plan)
            if not plan.changes:
                click.echo("Nothing to apply: Zendesk is already as the rules want it.")
                if report_path:
                    _write(_empty_report(plan), Path(report_path))
                return
            if not yes and not _confirm(
                f"\nApply these changes to {len(plan.changes)} tickets at {plan.zendesk_url}?"
            ):
                raise ZdopsError("Apply cancelled; nothing was changed.")
        report = apply_interruptibly(plan, run)
    if report_path:
        _write(report, Path(report_path))
    _finish(report, report_path)


def _stdin_is_terminal() -> bool:
    stream = sys.stdin  # CliRunner swaps it too, so tests see what a user would
    return stream is not None and stream.isatty()


def _show(plan: Plan) -> None:
    from runner.cli.plan import render

    click.echo(render(plan, "text"), nl=False)


def _confirm(question: str) -> bool:
    """Ask on stdout, next to the plan, and read one line: anything but y/yes is a no.

    Not click.confirm: on a terminal it prompts through input(), whose readline writes the
    question to stderr, so `zdops apply 2>log` would show the plan and then wait in silence.
    """
    click.echo(f"{question} [y/N]: ", nl=False)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _empty_report(plan: Plan) -> ApplyReport:
    from datetime import UTC, datetime

    from runner.engine.report import ApplyReport

    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return ApplyReport(now, now, plan.zendesk_url, plan.checksum, plan.config_digest, ())


def _write(report: ApplyReport, path: Path) -> None:
    from runner.engine.report import write_report

    write_report(report, path)


def _finish(report: ApplyReport, report_path: str | None) -> None:
    """Print what did not go to plan, the summary, and turn the outcome into the exit code."""
    trouble = [t for t in report.tickets if t.outcome not in ("applied", "not-attempted")]
    for ticket in trouble[:SHOW_FAILURES]:
        code = f" [{ticket.error}]" if ticket.error else ""
        click.echo(f"  #{ticket.ticket_id} {ticket.outcome}{code}: {ticket.message}", err=True)
    if len(trouble) > SHOW_FAILURES:
        more = f"; all are in {report_path}" if report_path else " (pass --report to see all)"
        click.echo(f"  ... and {len(trouble) - SHOW_FAILURES} more{more}", err=True)
    click.echo(report.summary())
    where = f" The report is in {report_path}." if report_path else ""
    if report.interrupted:
        raise Interrupted(
            f"apply was interrupted ({report.error or 'signal'}); no new updates were sent "
            f"after it.{where}",
            hint="Run `zdops plan` to see what is left, then apply again.",
        )
    if report.error:
        raise ApplyError(
            f"apply stopped early: {report.error}.{where}",
            hint="Fix the cause, then run `zdops plan` and apply again.",
        )
    if report.failed:
        failed = report.counts()["failed"] + report.counts()["unknown"]
        raise ApplyError(
            f"{failed} of {len(report.tickets)} changes failed (listed above).{where}",
            hint="Fix what Zendesk objected to, then run `zdops plan` and apply again.",
        )
