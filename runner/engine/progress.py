"""Progress on stderr while a run reads or writes many tickets.

Three modes, chosen once per run by `Progress.for_stream`:

- `bar`: stderr is a terminal; one line redrawn in place (a bar when the total is known, a
  counter with a rate otherwise), erased when the task ends so the plan prints on a clean screen;
- `lines`: stderr is a file or CI log; one plain line every `interval` seconds, so a long run in
  CI shows it is alive without flooding the log;
- `off`: nothing (the default for library callers and tests).

Search export does not say how many tickets match, so reading shows a counter, not a bar; the
applier knows its total and gets a bar.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Literal, TextIO, TypeVar

Mode = Literal["bar", "lines", "off"]
T = TypeVar("T")

BAR_WIDTH = 24
REDRAW_EVERY = 0.1  # seconds between redraws of a terminal line: cheap on a fast sandbox
LINE_EVERY = 15.0  # seconds between lines in a log


class Task:
    """One counted piece of work (reading one rule's tickets, applying one batch of changes)."""

    def __init__(self, progress: Progress, label: str, total: int | None) -> None:
        self._progress = progress
        self.label = label
        self.total = total
        self.done = 0
        self._started = progress.clock()
        self._shown_at = self._started

    def advance(self, count: int = 1) -> None:
        self.done += count
        progress = self._progress
        if progress.mode == "off":
            return
        now = progress.clock()
        every = REDRAW_EVERY if progress.mode == "bar" else progress.interval
        if now - self._shown_at >= every:
            self._shown_at = now
            progress.show(self.describe(now))

    def finish(self) -> None:
        progress = self._progress
        if progress.mode == "bar":
            progress.erase()
        elif progress.mode == "lines" and progress.clock() - self._started >= progress.interval:
            # a task long enough to have reported at all also reports that it ended
            progress.show(self.describe(progress.clock()) + ", done")

    def describe(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = f"{self.done / elapsed:,.0f}/s"
        if self.total:
            share = min(self.done / self.total, 1.0)
            bar = ""
            if self._progress.mode == "bar":
                filled = int(share * BAR_WIDTH)
                bar = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "] "
            return f"{self.label}: {bar}{self.done:,}/{self.total:,} ({share:.0%}, {rate})"
        return f"{self.label}: {self.done:,} ({rate})"


class Progress:
    """Where progress goes and how; `task()` starts a counted piece of work."""

    def __init__(
        self,
        stream: TextIO | None = None,
        mode: Mode = "off",
        *,
        interval: float = LINE_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.mode: Mode = mode if stream is not None else "off"
        self.interval = interval
        self.clock = clock
        self._width = 0

    @classmethod
    def for_stream(cls, stream: TextIO, *, enabled: bool = True) -> Progress:
        """A bar on a terminal, periodic lines otherwise; `ZDOPS_PROGRESS=0` turns it off."""
        if not enabled or os.environ.get("ZDOPS_PROGRESS", "") in ("0", "off", "false"):
            return cls(stream, "off")
        isatty = getattr(stream, "isatty", None)
        return cls(stream, "bar" if callable(isatty) and isatty() else "lines")

    def task(self, label: str, total: int | None = None) -> Task:
        return Task(self, label, total)

    def track(self, label: str, items: Iterable[T], total: int | None = None) -> Iterator[T]:
        """Yield `items`, counting each; the task ends when the iteration does (or is closed)."""
        task = self.task(label, total)
        try:
            for item in items:
                task.advance()
                yield item
        finally:
            task.finish()

    def show(self, text: str) -> None:
        if self.stream is None or self.mode == "off":
            return
        if self.mode == "bar":
            padding = " " * max(self._width - len(text), 0)
            self.stream.write("\r" + text + padding)
            self._width = len(text)
        else:
            self.stream.write(f"zdops: {text}\n")
        self.stream.flush()

    def erase(self) -> None:
        if self.stream is not None and self.mode == "bar" and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
