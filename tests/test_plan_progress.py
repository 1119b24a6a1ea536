"""Progress on stderr: a redrawn line on a terminal, periodic lines in a log, silence when off."""

from __future__ import annotations

import io

import pytest

from runner.engine.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_mode_follows_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZDOPS_PROGRESS", raising=False)
    assert Progress.for_stream(Terminal()).mode == "bar"
    assert Progress.for_stream(io.StringIO()).mode == "lines"
    assert Progress.for_stream(Terminal(), enabled=False).mode == "off"
    monkeypatch.setenv("ZDOPS_PROGRESS", "0")
    assert Progress.for_stream(Terminal()).mode == "off"


def test_log_gets_one_line_per_interval_and_a_last_line() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, "lines", interval=10.0, clock=clock)
    task = progress.task("rule vip: reading tickets")
    for _ in range(25):  # 25 tickets over 25 seconds: a line at 10 s and 20 s
        clock.now += 1.0
        task.advance()
    task.finish()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "zdops: rule vip: reading tickets: 10 (1/s)",
        "zdops: rule vip: reading tickets: 20 (1/s)",
        "zdops: rule vip: reading tickets: 25 (1/s), done",
    ]


def test_a_short_task_leaves_no_trace_in_a_log() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, "lines", interval=10.0, clock=clock)
    assert list(progress.track("reading", range(1000))) == list(range(1000))
    assert stream.getvalue() == ""


def test_terminal_bar_with_a_total_is_redrawn_then_erased() -> None:
    stream, clock = Terminal(), Clock()
    progress = Progress(stream, "bar", clock=clock)
    task = progress.task("applying", total=4)
    for _ in range(2):
        clock.now += 1.0
        task.advance()
    shown = stream.getvalue()
    assert shown.startswith("\r") and "\n" not in shown
    assert "applying: [############............] 2/4 (50%, 1/s)" in shown
    task.finish()
    assert stream.getvalue().endswith("\r")
    last = stream.getvalue().rsplit("\r", 2)[-2]
    assert last.strip() == ""  # the line was blanked out for what prints next


def test_off_writes_nothing() -> None:
    stream, clock = Terminal(), Clock()
    progress = Progress(stream, "off", clock=clock)
    for _ in progress.track("reading", range(10)):
        clock.now += 100
    assert stream.getvalue() == ""
    assert Progress().mode == "off"  # no stream: off, whatever was asked
