"""Applying a plan: every planned change sent once, safely, and each ticket's outcome recorded.

How (design.md "Semantics", issue 5):

- Every update is a safe update stamped with the `updated_at` the plan read, so Zendesk refuses
  (409) to change a ticket someone edited since. Such a ticket is re-read and re-evaluated with
  the same rules: if they still want exactly the same update it is sent again, stamped with the
  fresh `updated_at`; if they want nothing it is `unchanged` (someone else did it) or
  `skipped-stale` (no longer selected); if they want something else it is `skipped-stale`. A
  ticket that collides again is left alone (`collision`): an agent is working on it right now.
- Changes that fit one update go through `ZendeskClient.update_many`: identical changes in the
  bulk form where that costs no extra job, the rest in the batch form, one job per 100 tickets.
  Tags travel as `additional_tags`/`remove_tags` in the bulk form, where Zendesk documents
  them, and as the whole list in the batch form, where it does not; the stamp keeps the whole
  list from clobbering a tag added meanwhile.
- A change that needs two updates (a public reply and an internal note) is applied one update
  at a time; the second is stamped with the `updated_at` the first returned.
- Nothing is resent blindly: lost answers are the client's to resolve (it re-reads before any
  resend), and a 409 resend carries a new stamp, which Zendesk cannot apply twice.
- Stopping: when `stop` is set (Ctrl-C, SIGTERM) no new submission starts; the jobs already
  submitted are still polled until the caller gives up on them by raising KeyboardInterrupt.
  Tickets sent without an answer are `unknown`, the rest `not-attempted`.

Submissions are cut into waves of at most `client.max_jobs` jobs, so that stopping between waves
leaves nothing queued inside the client that the caller cannot see.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from runner.engine.plan import Plan, TicketChange
from runner.engine.planner import PlanContext, build_plan
from runner.engine.progress import Progress, Task
from runner.engine.report import ApplyReport, Outcome, TicketOutcome
from runner.engine.resolve import Resolver
from runner.engine.rules import RuleLike
from runner.errors import (
    ZendeskAuthError,
    ZendeskCollisionError,
    ZendeskError,
    ZendeskForbiddenError,
    ZendeskInvalidError,
    ZendeskNotFoundError,
    ZendeskRateLimitError,
    ZendeskServerError,
)
from runner.zendesk import TicketUpdate, UpdateResult, WriteOutcomeUnknown, ZendeskClient
from runner.zendesk.jobs import plan_batches

Ticket = Mapping[str, Any]

# Zendesk's code for a safe update refused because the ticket changed (409, and in job results).
COLLISION_CODES = frozenset({"UpdateConflict"})
# Our code (runner.zendesk.jobs) for a write whose fate is not known.
UNKNOWN_CODE = "OutcomeUnknown"
UNKNOWN_CODES = frozenset({UNKNOWN_CODE})
# Errors that concern one ticket; anything else (auth, rate limit past the budget, a dead
# network) would fail every following ticket the same way, so it stops the run.
TICKET_ERRORS = (ZendeskInvalidError, ZendeskNotFoundError, ZendeskForbiddenError)
# Errors by which Zendesk refused a single update outright: nothing of it was applied.
REFUSALS = (*TICKET_ERRORS, ZendeskCollisionError, ZendeskRateLimitError, ZendeskAuthError)


@dataclass(frozen=True)
class Verdict:
    """What the same rules would do to a ticket as it is now."""

    change: TicketChange | None  # None: nothing to change
    selected: bool  # whether any of the rules still selects the ticket


class Reevaluate(Protocol):
    def __call__(self, change: TicketChange, ticket: Ticket) -> Verdict: ...


def reevaluator(
    rules: Sequence[RuleLike],
    resolver: Resolver,
    context: PlanContext,
    *,
    query_matches: Callable[[str, Ticket], bool] | None = None,
    source: str = "config",
) -> Reevaluate:
    """Re-run the planner on one fresh ticket with the rules that planned its change.

    `query_matches(query, ticket)` re-checks each rule's search query on the ticket (search is
    not asked again for one ticket); without it only the client-side conditions are re-checked.
    """
    by_name = {rule.name: rule for rule in rules}

    def reevaluate(change: TicketChange, ticket: Ticket) -> Verdict:
        chosen = [by_name[name] for name in change.rules if name in by_name]

        def tickets_for(rule: RuleLike) -> list[Ticket]:
            if query_matches is None or query_matches(rule.when.query or "", ticket):
                return [ticket]
            return []

        # One ticket cannot exceed a limit the plan already respected; the override only keeps
        # a rule's own limit (or the run budget) from blocking the re-check.
        fresh = build_plan(
            chosen,
            tickets_for,
            resolver,
            context,
            limit_override=1,
            query_matches=query_matches,
            source=source,
        )
        selected = any(summary.matched for summary in fresh.rules)
        return Verdict(fresh.changes[0] if fresh.changes else None, selected)

    return reevaluate


class StopFlag:
    """Set from a signal handler; the applier looks at it before every submission."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


