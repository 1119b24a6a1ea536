"""`zdops demo`: the whole loop against the built-in sandbox, from nothing."""

from __future__ import annotations

from pathlib import Path

import click

from runner.demo import DEMO_PORT, DEMO_TICKETS


class ClickOutput:
    """The demo's output on stdout: bold step titles, sentences, and indented blocks."""

    def step(self, number: int, title: str) -> None:
        click.echo("")
        click.secho(f"[{number}] {title}", bold=True)

    def say(self, text: str) -> None:
        click.echo(f"    {text}")

    def show(self, text: str) -> None:
        for line in text.splitlines():
            click.echo(f"    | {line}" if line else "    |")


@click.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Work in this new or empty directory (default: a new temporary one, kept).")
@click.option("--tickets", type=click.IntRange(1, 100_000), default=DEMO_TICKETS,
              show_default=True,
              help="How many tickets the sandbox account starts with.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEMO_PORT, show_default=True,
              help="Port of the sandbox on 127.0.0.1 (a free one if it is taken; 0: any).")
def demo(directory: str | None, tickets: int, port: int) -> None:
    """Run validate, verify, plan, apply and a re-plan against a local Zendesk sandbox."""
    from runner.demo import run_demo  # heavy imports (sandbox, engine) happen inside it

    result = run_demo(ClickOutput(), directory=Path(directory) if directory else None,
                      tickets=tickets, port=port)
    click.echo("")
    click.secho(
        f"Demo complete: {result.applied} ticket(s) changed as {result.audit_author}; "
        "the re-plan had nothing left to do.",
        bold=True,
    )
