"""Zendesk's rate limits: the account's requests per minute and the per-ticket update limit.

Both are fixed windows that start with the first request counted in them, which is what the
`ratelimit-reset` / `resets=` seconds in Zendesk's headers describe.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

ACCOUNT_LIMIT_BODY = "Number of allowed API requests per minute exceeded"
# What the headers report when no limit is emulated. Zendesk sends them on every answer, so the
# sandbox does too; but they must not claim a limit that is not enforced (a client that paces
# itself by them, as zdops does, would then measure a limit that is not there), so they report
# one far above what the sandbox can serve. `--rate-limit` reports and enforces a real one.
DEFAULT_PLAN_LIMIT = 1_000_000
TICKET_UPDATE_LIMIT_BODY = (
    "You have made too many updates to this ticket in a short period of time. "
    "Please try again later."
)
TICKET_UPDATE_HEADER = "zendesk-ratelimit-per-ticket-updates"


@dataclass(frozen=True)
class Verdict:
    """The outcome of counting one request against a limit."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # whole seconds until the window ends

    def account_headers(self) -> list[tuple[str, str]]:
        return [
            ("X-Rate-Limit", str(self.limit)),
            ("X-Rate-Limit-Remaining", str(self.remaining)),
            ("ratelimit-limit", str(self.limit)),
            ("ratelimit-remaining", str(self.remaining)),
            ("ratelimit-reset", str(self.reset_s)),
        ]

    def endpoint_header(self, name: str) -> tuple[str, str]:
        return (name, f"total={self.limit}; remaining={self.remaining}; resets={self.reset_s}")

    def retry_after(self) -> tuple[str, str]:
        return ("Retry-After", str(max(self.reset_s, 1)))


class Window:
    """A fixed window of `limit` events per `period_s` seconds for each key."""

    def __init__(self, limit: int, period_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.period_s = period_s
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[object, tuple[float, int]] = {}

    def hit(self, key: object = None, *, enforce: bool = True) -> Verdict:
        """Count one event for `key` unless the window is full; a refused event is not counted.

        With `enforce` false nothing is refused: the window only counts, for the headers.
        """
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self.period_s:
                start, count = now, 0
            allowed = count < self.limit or not enforce
            if allowed:
                count += 1
            self._windows[key] = (start, count)
        reset = max(math.ceil(start + self.period_s - now), 0)
        return Verdict(allowed, self.limit, max(self.limit - count, 0), reset)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
