"""update_many: batches of 100, background jobs, polling, and each ticket's outcome.

Identical changes (same body, same `updated_stamp`) go in the bulk form
(`?ids=...` + one `ticket` body); everything else in the batch form (`tickets: [...]`), where
each ticket carries its own `safe_update` + `updated_stamp`, so collision protection holds per
ticket. At most `client.max_jobs` jobs are queued or running at once (Zendesk allows 30 per
account, shared with every other integration); a TooManyJobs answer is waited out and only the
refused job is submitted again (it was never queued). The jobs in flight are polled together,
one show_many call per poll, timed by the pace the jobs have shown, and each job's per-ticket
results are yielded as soon as it completes (Zendesk does not keep job statuses for long).
Jobs that show no progress for `client.job_wait` seconds stop the run.

A submission whose answer was lost is never resubmitted blindly: the tickets are re-read first;
changes already visible are reported as applied, safe updates (which Zendesk cannot apply twice)
and changes without a comment are resubmitted once, and the rest are reported as unknown.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.errors import ZendeskError, ZendeskJobError, ZendeskRateLimitError
from runner.zendesk.errors import WriteOutcomeUnknown
from runner.zendesk.verify import resend_is_safe

if TYPE_CHECKING:
    from runner.zendesk.client import ZendeskClient

JSON = dict[str, Any]

BATCH_MAX = 100
# Zendesk allows 30 background jobs queued or running per account, shared with every other
# integration. 25 leaves 5 slots to them (a TooManyJobs answer is waited out anyway) while a wave
# stays large: polls cost at most 1 call per wave of 25 x 100 tickets, so even when every ticket
# read changes, 3 polls a wave keep a reconcile within 1.1x the minimum calls (10 allowed 1).
DEFAULT_MAX_JOBS = 25
DEFAULT_JOB_WAIT = 600.0  # seconds jobs may show no progress before the run gives up on them
POLL_FIRST = 0.25  # the first wait when no pace is known yet
POLL_MIN = 0.05
# A wave of 25 jobs can take minutes; two are well inside the hour (at least) Zendesk keeps a
# job's status, and a wave's estimate is refined at every poll anyway.
POLL_MAX = 120.0
POLL_MARGIN = 1.1  # poll a little after the estimated end, rather than just before it
# A wave that was all done at its poll only bounds the pace from above: shrink the estimate a
# little each time, so an estimate that was too slow (a wave that queued) does not stick.
POLL_PROBE = 0.95
POLL_MANY = 100  # job statuses one show_many call may ask about
_DONE = frozenset({"completed", "failed", "killed"})


@dataclass(frozen=True)
class TicketUpdate:
    """One ticket's change as the plan computed it.

    `changes` is the ticket body Zendesk takes (`status`, `group_id`, `custom_fields`,
    `additional_tags`, `remove_tags`, `comment`, ...). `updated_stamp` is the `updated_at` the
    plan saw; with it the update is a safe update (a ticket changed since is not overwritten).
    """

    ticket_id: int
    changes: Mapping[str, Any] = field(hash=False)
    updated_stamp: str | None = None


@dataclass(frozen=True)
class UpdateResult:
    """One ticket's outcome. `error` is Zendesk's code (or ours: `JobFailed`, `JobExpired`,
    `OutcomeUnknown`, `NoResult`); `details` is the text to show."""

    ticket_id: int
    success: bool
    error: str | None = None
    details: str | None = None
    job_id: str | None = None


@dataclass
class _Batch:
    updates: list[TicketUpdate]
    bulk: bool
    resent: bool = False

    def ids(self) -> list[int]:
        return [u.ticket_id for u in self.updates]

    def request_body(self) -> tuple[dict[str, str] | None, JSON]:
        if self.bulk:
            first = self.updates[0]
            return {"ids": ",".join(map(str, self.ids()))}, {"ticket": _body(first)}
        return None, {"tickets": [{"id": u.ticket_id, **_body(u)} for u in self.updates]}


@dataclass
class _Job:
    job_id: str
    batch: _Batch
    seen: int = 0  # tickets done as of the last poll

    @property
    def total(self) -> int:
        return len(self.batch.updates)


def _body(update: TicketUpdate) -> JSON:
    body = dict(update.changes)
    if update.updated_stamp is not None:
        body.update(safe_update=True, updated_stamp=update.updated_stamp)
    return body


def plan_batches(updates: Sequence[TicketUpdate], *, fewest_jobs: bool = False) -> list[_Batch]:
    """Bulk batches for groups of identical changes, batch-form batches for the rest.

    With `fewest_jobs`, a group of identical changes gets bulk jobs of its own only where that
    costs no job more than ceil(len(updates) / 100): full chunks of 100 always, a smaller
    remainder only while the others still fit the fewest batch-form jobs. Safe updates of a
    large run share a stamp only by chance (tickets edited in the same second), and giving
    each such pair its own job cost 20% more jobs than needed on a 25,000-ticket apply.
    """
    seen: set[int] = set()
    groups: dict[str, list[TicketUpdate]] = {}
    for update in updates:
        if update.ticket_id in seen:
            raise ValueError(f"ticket #{update.ticket_id} has two updates; merge them first")
        seen.add(update.ticket_id)
        key = json.dumps([update.changes, update.updated_stamp], sort_keys=True, default=str)
        groups.setdefault(key, []).append(update)
    batches: list[_Batch] = []
    loose: list[TicketUpdate] = []
    rests: list[list[TicketUpdate]] = []
    for group in groups.values():
        if len(group) == 1:
            loose.extend(group)
            continue
        whole = len(group) - len(group) % BATCH_MAX if fewest_jobs else len(group)
        for start in range(0, whole, BATCH_MAX):
            chunk = group[start:start + BATCH_MAX]
            batches.append(_Batch(chunk, bulk=len(chunk) > 1))
        if whole < len(group):
            rests.append(group[whole:])
    loose += _bulk_rests(rests, len(loose), batches)
    order = {u.ticket_id: index for index, u in enumerate(updates)}
    loose.sort(key=lambda u: order[u.ticket_id])
    for start in range(0, len(loose), BATCH_MAX):
        batches.append(_Batch(loose[start:start + BATCH_MAX], bulk=False))
    return batches


def _bulk_rests(rests: list[list[TicketUpdate]], singles: int,
                batches: list[_Batch]) -> list[TicketUpdate]:
    """Give the largest remainders bulk jobs while the job count stays at its minimum (with
    `singles` updates bound for batch form already); return the remainders left over."""
    left = singles + sum(len(rest) for rest in rests)
    fewest = -(-left // BATCH_MAX)
    own = 0
    loose: list[TicketUpdate] = []
    for rest in sorted(rests, key=len, reverse=True):
        after = left - len(rest)
        if len(rest) > 1 and own + 1 + -(-after // BATCH_MAX) <= fewest:
            batches.append(_Batch(rest, bulk=True))
            own += 1
            left = after
        else:
            loose.extend(rest)
    return loose


class _Runner:
    def __init__(self, client: ZendeskClient, updates: Sequence[TicketUpdate]) -> None:
        self.client = client
        self.pending = deque(plan_batches(updates))
        # The batch whose submission is under way: if the run stops inside that request (an
        # interrupt), whether Zendesk queued it is not known.
        self.sending: _Batch | None = None
        self.inflight: dict[str, _Job] = {}
        self.crowded_wait = 0.0
        self.crowded_attempts = 0
        self.crowded = False  # refused while our own jobs hold slots: wait for one to finish
        # When the jobs last showed progress (or the first was queued): the pace is measured
        # from it, and the job_wait budget runs from it.
        self.mark = 0.0
        self.stalled = False  # the last poll saw no progress: back off instead of estimating
        self.last_chance = False  # this poll is at the end of the job_wait budget

    def run(self) -> Iterator[UpdateResult]:
        while self.pending or self.inflight:
            if not self.crowded:
                yield from self._submit_what_fits()
            if self.inflight:
                yield from self._poll()

    def _submit_what_fits(self) -> Iterator[UpdateResult]:
        while self.pending and len(self.inflight) < max(1, self.client.max_jobs):
            batch = self.pending[0]
            params, body = batch.request_body()
            self.sending = batch
            try:
                response = self.client.request("PUT", "/api/v2/tickets/update_many.json",
                                               params=params, json=body)
            except WriteOutcomeUnknown as lost:
                self.sending = None
                self.pending.popleft()
                yield from self._recover(batch, lost)
                continue
            except ZendeskError as error:
                self.sending = None  # an answer, and a refusal: nothing was queued
                if not isinstance(error, ZendeskRateLimitError) or error.code != "TooManyJobs":
                    raise
                if self.inflight:
                    self.crowded = True  # our own jobs hold slots: resubmit when one is done
                    return
                self._wait_for_slots(error)
                continue
            self.sending = None
            self.pending.popleft()
            self.crowded_attempts = 0
            status = self.client.json(response).get("job_status") or {}
            job_id = str(status.get("id") or "")
            if not job_id:
                yield from self._fail(batch, "NoJob", "Zendesk queued no job for this update")
                continue
            if not self.inflight:
                self.mark, self.stalled = self.client.clock(), False
            self.inflight[job_id] = _Job(job_id, batch)

    def unsent_ids(self) -> list[int]:
        """Tickets of the batches that never reached Zendesk (for a run that stopped)."""
        return [i for batch in self.pending if batch is not self.sending for i in batch.ids()]

    def _wait_for_slots(self, error: ZendeskRateLimitError) -> None:
        """Other integrations fill the account's job slots: back off, within the budget."""
        wait = self.client.retry.backoff(self.crowded_attempts + 2, self.client.rng)
        self.crowded_attempts += 1
        if self.crowded_wait + wait > self.client.retry.max_wait:
            raise ZendeskRateLimitError(
                f"{error.message} (the account's background job slots stayed full for "
                f"{self.crowded_wait:.0f}s)",
                status=error.status, method=error.method, endpoint=error.endpoint,
                code=error.code, hint="Other integrations are running bulk jobs; run again later.",
            )
        self.crowded_wait += wait
        self.client.sleep(wait)

    def _due(self) -> float:
        """When to ask next: at the estimated end of the remaining work, or after a backoff."""
        now = self.client.clock()
        pace = self.client.job_pace
        if self.stalled or pace is None:
            # Nothing to estimate from: wait as long again as the jobs have been quiet.
            due = now + max(POLL_FIRST, now - self.mark)
        else:
            remaining = sum(job.total - job.seen for job in self.inflight.values())
            due = self.mark + remaining * pace * POLL_MARGIN
        due = min(max(due, now + POLL_MIN), now + POLL_MAX)
        deadline = self.mark + self.client.job_wait
        self.last_chance = due >= deadline
        return min(due, max(now, deadline))

    def _poll(self) -> Iterator[UpdateResult]:
        """Wait until the jobs in flight should be done, then ask about all of them at once."""
        self.client.sleep(self._due() - self.client.clock())
        jobs = list(self.inflight.values())
        statuses: dict[str, JSON] = {}
        for start in range(0, len(jobs), POLL_MANY):
            statuses.update(self.client.job_statuses(
                [job.job_id for job in jobs[start:start + POLL_MANY]]))
        now = self.client.clock()
        progressed = 0
        for job in jobs:
            status = statuses.get(job.job_id)
            if status is None:  # Zendesk no longer knows the job: look at the tickets
                del self.inflight[job.job_id]
                self.crowded = False
                yield from self._expired(job)
                continue
            done = str(status.get("status")) in _DONE
            seen = job.total if done else _progress(status, job.total)
            progressed += max(0, seen - job.seen)
            job.seen = seen
            if done:
                del self.inflight[job.job_id]
                self.crowded = False
                yield from self._results(job, status)
        self._learn(progressed, now)

    def _learn(self, progressed: int, now: float) -> None:
        """Update the pace from this poll, and give up on jobs quiet for too long."""
        self.stalled = progressed == 0
        if progressed:
            pace = (now - self.mark) / progressed
            known = self.client.job_pace
            if self.inflight or known is None:
                self.client.job_pace = pace  # work ran the whole time: a measurement
            else:  # all done some time before the poll: the pace was at least this fast
                self.client.job_pace = min(known, pace) * POLL_PROBE
            self.mark = now
            return
        if self.inflight and self.last_chance:
            stuck = list(self.inflight)
            shown = ", ".join(stuck[:3]) + (f" and {len(stuck) - 3} more" if len(stuck) > 3
                                             else "")
            raise ZendeskJobError(
                f"{len(stuck)} update_many job(s) showed no progress for "
                f"{now - self.mark:.0f}s (the budget is {self.client.job_wait:.0f}s): {shown}",
                method="GET", endpoint="GET /api/v2/job_statuses/show_many",
                hint="Zendesk may be busy with other bulk jobs and may still apply these; run "
                "`zdops plan` later to see what landed before applying again.",
            )

    def _results(self, job: _Job, status: JSON) -> Iterator[UpdateResult]:
        by_id: dict[int, JSON] = {}
        results = status.get("results")
        for item in results if isinstance(results, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), int):
                by_id[item["id"]] = item
        failed = str(status.get("status")) != "completed"
        message = str(status.get("message") or "the job failed")
        recheck: list[TicketUpdate] = []
        for update in job.batch.updates:
            item = by_id.get(update.ticket_id)
            if item is None:
                code = "JobFailed" if failed else "NoResult"
                text = message if failed else "the job finished without a result for this ticket"
                yield UpdateResult(update.ticket_id, False, code, text, job.job_id)
            elif item.get("success") is False or str(item.get("status")).lower() == "failed":
                if job.batch.resent:
                    recheck.append(update)
                    continue
                yield UpdateResult(update.ticket_id, False, _opt(item.get("error")) or "Failed",
                                   _opt(item.get("details")) or message, job.job_id)
            else:
                yield UpdateResult(update.ticket_id, True, job_id=job.job_id)
        if recheck:
            # A resent safe update fails if the lost first submission applied it after all.
            yield from self._verify(recheck, job.job_id, "JobFailed",
                                    "the resent update failed and the change is not visible")

    def _expired(self, job: _Job) -> Iterator[UpdateResult]:
        yield from self._verify(job.batch.updates, job.job_id, "JobExpired",
                                "Zendesk dropped the job's status before it was read, and the "
                                "change is not visible on the ticket")

    def _verify(self, updates: Sequence[TicketUpdate], job_id: str | None, code: str,
                text: str) -> Iterator[UpdateResult]:
        tickets = {t["id"]: t for t in self.client.show_many(u.ticket_id for u in updates)}
        for update in updates:
            ticket = tickets.get(update.ticket_id)
            ok = ticket is not None and self.client.landed(ticket, dict(update.changes),
                                                           update.updated_stamp)
            yield UpdateResult(update.ticket_id, ok, None if ok else code,
                               None if ok else text, job_id)

    def _recover(self, batch: _Batch, lost: WriteOutcomeUnknown) -> Iterator[UpdateResult]:
        tickets = {t["id"]: t for t in self.client.show_many(batch.ids())}
        resend: list[TicketUpdate] = []
        for update in batch.updates:
            ticket = tickets.get(update.ticket_id)
            if ticket is not None and self.client.landed(ticket, dict(update.changes),
                                                         update.updated_stamp):
                yield UpdateResult(update.ticket_id, True)
            elif not batch.resent and resend_is_safe(update.changes, update.updated_stamp,
                                                     ticket):
                resend.append(update)
            else:
                yield UpdateResult(
                    update.ticket_id, False, "OutcomeUnknown",
                    f"{lost.cause.message}; the change is not visible yet and was not resent "
                    "(sending it again could apply it twice); run `zdops plan` again later")
        if resend:
            self.client.stats.retries += 1
            self.pending.appendleft(_Batch(resend, bulk=batch.bulk and len(resend) > 1,
                                           resent=True))

    @staticmethod
    def _fail(batch: _Batch, code: str, text: str) -> Iterator[UpdateResult]:
        for update in batch.updates:
            yield UpdateResult(update.ticket_id, False, code, text)


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _progress(status: JSON, total: int) -> int:
    """Tickets a running job has done (Zendesk shows null while it is queued)."""
    value = status.get("progress")
    return min(total, max(0, value)) if isinstance(value, int) else 0


class BulkUpdate(Iterator[UpdateResult]):
    """One update_many run: an iterator of each ticket's outcome as it becomes known.

    When the iteration stops on an error, `unsent_ids()` names the tickets whose batch never
    reached Zendesk, so that a caller reports them as not attempted rather than as sent and
    unanswered.
    """

    def __init__(self, client: ZendeskClient, updates: Sequence[TicketUpdate]) -> None:
        self._runner = _Runner(client, updates)
        self._results = self._runner.run()

    def __next__(self) -> UpdateResult:
        return next(self._results)

    def unsent_ids(self) -> list[int]:
        return self._runner.unsent_ids()
