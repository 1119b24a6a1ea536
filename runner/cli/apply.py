"""`zdops apply`: carry out a fresh plan (after showing it) or exactly a saved one.

A fresh plan is shown and confirmed on the terminal (or `--yes`); with stdin not a terminal and
no `--yes`, apply refuses instead of waiting for an answer nobody will type. A saved plan was
reviewed already, so it is applied without a question, but only if it still fits: the same
config (digest), an intact file (checksum), the same Zendesk, the same identities.

Ctrl-C or SIGTERM stops new submissions, lets the jobs already submitted finish for up to
DRAIN_SECONDS (a second signal abandons them at once), writes the report and exits 130.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from runner.cli._options import config_argument, config_path, run_options
from runner.errors import ApplyError, Interrupted, PlanError, ZdopsError

if TYPE_CHECKING:
    from runner.engine.apply import StopFlag
    from runner.engine.plan import Plan
    from runner.engine.report import ApplyReport
    from runner.engine.run import Run, RunOptions

# CI runners give a cancelled job a few seconds before killing it (GitHub: SIGINT, then SIGTERM
# 7.5 s later): finish what is in flight within that, and write the report.
DRAIN_SECONDS = 7.0
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
    from runner.engine.progress import Progress
    from runner.engine.run import RunOptions, open_run

    path = config_path(config)
    saved = _read_plan(Path(plan_file)) if plan_file else None
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
        _check_before_decrypting(saved, path, options, plan_file or "")
    with open_run(path, options) as run:
        for warning in run.loaded.warnings:
            click.echo(str(warning), err=True)
        if saved is not None:
            _check_against_run(saved, run, plan_file or "")
            plan = saved
        else:
            plan = run.plan()
            _show(plan)
            if not plan.changes:
                click.echo("Nothing to apply: Zendesk is already as the rules want it.")
                if report_path:
                    _write(_empty_report(plan), Path(report_path))
                return
            if not yes and not click.confirm(
                f"\nApply these changes to {len(plan.changes)} tickets at {plan.zendesk_url}?",
                default=False,
            ):
                raise ZdopsError("Apply cancelled; nothing was changed.")
        report = _apply(plan, run)
    if report_path:
        _write(report, Path(report_path))
    _finish(report, report_path)


def _stdin_is_terminal() -> bool:
    stream = sys.stdin  # CliRunner swaps it too, so tests see what a user would
    return stream is not None and stream.isatty()


def _read_plan(path: Path) -> Plan:
    from runner.engine.plan import Plan

    try:
        text = path.read_bytes()
    except OSError as error:
        raise PlanError(
            f"{path}: cannot read the plan: {error.strerror or error}.",
            hint="Pass the file written by `zdops plan --out`.",
        ) from None
    return Plan.from_json(text, source=str(path))


def _check_before_decrypting(plan: Plan, path: Path, options: RunOptions, source: str) -> None:
    """Refuse a plan that does not fit the config before any key is decrypted."""
    import os

    from runner.config import load_config
    from runner.trust import check_destination

    loaded = load_config(path)
    if loaded.digest != plan.config_digest:
        raise PlanError(
            f"{source}: the plan was made from a different version of {loaded.filename} "
            f"(config digest {plan.config_digest}, the file now has {loaded.digest}); "
            "nothing was changed.",
            hint="Make a fresh plan from the current config with `zdops plan --out`, review "
            "it, and apply that.",
        )
    env = os.environ if options.env is None else options.env
    url = check_destination(loaded.config.zendesk, allow_hosts=options.allow_hosts, env=env)
    _check_url(plan, url, source)
    budget = options.budget()
    if len(plan.changes) > budget:
        raise PlanError(
            f"{source}: the plan changes {len(plan.changes)} tickets, more than this run's "
            f"budget of {budget}; nothing was changed.",
            hint=f"If that is intended, pass --max-changes {len(plan.changes)}.",
        )


def _check_url(plan: Plan, url: str, source: str) -> None:
    if plan.zendesk_url.rstrip("/") != url.rstrip("/"):
        raise PlanError(
            f"{source}: the plan was made for {plan.zendesk_url}, but the config points at "
            f"{url}; nothing was changed.",
            hint="Apply a plan only to the Zendesk it was made for: make a fresh one.",
        )


def _check_against_run(plan: Plan, run: Run, source: str) -> None:
    """The plan's identities must be who the tokens act as today (users/me just said)."""
    if run.loaded.digest != plan.config_digest:  # the file changed since the first check
        raise PlanError(
            f"{source}: {run.loaded.filename} changed while apply was starting; nothing was "
            "changed.",
            hint="Make a fresh plan with `zdops plan --out` and apply that.",
        )
    _check_url(plan, run.base_url, source)
    for identity in (plan.identity, *plan.run_as):
        now = run.identities.get(identity.token)
        if now is None or now.email.lower() != identity.email.lower():
            acting = now.email if now else "nobody"
            raise PlanError(
                f'{source}: the plan acts as {identity.email} with token "{identity.token}", '
                f"but that token now acts as {acting}; nothing was changed.",
                hint="Make a fresh plan with `zdops plan --out` and review it.",
            )


def _show(plan: Plan) -> None:
    from runner.cli.plan import render

    click.echo(render(plan, "text"), nl=False)


def _apply(plan: Plan, run: Run) -> ApplyReport:
    from runner.engine.apply import StopFlag, apply_plan, reevaluator

    reevaluate = reevaluator(
        run.rules,
        run.resolver,
        run.context(),
        query_matches=run.query_matches,
        source=run.loaded.filename,
    )
    stop = StopFlag()
    with stop_on_signals(stop, DRAIN_SECONDS):
        return apply_plan(plan, run.clients, reevaluate, stop=stop,
                          progress=run.options.progress)


@contextmanager
def stop_on_signals(stop: StopFlag, drain: float) -> Iterator[None]:
    """While applying: the first SIGINT/SIGTERM sets `stop` and arms a `drain`-second alarm;
    the alarm or a second signal raises KeyboardInterrupt, which the applier turns into
    "abandon what is in flight"."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set(name)
        click.echo(
            f"\n{name}: no new updates will be sent; waiting up to {drain:g}s for those in "
            "flight (send it again to stop at once).",
            err=True,
        )
        signal.setitimer(signal.ITIMER_REAL, drain)

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, on_signal) for s in watched}
    previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, on_alarm)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in previous.items():
            signal.signal(number, handler)


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
