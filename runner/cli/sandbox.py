"""`zdops sandbox`: serve the local Zendesk emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import math
import signal
import threading
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING

import click

from runner.errors import ZdopsError

if TYPE_CHECKING:
    from runner.sandbox import Faults


def _finite_latency(ctx: click.Context, param: click.Parameter, value: float) -> float:
    # FloatRange lets inf and nan through; either would stall every answer forever.
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of milliseconds, e.g. 50")
    return value


def _fault_spec(ctx: click.Context, param: click.Parameter, value: str | None) -> Faults | None:
    """Parse --faults before seeding, so a typo fails at once even with a million tickets."""
    if value is None:
        return None
    from runner.sandbox import FaultSpecError, parse_faults

    try:
        return parse_faults(value)
    except FaultSpecError as error:
        raise click.BadParameter(str(error)) from None


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--tickets",
    type=click.IntRange(0, 5_000_000),
    default=1000,
    show_default=True,
    help="How many tickets to seed.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Seed of the data and of the faults; the same seed gives the same account.",
)
@click.option(
    "--rate-limit",
    "rate_limit",
    type=click.IntRange(1),
    default=None,
    help="Enforce an account rate limit of RPM requests per minute, with 429s "
    "(default: none; the rate-limit headers are still sent, reporting 1,000,000/min).",
)
@click.option(
    "--latency",
    type=click.FloatRange(0),
    default=0.0,
    callback=_finite_latency,
    help="Milliseconds added to every answer.",
)
@click.option(
    "--faults",
    default=None,
    metavar="SPEC",
    callback=_fault_spec,
    help="Injected faults, e.g. '500:0.05,drop:0.02,lost:0.01,latency:50+-20,"
    "slowjobs:2.0,jobfail:0.1,agent:0.5'.",
)
@click.option(
    "--now",
    default=None,
    metavar="ISO-8601",
    help="The account's current time (default: the real time); fix it for "
    "byte-identical data across runs.",
)
def sandbox(
    port: int,
    tickets: int,
    seed: int,
    rate_limit: int | None,
    latency: float,
    faults: Faults | None,
    now: str | None,
) -> None:
    """Serve a seeded Zendesk emulator on 127.0.0.1 and print credentials for it."""
    from runner.sandbox import Sandbox, Server

    start = _parse_now(now)
    emulator = Sandbox(
        tickets=tickets,
        seed=seed,
        rate_limit=rate_limit,
        latency_ms=latency,
        faults=faults,
        now=start,
    )
    try:
        server = Server(emulator, port)
    except OSError as error:
        emulator.close()
        raise ZdopsError(
            f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}",
            hint="Pick another --port, or --port 0 for a free one.",
        ) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server.start()
    try:
        _banner(emulator, server.url, tickets, seed)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("sandbox stopped", err=True)


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 time, e.g. 2026-01-01T00:00:00Z", param_hint="--now"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone; add Z for UTC", param_hint="--now")
    return moment


def _banner(emulator: object, url: str, tickets: int, seed: int) -> None:
    from runner.sandbox import Sandbox

    assert isinstance(emulator, Sandbox)
    click.echo(f"Zendesk sandbox  {url}  ({tickets} tickets, seed {seed})")
    faults = emulator.dice.faults.spec()
    if faults:
        click.echo(f"faults  {faults}")
    click.echo("credentials (throwaway keys of this local emulator):")
    # The light agent and the end-user are there to try the 403s Zendesk gives those roles,
    # the suspended agent to see `zdops tokens verify` refuse an inactive user.
    people = (
        ("admin", emulator.admin),
        ("bot", emulator.bot),
        ("agent", emulator.agent),
        ("light", emulator.light_agent),
        ("end-user", emulator.end_user),
        ("suspended", emulator.suspended_agent),
    )
    for role, user in people:
        for kind in ("oauth", "api_token"):
            key = emulator.credentials(user["email"], kind)
            click.echo(f"  {role:<9} {user['email']:<26} {kind:<10} {key}")
    click.echo(
        "  (as in Zendesk, an api_token works with any user's email: Basic EMAIL/token:KEY)"
    )
    click.echo("Ctrl-C to stop.", nl=True)