def apply_plan(
    plan: Plan,
    clients: Mapping[str, ZendeskClient],
    reevaluate: Reevaluate,
    *,
    stop: StopFlag | None = None,
    progress: Progress | None = None,
) -> ApplyReport:
    """Apply `plan` with the client of each change's token; never raises for a ticket's failure.

    A ZendeskError that would fail every remaining ticket (auth, rate limit past the budget,
    network) ends the run early: it is recorded in `report.error` and the tickets not reached
    are `not-attempted`. KeyboardInterrupt (the caller abandoning the jobs in flight) ends it
    as interrupted. Either way every planned ticket is in the report.
    """
    missing = sorted({c.token for c in plan.changes} - set(clients))
    if missing:
        raise ValueError(f"no client for token(s) {missing}")
    return _Applier(plan, clients, reevaluate, stop or StopFlag(), progress or Progress()).run()


class _Applier:
    def __init__(
        self,
        plan: Plan,
        clients: Mapping[str, ZendeskClient],
        reevaluate: Reevaluate,
        stop: StopFlag,
        progress: Progress,
    ) -> None:
        self.plan = plan
        self.clients = clients
        self.reevaluate = reevaluate
        self.stop = stop
        self.progress = progress
        self.planned = {c.ticket_id: c for c in plan.changes}
        self.outcomes: dict[int, TicketOutcome] = {}
        self.in_flight: set[int] = set()  # sent, answer not yet known
        self.collided: dict[int, str] = {}  # refused as stale, waiting for a re-check
        self.error: str | None = None
        self.interrupted = False
        self.task: Task | None = None

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> ApplyReport:
        started = _now()
        self.task = self.progress.task("applying", len(self.plan.changes))
        try:
            self._send(self.plan.changes, resend=False)
            if self.collided and not self.stop.is_set():
                self._send(self._recheck(), resend=True)
        except KeyboardInterrupt:
            self.interrupted = True
        except ZendeskError as error:
            self.error = str(error)
        finally:
            self.task.finish()
        self.interrupted = self.interrupted or self.stop.is_set()
        return ApplyReport(
            started_at=started,
            finished_at=_now(),
            zendesk_url=self.plan.zendesk_url,
            plan_checksum=self.plan.checksum,
            config_digest=self.plan.config_digest,
            tickets=tuple(self._final(c) for c in self.plan.changes),
            interrupted=self.interrupted,
            error=self.error or (f"interrupted ({self.stop.reason})" if self.stop.reason else None),
        )

    def _final(self, change: TicketChange) -> TicketOutcome:
        ticket_id = change.ticket_id
        if ticket_id in self.outcomes:
            return self.outcomes[ticket_id]
        if ticket_id in self.in_flight:
            return self._outcome(
                change,
                "unknown",
                "NoAnswer",
                "sent (or being sent) to Zendesk when the run stopped, before the answer came; "
                "run `zdops plan` to see whether it landed",
            )
        if ticket_id in self.collided:
            return self._outcome(
                change,
                "collision",
                "UpdateConflict",
                f"{self.collided[ticket_id]}; not re-checked because the run stopped",
            )
        return self._outcome(change, "not-attempted", None, "the run stopped before this ticket")

    def _outcome(
        self,
        change: TicketChange,
        outcome: Outcome,
        error: str | None,
        message: str | None,
        job_id: str | None = None,
    ) -> TicketOutcome:
        return TicketOutcome(
            change.ticket_id, outcome, change.token, change.rules, error, message, job_id
        )

    def _record(self, outcome: TicketOutcome) -> None:
        self.outcomes[outcome.ticket_id] = outcome
        self.in_flight.discard(outcome.ticket_id)
        self.collided.pop(outcome.ticket_id, None)
        if self.task is not None:
            self.task.advance()

    # -- sending -------------------------------------------------------------------------------

    def _send(self, changes: Iterable[TicketChange], *, resend: bool) -> None:
        single: dict[str, list[TicketChange]] = {}
        double: list[TicketChange] = []
        for change in changes:
            if len(change.update_bodies(safe=False)) == 1:
                single.setdefault(change.token, []).append(change)
            else:
                double.append(change)
        for token, group in single.items():
            client = self.clients[token]
            for wave in _waves(group, client.max_jobs):
                if self.stop.is_set():
                    return
                self._send_wave(client, wave, {c.ticket_id: c for c in group}, resend)
        for change in double:
            if self.stop.is_set():
                return
            self._send_serial(change, resend)

    def _send_wave(
        self,
        client: ZendeskClient,
        wave: list[TicketUpdate],
        changes: Mapping[int, TicketChange],
        resend: bool,
    ) -> None:
        run = client.update_many(wave)
        self.in_flight.update(u.ticket_id for u in wave)
        try:
            for result in run:
                self._result(changes[result.ticket_id], result, resend)
        except BaseException:
            # A batch that never went out was not sent: not-attempted, not unknown.
            self.in_flight.difference_update(run.unsent_ids())
            raise

    def _result(self, change: TicketChange, result: UpdateResult, resend: bool) -> None:
        if result.success:
            self._record(self._outcome(change, "applied", None, _applied_note(resend),
                                       result.job_id))
        elif result.error in COLLISION_CODES:
            self._collision(change, result.details or "the ticket changed since it was read",
                            resend, result.job_id)
        elif result.error in UNKNOWN_CODES:
            self._record(self._outcome(change, "unknown", result.error, result.details,
                                       result.job_id))
        else:
            self._record(self._outcome(change, "failed", result.error, result.details,
                                       result.job_id))

    def _collision(self, change: TicketChange, message: str, resend: bool,
                   job_id: str | None = None) -> None:
        if resend:
            self._record(self._outcome(
                change, "collision", "UpdateConflict",
                f"edited by someone else again while being re-applied ({message}); left alone, "
                "the next run will look at it again", job_id))
            return
        self.in_flight.discard(change.ticket_id)
        self.collided[change.ticket_id] = message

    def _send_serial(self, change: TicketChange, resend: bool) -> None:
        """Two updates: the first stamped as planned, the second as the first left the ticket."""
        client = self.clients[change.token]
        first, *rest = change.update_bodies(safe=False)
        self.in_flight.add(change.ticket_id)
        try:
            ticket = client.update_ticket(change.ticket_id, first, updated_stamp=change.updated_at)
        except ZendeskCollisionError as error:
            self._collision(change, error.message, resend)
            return
        except ZendeskError as error:
            self._serial_failure(change, error, partial=False)
            return
        for body in rest:
            try:
                ticket = client.update_ticket(
                    change.ticket_id, body, updated_stamp=_text(ticket.get("updated_at"))
                )
            except ZendeskError as error:
                self._serial_failure(change, error, partial=True)
                return
        self._record(self._outcome(change, "applied", None, _applied_note(resend)))

    def _serial_failure(self, change: TicketChange, error: ZendeskError, *,
                        partial: bool) -> None:
        """Record the ticket whose single update raised `error`; re-raise what ends the run.

        As in update_many's results: a refusal is `failed`; a write whose answer was lost and
        not confirmed by re-reading (the client never resends a comment it cannot rule out) is
        `unknown`, and never sent again. Both concern this ticket only, and the run goes on.
        Anything else (auth, rate limit past the budget, a read failing while checking a lost
        answer, a dead network) would fail the next ticket the same way: this ticket keeps its
        own outcome and message, and the run stops with the rest `not-attempted`.
        """
        # Only an answer to the PUT itself is Zendesk's word on the change: an error from the
        # reads that check a lost answer leaves the outcome unknown (and ends the run below).
        sent = error.method == "PUT"
        outcome: Outcome = "failed" if sent and isinstance(error, REFUSALS) else "unknown"
        if partial:
            # The first part is on the ticket and cannot be taken back. The second carries its
            # rules' own changes with the note (TicketChange.update_bodies), so those rules
            # still select the ticket and the next run plans only what is missing.
            what = ("were refused" if outcome == "failed"
                    else "may or may not have been applied (the answer was lost)")
            code = "PartiallyApplied"
            message = (f"the public reply was applied but the internal note and its rules' "
                       f"changes {what} ({error.message}); the next `zdops plan` shows what is "
                       "left")
        elif outcome == "failed":
            code, message = error.code or type(error).__name__, error.message
        else:
            code = UNKNOWN_CODE
            message = (f"{error.message}; the change was not confirmed on the ticket and was "
                       "not sent again (that could apply it twice); run `zdops plan` to see "
                       "whether it landed")
        self._record(self._outcome(change, outcome, code, message))
        per_ticket = sent and isinstance(
            error, (*TICKET_ERRORS, ZendeskCollisionError, WriteOutcomeUnknown, ZendeskServerError))
        if not per_ticket:
            raise error

    # -- stale tickets ---------------------------------------------------------------------------

    def _recheck(self) -> list[TicketChange]:
        """Re-read every collided ticket and decide: send again, unchanged, or skip."""
        by_token: dict[str, list[int]] = {}
        for ticket_id in self.collided:
            by_token.setdefault(self.planned[ticket_id].token, []).append(ticket_id)
        again: list[TicketChange] = []
        for token, ids in by_token.items():
            fresh = {int(t["id"]): t for t in self.clients[token].show_many(ids)}
            for ticket_id in ids:
                if self.stop.is_set():
                    return again
                change = self.planned[ticket_id]
                decided = self._decide(change, fresh.get(ticket_id))
                if decided is not None:
                    again.append(decided)
        return again

    def _decide(self, change: TicketChange, ticket: Ticket | None) -> TicketChange | None:
        if ticket is None:
            self._record(self._outcome(change, "failed", "RecordNotFound",
                                       "the ticket was deleted since the plan"))
            return None
        since = (
            f"ticket #{change.ticket_id} changed after the plan read it "
            f"({change.updated_at} -> {ticket.get('updated_at')})"
        )
        rules = ", ".join(change.rules)
        if ticket.get("status") == "closed":
            self._record(self._outcome(change, "skipped-stale", "Stale",
                                       f"{since} and is closed now; not changed"))
            return None
        verdict = self.reevaluate(change, ticket)
        if verdict.change is None:
            if verdict.selected:
                self._record(self._outcome(
                    change, "unchanged", None,
                    f"{since}; it is already as rule(s) {rules} want it: nothing sent"))
            else:
                self._record(self._outcome(
                    change, "skipped-stale", "Stale",
                    f"{since}; rule(s) {rules} no longer select it: not overwritten"))
            return None
        if _same_update(change, verdict.change):
            return verdict.change
        self._record(self._outcome(
            change, "skipped-stale", "Stale",
            f"{since}; rule(s) {rules} now plan a different change for it: not overwritten "
            "(run `zdops plan` to review the new change)"))
        return None


