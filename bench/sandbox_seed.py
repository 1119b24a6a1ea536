"""Sandbox seeding time and memory.

    python bench/sandbox_seed.py                 # 100,000 and 1,000,000 tickets
    python bench/sandbox_seed.py --quick         # 100,000 only

Reports wall time to seed, the bytes held by the ticket columns, how much the process's RSS
grew while seeding, its peak RSS, and the time to build one ticket's JSON from the columns.
Each size is measured in a fresh subprocess so one size's memory does not hide in another's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def measure(tickets: int) -> dict[str, float]:
    from runner.sandbox import Sandbox

    baseline = current_rss_mb()
    started = time.perf_counter()
    sandbox = Sandbox(tickets=tickets, seed=1, now=1_767_225_600.0)
    seconds = time.perf_counter() - started
    held = current_rss_mb() - baseline
    read_started = time.perf_counter()
    for ticket_id in range(1, tickets + 1, max(tickets // 1000, 1)):
        sandbox.ticket(ticket_id)
    per_read_us = (time.perf_counter() - read_started) / 1000 * 1e6
    return {
        "tickets": tickets,
        "seed_seconds": round(seconds, 2),
        "column_mb": round(sandbox.store.columns.nbytes() / 2**20, 1),
        "rss_growth_mb": round(held, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ticket_read_us": round(per_read_us, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    print(
        f"{'tickets':>10} {'seed s':>7} {'columns MB':>11} {'RSS growth MB':>14} "
        f"{'max RSS MB':>11} {'read us':>8}"
    )
    for size in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        row = json.loads(out)
        print(
            f"{row['tickets']:>10} {row['seed_seconds']:>7} {row['column_mb']:>11} "
            f"{row['rss_growth_mb']:>14} {row['max_rss_mb']:>11} {row['ticket_read_us']:>8}"
        )


if __name__ == "__main__":
    main()
