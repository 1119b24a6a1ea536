"""The theoretical minimum of API calls for a reconcile, shared by every benchmark that cites it.

A client that knows exactly which tickets to read and change still needs:

- one search-export page per 1,000 tickets read (per search: an empty search is one page);
- one update_many per 100 changed tickets;
- one job_statuses/show_many per wave of jobs: Zendesk runs at most 30 jobs per account at once,
  so a perfect client submits 30, asks once when all are done, and submits the next 30;
- the look-ups the run needs (users/me, groups, ticket_fields), once each.

Counting one poll per job instead would let a client that polls in batches beat the "minimum",
which is how this module came to exist.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

EXPORT_PAGE = 1000
UPDATE_BATCH = 100
JOBS_PER_WAVE = 30  # Zendesk's limit of background jobs queued or running per account


def export_pages(reads_per_search: Iterable[int]) -> int:
    return sum(max(1, math.ceil(n / EXPORT_PAGE)) for n in reads_per_search)


def update_jobs(changed: int) -> int:
    return math.ceil(changed / UPDATE_BATCH)


def job_polls(jobs: int) -> int:
    return math.ceil(jobs / JOBS_PER_WAVE)


def minimum_calls(reads_per_search: Iterable[int], changed: int, lookups: int = 0) -> int:
    jobs = update_jobs(changed)
    return export_pages(reads_per_search) + jobs + job_polls(jobs) + lookups


class BelowMinimum(Exception):
    """A measured run made fewer calls than the minimum: the minimum is wrong, not the run."""


def check_not_below(label: str, calls: int, minimum: int) -> None:
    if calls < minimum:
        raise BelowMinimum(
            f"{label}: {calls} calls measured, below the computed minimum of {minimum}; "
            "the minimum's formula (bench/minimum.py) no longer describes the API"
        )
