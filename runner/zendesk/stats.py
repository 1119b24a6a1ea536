"""Counters a client keeps about its own traffic (for plan statistics and benchmarks)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ClientStats:
    """`calls` counts every HTTP request sent, keyed like `GET /api/v2/tickets/{id}`.

    `retries` counts requests sent again after a failure or a 429; `rate_limited` counts 429
    (and 503 with Retry-After) answers; `slept` is every second spent waiting, of which
    `paced` was spent proactively to stay under the limit.
    """

    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    slept: float = 0.0
    paced: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.calls.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "calls": dict(sorted(self.calls.items())),
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "slept_seconds": round(self.slept, 3),
            "paced_seconds": round(self.paced, 3),
        }