def _waves(changes: Sequence[TicketChange], max_jobs: int) -> list[list[TicketUpdate]]:
    """The updates of `changes`, cut into groups of at most `max_jobs` update_many jobs."""
    delta = [
        TicketUpdate(c.ticket_id, c.update_bodies(safe=False)[0], c.updated_at) for c in changes
    ]
    by_id = {c.ticket_id: c for c in changes}
    batches = plan_batches(delta, fewest_jobs=True)
    waves: list[list[TicketUpdate]] = []
    per_wave = max(1, max_jobs)
    for start in range(0, len(batches), per_wave):
        wave: list[TicketUpdate] = []
        for batch in batches[start:start + per_wave]:
            if batch.bulk:
                wave.extend(batch.updates)
            else:
                wave.extend(_batch_form(by_id[u.ticket_id]) for u in batch.updates)
        waves.append(wave)
    return waves


def _batch_form(change: TicketChange) -> TicketUpdate:
    body = change.update_bodies(tags_mode="full", safe=False)[0]
    return TicketUpdate(change.ticket_id, body, change.updated_at)


def _same_update(planned: TicketChange, fresh: TicketChange) -> bool:
    """Whether the fresh evaluation would send exactly what the plan would have sent."""
    return planned.token == fresh.token and planned.update_bodies(
        safe=False
    ) == fresh.update_bodies(safe=False)


def _applied_note(resend: bool) -> str | None:
    if not resend:
        return None
    return (
        "the ticket changed after the plan read it; re-checked, the same change was still "
        "due, and it was applied on the ticket as it is now"
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
