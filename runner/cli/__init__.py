"""The `zdops` command line.

Each command lives in its own small module under `runner.cli` and is imported only when it runs,
so that `zdops validate` (a pre-commit hook) does not pay for httpx or the engine. A command is
thin: parse flags, call one core function, render, return an exit code. Errors are raised as
`ZdopsError` and turned into a message and an exit code here, in one place.
"""

from __future__ import annotations

import importlib
import os
import traceback
from typing import Any

import click

from runner import __version__
from runner.errors import EXIT_ERROR, EXIT_INTERRUPTED, ConfigError, ZdopsError

# name -> "module:attribute"; the module is imported only when the command is used.
COMMANDS: dict[str, str] = {
    "validate": "runner.cli.validate:validate",
    "schema": "runner.cli.schema:schema",
    "tokens": "runner.cli.tokens:tokens",
    "sandbox": "runner.cli.sandbox:sandbox",
    "plan": "runner.cli.plan:plan",
    "apply": "runner.cli.apply:apply",
    "init": "runner.cli.init:init",
    "demo": "runner.cli.demo:demo",
}


def report_error(error: ZdopsError) -> None:
    """Print a ZdopsError to stderr the one way every command does."""
    if isinstance(error, ConfigError):
        for problem in error.problems:
            click.echo(str(problem), err=True)
        return
    click.echo(f"error: {error}", err=True)


def _as_error_exit(error: click.UsageError) -> click.UsageError:
    """The same usage error (click's own text and help), exiting 1 instead of click's 2.

    Exit 2 means "changes pending" under `plan --detailed-exitcode`; a CI step that reads the
    status must never take a mistyped flag for pending work.
    """
    # click declares exit_code a ClassVar, but reads it from the instance when it exits.
    error.exit_code = EXIT_ERROR  # type: ignore[misc]
    return error


class ZdopsGroup(click.Group):
    """A click group with lazily imported commands and the error handler of the whole CLI."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            raise _as_error_exit(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _as_error_exit(error) from None
        except ZdopsError as error:
            if debug:
                traceback.print_exc()
            report_error(error)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:  # a bug: say so briefly, and show details only on request
            if debug:
                traceback.print_exc()
            else:
                click.echo(
                    f"internal error: {type(error).__name__}: {error} "
                    "(run again with --debug for the traceback, and please report it)",
                    err=True,
                )
            ctx.exit(EXIT_ERROR)


@click.group(cls=ZdopsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--debug",
    is_flag=True,
    default=lambda: os.environ.get("ZDOPS_DEBUG", "") not in ("", "0"),
    help="Show tracebacks for errors (also ZDOPS_DEBUG=1).",
)
@click.version_option(__version__, prog_name="zdops")
def main(debug: bool) -> None:
    """zdops: declarative Zendesk automation, kept in git."""

