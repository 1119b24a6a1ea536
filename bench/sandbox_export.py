"""Sandbox CPU per search export page, at the start, middle and end of a large account's walk.

    python bench/sandbox_export.py                        # 100,000 and 1,290,000 tickets
    python bench/sandbox_export.py --tickets 200000 --pages 5

A page should cost what it reads (page[size] matches and the tickets between them), not the
size of the account: the ms/page columns should not grow with the ticket count. The query is
what zdops sends for a rule with no query (`-status:closed`, ~78% of seeded tickets). The
WSGI app is called in this process (no sockets), so the figures are the sandbox's own CPU:
the query test, building ticket dicts from the columns, and json.dumps of the page.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any
from urllib.parse import urlencode

from runner.sandbox import Sandbox, export

QUERY = "-status:closed"
NOW = 1_767_225_600.0


def call(sandbox: Sandbox, auth: str, query: dict[str, str]) -> tuple[dict[str, Any], int]:
    """One export page through the WSGI app: its JSON and the body's size in bytes."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v2/search/export.json",
        "QUERY_STRING": urlencode(query),
        "HTTP_AUTHORIZATION": auth,
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
    }
    status: list[str] = []
    body = b"".join(sandbox.app(environ, lambda s, h: status.append(s)))
    if not status[0].startswith("200"):
        raise SystemExit(f"export page failed: {status[0]} {body[:300]!r}")
    return json.loads(body), len(body)


def measure(tickets: int, pages: int, size: int) -> list[str]:
    sandbox = Sandbox(tickets=tickets, seed=1, now=NOW)
    auth = sandbox.auth_header(sandbox.bot["email"])
    base = {"query": QUERY, "filter[type]": "ticket", "page[size]": str(size)}
    started = time.process_time()
    call(sandbox, auth, base)
    first_s = time.process_time() - started  # includes sorting the export order, once
    order = sandbox.store.export_order()
    row = [f"{tickets:,}", str(size), f"{first_s * 1000:.0f}"]
    body_bytes = 0
    # a cursor is a place in the walk, so the middle and the end are reached without serving
    # every page before them
    for fraction in (0.0, 0.5, 0.99):
        ticket_id = order[int((len(order) - 1) * fraction)]
        cursor: str | None = export.encode(
            (sandbox.store.created_ts(ticket_id), ticket_id), sandbox.clock()
        )
        spent: list[float] = []
        while cursor and len(spent) < pages:
            started = time.process_time()
            page, body_bytes = call(sandbox, auth, {**base, "page[after]": cursor})
            spent.append(time.process_time() - started)
            cursor = page["meta"]["after_cursor"] if page["meta"]["has_more"] else None
        row.append(f"{sum(spent) / len(spent) * 1000:.0f}")
    row.append(f"{body_bytes / 1024:.0f}")  # the last page timed
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", default="100000,1290000", help="comma-separated sizes")
    parser.add_argument("--pages", type=int, default=5, help="pages timed at each place")
    parser.add_argument("--size", type=int, default=1000, help="page[size]")
    args = parser.parse_args()
    header = [
        "tickets",
        "size",
        "first page ms",
        "start ms/page",
        "middle ms/page",
        "end ms/page",
        "last body KB",
    ]
    print("  ".join(header))
    for tickets in (int(t) for t in args.tickets.split(",")):
        row = measure(tickets, args.pages, args.size)
        print("  ".join(v.rjust(len(h)) for v, h in zip(row, header, strict=True)), flush=True)


if __name__ == "__main__":
    main()
