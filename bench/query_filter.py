"""Compiled selection over 100,000 tickets: the search query, then the client-side conditions.

    python bench/query_filter.py                 # 100,000 seeded sandbox tickets
    python bench/query_filter.py --tickets 20000 # a smaller run

A plan evaluates every selected ticket against its rule's `when` once per run, and the sandbox
evaluates every query over its whole store on each search, so both must stay far cheaper than
the API calls around them. Tickets are the sandbox's seeded Zendesk-shaped dicts (read once,
before timing). Each row times compile + one pass over all tickets, best of --repeat runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runner.config.models import When
from runner.engine.conditions import compile_when
from runner.engine.resolve import InMemoryNames, Resolver
from runner.query import StaticDirectory, compile, parse
from runner.sandbox import Sandbox

NOW = datetime(2026, 1, 1, tzinfo=UTC)

QUERIES = {
    "status<solved": "status<solved",
    "tags + negation": "status<solved tags:vip -tags:billing-routed",
    "free words": "refund order",
    "group + priority": "group:Support priority>normal",
    "dates": "created>2025-06-01 updated<30days",
}
CONDITIONS: dict[str, dict[str, Any]] = {
    "matches (?i)refund": {
        "all": [{"field": "subject", "operator": "matches", "value": r"(?i)\brefunds?\b"}]
    },
    "tags + priority": {
        "all": [
            {"field": "tags", "operator": "not_includes", "value": "billing-routed"},
            {"field": "priority", "operator": "less_than", "value": "high"},
        ]
    },
    "older_than + any": {
        "all": [{"field": "updated_at", "operator": "older_than", "value": "4h"}],
        "any": [
            {"field": "status", "operator": "is", "value": "open"},
            {"field": "description", "operator": "contains", "value": "urgent"},
        ],
    },
}


@dataclass
class Row:
    name: str
    kind: str
    selected: int
    seconds: float
    tickets: int

    @property
    def per_second(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0


def best_of(repeat: int, run: Callable[[], int]) -> tuple[int, float]:
    best = float("inf")
    selected = 0
    for _ in range(repeat):
        started = time.perf_counter()
        selected = run()
        best = min(best, time.perf_counter() - started)
    return selected, best


def measure(tickets: int, repeat: int) -> list[Row]:
    sandbox = Sandbox(tickets=tickets, seed=1, now=NOW.timestamp())
    data = [sandbox.ticket(i) for i in range(1, tickets + 1)]
    users = {u["id"]: (u["name"], u.get("email")) for u in sandbox.users}
    groups = {g["id"]: g["name"] for g in sandbox.groups}
    directory = StaticDirectory(users=users, groups=groups)
    resolver = Resolver(
        InMemoryNames(
            groups=sandbox.groups, users=sandbox.users, ticket_fields=sandbox.ticket_fields
        )
    )
    rows = []
    for name, text in QUERIES.items():

        def run_query(text: str = text) -> int:
            predicate = compile(parse(text), directory, now=NOW)
            return sum(1 for t in data if predicate(t))

        selected, seconds = best_of(repeat, run_query)
        rows.append(Row(name, "query", selected, seconds, tickets))
    for name, raw in CONDITIONS.items():
        when = When.model_validate(raw)

        def run_when(when: When = when) -> int:
            predicate = compile_when("bench", when, resolver, NOW)
            return sum(1 for t in data if predicate(t))

        selected, seconds = best_of(repeat, run_when)
        rows.append(Row(name, "conditions", selected, seconds, tickets))
    return rows


def print_rows(rows: list[Row]) -> None:
    print(f"{'selection':<22}{'kind':<12}{'tickets':>9}{'selected':>10}{'ms':>9}{'tickets/s':>12}")
    for row in rows:
        print(
            f"{row.name:<22}{row.kind:<12}{row.tickets:>9}{row.selected:>10}"
            f"{row.seconds * 1000:>9.1f}{row.per_second:>12,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets, one pass")
    args = parser.parse_args()
    tickets, repeat = (20_000, 1) if args.quick else (args.tickets, args.repeat)
    print_rows(measure(tickets, repeat))


if __name__ == "__main__":
    main()
