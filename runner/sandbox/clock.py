"""The sandbox's clock: a chosen `now` at start, then moving with real (monotonic) time.

Seeded timestamps are offsets from the start `now`, so a fixed `now` gives byte-identical data
and the default (the real time at start) gives data that looks fresh to a client's own clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    def __init__(self, now: datetime | float | None = None) -> None:
        if now is None:
            start = float(int(time.time()))
        elif isinstance(now, datetime):
            if now.tzinfo is None:
                raise ValueError("now must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
            start = now.timestamp()
        else:
            start = float(now)
        self.start = start
        self._t0 = time.monotonic()

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self._t0)

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self(), UTC)
