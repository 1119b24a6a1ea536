"""Zendesk's rate-limit headers, and pacing that keeps the client under them.

Zendesk reports the account limit as `ratelimit-limit/-remaining/-reset` (and the older
`x-rate-limit`, `x-rate-limit-remaining`, `rate-limit-*`), and endpoint limits as
`zendesk-ratelimit-<name>: total=N; remaining=N; resets=S` (also spelled
`zendesk-rate-limit-<name>`). httpx headers are case-insensitive already; names are lowercased
here so that both spellings of one bucket land on the same key.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

ACCOUNT = "account"
# Zendesk's limits are per minute; when a header gives no reset, assume the whole window.
DEFAULT_WINDOW = 60.0

_ENDPOINT_PREFIXES = ("zendesk-ratelimit-", "zendesk-rate-limit-")
_PAIR = re.compile(r"\s*([a-z_]+)\s*=\s*([0-9.]+)\s*")


@dataclass(frozen=True)
class Bucket:
    """One limit as a response reported it; `resets` is seconds from that response."""

    name: str
    total: int | None
    remaining: int | None
    resets: float | None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _endpoint_bucket(name: str, value: str) -> Bucket | None:
    fields: dict[str, str] = {}
    for part in value.lower().split(";"):
        match = _PAIR.fullmatch(part)
        if match:
            fields[match.group(1)] = match.group(2)
    if not fields:
        return None
    return Bucket(name, _int(fields.get("total")), _int(fields.get("remaining")),
                  _float(fields.get("resets")))


def parse_rate_limits(headers: Mapping[str, str]) -> dict[str, Bucket]:
    """Every limit the headers report, keyed by bucket name (`"account"` for the account's)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    buckets: dict[str, Bucket] = {}
    total = _int(lowered.get("ratelimit-limit") or lowered.get("x-rate-limit")
                 or lowered.get("rate-limit"))
    remaining = _int(lowered.get("ratelimit-remaining") or lowered.get("x-rate-limit-remaining")
                     or lowered.get("rate-limit-remaining"))
    resets = _float(lowered.get("ratelimit-reset") or lowered.get("rate-limit-reset"))
    if total is not None or remaining is not None:
        buckets[ACCOUNT] = Bucket(ACCOUNT, total, remaining, resets)
    for key, value in lowered.items():
        for prefix in _ENDPOINT_PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                bucket = _endpoint_bucket(key[len(prefix):], value)
                if bucket is not None:
                    buckets[bucket.name] = bucket
    return buckets


def parse_retry_after(headers: Mapping[str, str], now_epoch: float) -> float | None:
    """Seconds to wait from `Retry-After`: a number of seconds or an HTTP date."""
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _float(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_epoch)


@dataclass
class _Observed:
    bucket: Bucket
    reset_at: float


class Pacer:
    """Spreads requests so that a bucket's remaining calls last until it resets.

    While a bucket has plenty left the client runs at full speed. Once fewer than
    `spread_below` of its total remain, each request waits the time left in the window divided
    by the calls left, so the account reaches its limit at the end of the window instead of
    hitting it early and collecting 429s. `reserve` calls are kept back for other clients of
    the same account (and for the job polls of our own bulk updates).

    Endpoint buckets pace only the endpoints that reported them. Per-ticket and in-flight-job
    buckets are not rates of this client's next request, so they do not pace.
    """

    def __init__(self, *, spread_below: float = 0.2, reserve_fraction: float = 0.02) -> None:
        self.spread_below = spread_below
        self.reserve_fraction = reserve_fraction
        self._buckets: dict[str, _Observed] = {}
        self._reporters: dict[str, set[str]] = {}

    def observe(self, endpoint: str, headers: Mapping[str, str], now: float) -> None:
        for name, bucket in parse_rate_limits(headers).items():
            if "per-ticket" in name or "inflight" in name:
                continue
            reset_at = now + (bucket.resets if bucket.resets is not None else DEFAULT_WINDOW)
            self._buckets[name] = _Observed(bucket, reset_at)
            if name != ACCOUNT:
                self._reporters.setdefault(name, set()).add(endpoint)

    def bucket(self, name: str) -> Bucket | None:
        observed = self._buckets.get(name)
        return observed.bucket if observed else None

    def delay(self, endpoint: str, now: float) -> float:
        """Seconds to wait before the next request to `endpoint`."""
        wait = 0.0
        for name, observed in self._buckets.items():
            if name != ACCOUNT and endpoint not in self._reporters.get(name, ()):
                continue
            wait = max(wait, self._bucket_delay(observed, now))
        return wait

    def _bucket_delay(self, observed: _Observed, now: float) -> float:
        bucket = observed.bucket
        left = observed.reset_at - now
        if left <= 0 or bucket.remaining is None:
            return 0.0
        total = bucket.total or 0
        reserve = max(1, math.ceil(total * self.reserve_fraction)) if total else 1
        if bucket.remaining <= reserve:
            return left
        if total and bucket.remaining >= total * self.spread_below:
            return 0.0
        return left / (bucket.remaining - reserve + 1)
