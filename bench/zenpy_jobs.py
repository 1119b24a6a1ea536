"""The job of bench/vs_zenpy.py as a zenpy user would write it, in two styles.

These are benchmark inputs, not product code: what a competent Zendesk admin writes instead of
zdops, to set priority high and add the tag `bench-done` on every ticket tagged `bench-due`.

- plain: search, then update each ticket (one PUT per ticket). Zendesk's search answers at most
  1,000 results, so past that the script does what its author does after the first error:
  switches to the search export.
- careful: the search export at 1,000 per page, then `update_many` in chunks of 100 (the batch
  form zenpy sends for a list of tickets), polling each job until it is done.

Run by vs_zenpy.py in a child process: `python bench/zenpy_jobs.py plain|careful URL EMAIL`,
with the OAuth token in $ZENPY_BENCH_TOKEN (never on the command line). zenpy reaches the
sandbox through its own ZENPY_FORCE_NETLOC / ZENPY_FORCE_SCHEME switches.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

DUE, DONE = "bench-due", "bench-done"
CHUNK = 100  # tickets per update_many, Zendesk's maximum
POLL_S = 0.5


def client(url: str, email: str) -> Any:
    os.environ["ZENPY_FORCE_NETLOC"] = url.removeprefix("http://")
    os.environ["ZENPY_FORCE_SCHEME"] = "http"
    from zenpy import Zenpy  # type: ignore[import-untyped]

    return Zenpy(subdomain="sandbox", email=email, oauth_token=os.environ["ZENPY_BENCH_TOKEN"])


def plain(zenpy: Any) -> int:
    from zenpy.lib.exception import APIException  # type: ignore[import-untyped]

    try:
        tickets = list(zenpy.search(type="ticket", tags=DUE))
    except APIException:
        # "Search results are limited to 1000": the export has no such cap
        tickets = list(zenpy.search_export(type="ticket", tags=DUE))
    done = 0
    for ticket in tickets:
        if DONE in ticket.tags:
            continue
        ticket.priority = "high"
        ticket.tags.append(DONE)
        zenpy.tickets.update(ticket)
        done += 1
    return done


def careful(zenpy: Any) -> int:
    due = [t for t in zenpy.search_export(type="ticket", tags=DUE, cursor_pagination=1000)
           if DONE not in t.tags]
    jobs = []
    for start in range(0, len(due), CHUNK):
        chunk = due[start:start + CHUNK]
        for ticket in chunk:
            ticket.priority = "high"
            ticket.tags.append(DONE)
        jobs.append(zenpy.tickets.update(chunk))
    failed = 0
    for job in jobs:
        status = job
        while status.status not in ("completed", "failed", "killed"):
            time.sleep(POLL_S)
            status = zenpy.job_status(id=job.id)
        failed += sum(1 for r in (status.results or []) if getattr(r, "error", None))
        if status.status != "completed":
            failed += 1
    if failed:
        raise SystemExit(f"careful: {failed} job items failed")
    return len(due)


def main(argv: list[str]) -> int:
    style, url, email = argv
    zenpy = client(url, email)
    done = {"plain": plain, "careful": careful}[style](zenpy)
    print(f"{style}: updated {done} tickets", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
