"""When a failed request may be sent again, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

# The request never left this machine: sending it again cannot apply anything twice.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Worth another try after a pause (for reads, and for writes only via their own checks).
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Budgets and backoff for one request.

    `retries` bounds the attempts after a 5xx or a transport error; `max_wait` bounds the total
    seconds one request may spend waiting on rate limits and retries before it gives up with a
    clear error instead of hanging. `default_retry_after` is used for a 429 without
    `Retry-After` (Zendesk's own Ruby client uses 10 s).
    """

    retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_wait: float = 300.0
    default_retry_after: float = 10.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with equal jitter: never zero, never in lockstep with others."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return float(ceiling / 2 + rng.uniform(0, ceiling / 2))

    def rate_limited_wait(self, retry_after: float | None, attempt: int,
                          rng: random.Random) -> float:
        """How long to wait after the `attempt`-th 429/503 in a row (0-based).

        Zendesk's Retry-After is honoured as a floor. Repeated limits mean other clients share
        the account, so the wait grows with the attempt, and jitter keeps clients that were
        limited together from coming back together.
        """
        wait = retry_after if retry_after is not None else self.default_retry_after
        if attempt:
            wait = max(wait, min(self.backoff_cap, self.backoff_base * (2**attempt)))
        return wait + rng.uniform(0, min(5.0, 0.1 * wait + 0.5))
