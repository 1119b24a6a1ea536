"""Injected faults: the spec string, and the seeded dice that decide each request's fate.

A spec is a comma-separated list of `name:value` items, e.g.
`500:0.05,502:0.01,503:0.01,drop:0.02,lost:0.01,latency:50+-20,slowjobs:2.0,jobfail:0.1,agent:0.5`:

- `500`/`502`/`503`: share of API requests answered with that status instead of being handled;
- `drop`: share of requests whose connection is closed with no answer, before anything is done;
- `lost`: share of *writes* that are applied, after which the connection is closed with no answer
  (the case that makes a naive retrying client post a comment twice);
- `latency`: milliseconds added to every request, `MEAN` or `MEAN+-JITTER` (uniform jitter);
- `slowjobs`: seconds added to the run time of every background job;
- `jobfail`: share of background job items that fail;
- `agent`: share of requests before which a simulated human agent edits a ticket that a client
  recently read (bumping its `updated_at`), to provoke safe_update collisions.

All dice come from one `random.Random` seeded by the sandbox seed and drawn in request order, so a
single-threaded client that hits a fault can replay it exactly with the same seed and spec.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, replace

from runner.errors import ZdopsError

_SHARE_NAMES = ("500", "502", "503", "drop", "lost", "jobfail", "agent")


class FaultSpecError(ZdopsError):
    """A --faults spec that cannot be understood (raised to the CLI as a usage error)."""


@dataclass(frozen=True)
class Faults:
    """Fault rates; all zero means a well-behaved Zendesk."""

    error_500: float = 0.0
    error_502: float = 0.0
    error_503: float = 0.0
    drop: float = 0.0
    lost: float = 0.0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    slow_jobs_s: float = 0.0
    job_fail: float = 0.0
    agent: float = 0.0

    @property
    def any_request_fault(self) -> bool:
        return any(
            (
                self.error_500,
                self.error_502,
                self.error_503,
                self.drop,
                self.lost,
                self.latency_ms,
                self.jitter_ms,
                self.agent,
            )
        )

    def spec(self) -> str:
        """The spec string that parses back to these faults (for printing and replaying)."""
        items = []
        for name, attr in (
            ("500", "error_500"),
            ("502", "error_502"),
            ("503", "error_503"),
            ("drop", "drop"),
            ("lost", "lost"),
        ):
            if getattr(self, attr):
                items.append(f"{name}:{getattr(self, attr):g}")
        if self.latency_ms or self.jitter_ms:
            jitter = f"+-{self.jitter_ms:g}" if self.jitter_ms else ""
            items.append(f"latency:{self.latency_ms:g}{jitter}")
        if self.slow_jobs_s:
            items.append(f"slowjobs:{self.slow_jobs_s:g}")
        if self.job_fail:
            items.append(f"jobfail:{self.job_fail:g}")
        if self.agent:
            items.append(f"agent:{self.agent:g}")
        return ",".join(items)


_ATTR = {
    "500": "error_500",
    "502": "error_502",
    "503": "error_503",
    "drop": "drop",
    "lost": "lost",
    "jobfail": "job_fail",
    "agent": "agent",
}


def parse_faults(spec: str | Faults | None) -> Faults:
    """Parse a fault spec; raise FaultSpecError naming the bad item and the accepted forms."""
    if spec is None:
        return Faults()
    if isinstance(spec, Faults):
        return spec
    faults = Faults()
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition(":")
        name = name.strip().lower()
        if not sep or not value.strip():
            raise FaultSpecError(
                f"fault {item!r} has no value.",
                hint="Write NAME:VALUE, e.g. '500:0.05' or 'latency:50+-20'.",
            )
        value = value.strip()
        if name == "latency":
            mean_text, plus_minus, jitter_text = value.partition("+-")
            mean = _number(item, mean_text)
            jitter = _number(item, jitter_text) if plus_minus else 0.0
            if jitter > mean:
                raise FaultSpecError(
                    f"fault {item!r}: jitter {jitter:g} ms is larger than the mean {mean:g} ms.",
                    hint="Latency cannot be negative; use a jitter no larger than the mean.",
                )
            faults = replace(faults, latency_ms=mean, jitter_ms=jitter)
        elif name == "slowjobs":
            faults = replace(faults, slow_jobs_s=_number(item, value))
        elif name in _SHARE_NAMES:
            share = _number(item, value)
            if share > 1:
                raise FaultSpecError(
                    f"fault {item!r}: a share must be between 0 and 1, got {share:g}.",
                    hint="For example '500:0.05' answers 5% of requests with 500.",
                )
            faults = replace(faults, **{_ATTR[name]: share})
        else:
            known = ", ".join([*_SHARE_NAMES, "latency", "slowjobs"])
            raise FaultSpecError(f"unknown fault {name!r} in {spec!r}.", hint=f"Known: {known}.")
    return faults


def _number(item: str, text: str) -> float:
    example = "For example '500:0.05', 'latency:50+-20' or 'slowjobs:2'."
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"fault {item!r}: {text!r} is not a number.", hint=example) from None
    # inf would sleep forever (or overflow time.sleep in the job worker), nan compares false
    if not math.isfinite(value) or value < 0:
        raise FaultSpecError(
            f"fault {item!r}: {text!r} must be a finite number, 0 or more.", hint=example
        )
    return value


@dataclass(frozen=True)
class Fate:
    """What happens to one request, decided before it is handled."""

    delay_s: float = 0.0
    status: int | None = None  # answer with this 5xx instead of handling
    drop: bool = False  # close the connection with no answer, do nothing
    lose: bool = False  # handle it (if it is a write), then close with no answer
    agent_edit: bool = False  # a human agent edits a recently read ticket first


NO_FATE = Fate()


class Dice:
    """Seeded, thread-safe fault decisions, drawn in request order."""

    def __init__(self, seed: int, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(f"faults:{seed}")
        self.faults = faults

    def set(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults

    def fate(self, is_write: bool) -> Fate:
        faults = self.faults
        if not faults.any_request_fault:
            return NO_FATE
        with self._lock:
            draw = self._random.random
            # Always draw the same number of values so one decision never shifts the others.
            jitter, agent, drop, error, lose = draw(), draw(), draw(), draw(), draw()
        delay = faults.latency_ms + (2 * jitter - 1) * faults.jitter_ms
        status = None
        if error < faults.error_500:
            status = 500
        elif error < faults.error_500 + faults.error_502:
            status = 502
        elif error < faults.error_500 + faults.error_502 + faults.error_503:
            status = 503
        return Fate(
            delay_s=max(delay, 0.0) / 1000.0,
            status=status,
            drop=drop < faults.drop,
            lose=is_write and lose < faults.lost,
            agent_edit=agent < faults.agent,
        )

    def job_item_fails(self) -> bool:
        if not self.faults.job_fail:
            return False
        with self._lock:
            return self._random.random() < self.faults.job_fail

    def choice_index(self, size: int) -> int:
        with self._lock:
            return self._random.randrange(size)
