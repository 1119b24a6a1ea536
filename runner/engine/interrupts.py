"""Applying under signals: the first Ctrl-C or SIGTERM stops new submissions and lets what is in
flight finish for a while; the alarm or a second signal abandons it at once.

CI runners give a cancelled job a few seconds before killing it (GitHub: SIGINT, then SIGTERM
7.5 s later), so DRAIN_SECONDS fits inside that and the report still gets written.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.engine.apply import StopFlag
    from runner.engine.plan import Plan
    from runner.engine.report import ApplyReport
    from runner.engine.run import Run

DRAIN_SECONDS = 7.0


def apply_interruptibly(plan: Plan, run: Run, *, drain: float = DRAIN_SECONDS) -> ApplyReport:
    """Apply `plan` with the run's clients, re-evaluating stale tickets with the run's rules."""
    from runner.engine.apply import StopFlag, apply_plan, reevaluator

    reevaluate = reevaluator(
        run.rules,
        run.resolver,
        run.context(),
        query_matches=run.query_matches,
        source=run.loaded.filename,
    )
    stop = StopFlag()
    with stop_on_signals(stop, drain):
        return apply_plan(plan, run.clients, reevaluate, stop=stop, progress=run.options.progress)


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
        print(
            f"\n{name}: no new updates will be sent; waiting up to {drain:g}s for those in "
            "flight (send it again to stop at once).",
            file=sys.stderr,
            flush=True,
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
