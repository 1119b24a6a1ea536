"""The apply report as data: what happened to every planned ticket, and the JSON it is saved as.

Every ticket of the plan gets exactly one outcome:

    applied        the change is on the ticket (as planned, or re-checked after someone else's edit)
    unchanged      someone else already made the change: nothing was sent
    skipped-stale  the ticket changed since the plan and the same rules now want something else
                   (or nothing): not overwritten
    collision      re-checked and re-sent, and edited by someone else again: left alone
    failed         Zendesk refused the change (its code and message are kept)
    unknown        sent, but its answer was lost and re-reading could not confirm it (it is
                   never resent), or none came before the run stopped: `zdops plan` shows
                   the truth
    not-attempted  never sent (the run was interrupted or stopped on an error first)

Envelope (versioned like the plan's; documented in the README):

    {"format": "zdops-apply-report", "version": 1, "started_at": ..., "finished_at": ...,
     "zendesk_url": ..., "plan_checksum": ..., "config_digest": ..., "interrupted": false,
     "error": null, "counts": {"applied": 3, ...}, "tickets": [{"ticket_id": ..., ...}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runner.files import write_atomic

FORMAT = "zdops-apply-report"
VERSION = 1

Outcome = Literal[
    "applied", "unchanged", "skipped-stale", "collision", "failed", "unknown", "not-attempted"
]
OUTCOMES: tuple[Outcome, ...] = (
    "applied",
    "unchanged",
    "skipped-stale",
    "collision",
    "failed",
    "unknown",
    "not-attempted",
)
# Outcomes that make apply exit 1: a change that may be missing or half-made. Stale and
# collided tickets are left alone on purpose; the next run re-plans them.
FAILING: frozenset[Outcome] = frozenset({"failed", "unknown"})


@dataclass(frozen=True)
class TicketOutcome:
    ticket_id: int
    outcome: Outcome
    token: str  # the token the update was (or would have been) made with
    rules: tuple[str, ...]
    error: str | None = None  # Zendesk's error code (UpdateConflict, RecordInvalid, ...) or ours
    message: str | None = None  # Zendesk's message, or why the ticket was skipped
    job_id: str | None = None  # the update_many job that carried it, when there was one

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "outcome": self.outcome,
            "token": self.token,
            "rules": list(self.rules),
            "error": self.error,
            "message": self.message,
            "job_id": self.job_id,
        }


@dataclass(frozen=True)
class ApplyReport:
    started_at: str
    finished_at: str
    zendesk_url: str
    plan_checksum: str
    config_digest: str
    tickets: tuple[TicketOutcome, ...]  # in plan order
    interrupted: bool = False
    error: str | None = None  # what stopped the run early, if anything did
    version: int = VERSION

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        for ticket in self.tickets:
            counts[ticket.outcome] += 1
        return counts

    @property
    def failed(self) -> bool:
        return any(t.outcome in FAILING for t in self.tickets)

    def of(self, outcome: Outcome) -> list[TicketOutcome]:
        return [t for t in self.tickets if t.outcome == outcome]

    def summary(self) -> str:
        """`Applied: N tickets changed, M failed, K skipped (stale)` and any other outcome seen."""
        c = self.counts()
        failed = c["failed"] + c["unknown"]
        line = (
            f"Applied: {c['applied']} {_tickets(c['applied'])} changed, {failed} failed, "
            f"{c['skipped-stale']} skipped (stale)"
        )
        extra = []
        if c["unchanged"]:
            extra.append(f"{c['unchanged']} already changed by someone else")
        if c["collision"]:
            extra.append(f"{c['collision']} left alone after repeated collisions")
        if c["unknown"]:
            extra.append(f"{c['unknown']} with no answer (run `zdops plan` to check them)")
        if c["not-attempted"]:
            extra.append(f"{c['not-attempted']} not attempted")
        if extra:
            line += "; " + ", ".join(extra)
        if self.interrupted:
            line += " (interrupted)"
        return line + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "zendesk_url": self.zendesk_url,
            "plan_checksum": self.plan_checksum,
            "config_digest": self.config_digest,
            "interrupted": self.interrupted,
            "error": self.error,
            "counts": self.counts(),
            "tickets": [t.to_dict() for t in self.tickets],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"


def _tickets(count: int) -> str:
    return "ticket" if count == 1 else "tickets"


def write_report(report: ApplyReport, path: Path) -> None:
    """Write the report so that `path` holds either the old file or the whole new one."""
    write_atomic(
        path,
        report.to_json(),
        what="the apply report",
        hint="Pass --report with a path in a writable directory.",
    )
