"""update_many: forms, batches of 100, jobs in flight, polling, failures, lost answers."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from test_zendesk_fakes import FakeTime, Scripted, body_of, make_client, ok, ticket

from runner.errors import ZendeskJobError, ZendeskRateLimitError
from runner.secrets import Secret
from runner.zendesk import Credentials, TicketUpdate, UpdateResult, ZendeskClient
from runner.zendesk.jobs import DEFAULT_MAX_JOBS, POLL_MARGIN, POLL_MAX, plan_batches

UM = "/api/v2/tickets/update_many.json"
STAMP = "2024-01-01T10:00:00Z"
TOO_MANY = {"error": "TooManyJobs", "description": "Too many jobs are currently queued or "
                                                  "running. Try again later.",
            "current_job_ids": ["abc"]}


class FakeJobs:
    """Queues a job per submission; each job answers `queued` for `polls_before_done` polls."""

    def __init__(self, polls_before_done: int = 1, limit: int = 30) -> None:
        self.polls_before_done = polls_before_done
        self.limit = limit
        self.jobs: dict[str, dict[str, Any]] = {}
        self.ids = (f"V3-{n:032x}" for n in itertools.count(1))
        self.max_in_flight = 0
        self.item_outcome: dict[int, dict[str, Any]] = {}
        self.fail_job = False
        self.many_polls: list[list[str]] = []

    def running(self) -> int:
        return sum(1 for j in self.jobs.values() if j["polls"] < self.polls_before_done + 1)

    def submit(self, request: httpx.Request) -> httpx.Response:
        if self.running() >= self.limit:
            return ok(TOO_MANY, 429)
        body = body_of(request)
        if "ids" in request.url.params:
            ids = [int(i) for i in request.url.params["ids"].split(",")]
        else:
            ids = [t["id"] for t in body["tickets"]]
        job_id = next(self.ids)
        self.jobs[job_id] = {"ids": ids, "polls": 0, "body": body}
        self.max_in_flight = max(self.max_in_flight, self.running())
        return ok({"job_status": {"id": job_id, "status": "queued", "total": len(ids),
                                  "url": f"https://elsewhere.example/{job_id}"}})

    def poll(self, request: httpx.Request) -> httpx.Response:
        job_id = request.url.path.rsplit("/", 1)[1].removesuffix(".json")
        return ok({"job_status": self.status(job_id)})

    def poll_many(self, request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        self.many_polls.append(ids)
        return ok({"job_statuses": [self.status(i) for i in ids if i in self.jobs]})

    def status(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        job["polls"] += 1
        if job["polls"] <= self.polls_before_done:
            return {"id": job_id, "status": "working", "results": None}
        if self.fail_job:
            return {"id": job_id, "status": "failed", "results": None,
                    "message": "Internal error in job"}
        results = [self.item_outcome.get(i, {"id": i, "action": "update", "status": "Updated",
                                             "success": True}) for i in job["ids"]]
        return {"id": job_id, "status": "completed", "results": results}

    def script(self) -> Scripted:
        script = Scripted().always("PUT", UM, self.submit)
        script.always("GET", "/api/v2/job_statuses/show_many.json", self.poll_many)
        for job_id in (f"V3-{n:032x}" for n in range(1, 40)):
            script.always("GET", f"/api/v2/job_statuses/{job_id}.json", self.poll)
        return script


def _run(script: Scripted, updates: list[TicketUpdate], **kwargs: Any) -> list[UpdateResult]:
    with make_client(script, **kwargs) as client:
        return list(client.update_many(updates))


def test_identical_changes_use_bulk_form_others_batch_form() -> None:
    jobs = FakeJobs()
    same = {"additional_tags": ["vip"], "priority": "high"}
    updates = [TicketUpdate(i, same) for i in (1, 2, 3)]
    updates += [TicketUpdate(4, {"status": "pending"}, STAMP),
                TicketUpdate(5, {"status": "solved"}, STAMP)]
    script = jobs.script()
    results = _run(script, updates)
    assert sorted(r.ticket_id for r in results if r.success) == [1, 2, 3, 4, 5]
    bulk, batch = script.calls("PUT", UM)
    assert bulk.url.params["ids"] == "1,2,3"
    assert body_of(bulk) == {"ticket": same}
    assert "ids" not in batch.url.params
    assert body_of(batch)["tickets"] == [
        {"id": 4, "status": "pending", "safe_update": True, "updated_stamp": STAMP},
        {"id": 5, "status": "solved", "safe_update": True, "updated_stamp": STAMP}]


def test_batches_of_100_and_jobs_in_flight_bounded() -> None:
    jobs = FakeJobs(polls_before_done=3)
    updates = [TicketUpdate(i, {"priority": "high"}, f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z")
               for i in range(1, 451)]
    script = jobs.script()
    time = FakeTime()
    results = _run(script, updates, time=time, max_jobs=2)
    assert len(results) == 450 and all(r.success for r in results)
    sizes = [len(body_of(r)["tickets"]) for r in script.calls("PUT", UM)]
    assert sizes == [100, 100, 100, 100, 50]
    assert jobs.max_in_flight == 2
    # polls back off: no job was polled more than its three "working" answers plus one
    assert [job["polls"] for job in jobs.jobs.values()] == [4] * 5
    # and jobs in flight together are asked about in one call: fewer than 5 + 5 * 4 requests
    assert len(script.requests) == 17
    assert time.sleeps and max(time.sleeps) <= POLL_MAX


def test_results_come_as_each_job_completes() -> None:
    jobs = FakeJobs()
    updates = [TicketUpdate(i, {"priority": "high"}, str(i)) for i in range(1, 201)]
    script = jobs.script()
    with make_client(script, max_jobs=1) as client:
        results = client.update_many(updates)
        first = [next(results) for _ in range(100)]
        assert len(script.calls("PUT", UM)) == 1  # the second job is not even submitted yet
        assert [r.ticket_id for r in first] == list(range(1, 101))
        assert len(list(results)) == 100


def test_failed_items_are_reported_per_ticket() -> None:
    jobs = FakeJobs()
    jobs.item_outcome[2] = {"id": 2, "action": "update", "success": False,
                            "error": "TicketUpdateFailed", "details": "Status: closed prevents "
                            "ticket update"}
    jobs.item_outcome[3] = {"id": 3, "action": "update", "status": "Failed", "error": "Conflict"}
    updates = [TicketUpdate(i, {"status": "open"}, STAMP) for i in (1, 2, 3)]
    results = {r.ticket_id: r for r in _run(jobs.script(), updates)}
    assert results[1].success and results[1].job_id
    assert (results[2].success, results[2].error) == (False, "TicketUpdateFailed")
    assert "closed prevents ticket update" in (results[2].details or "")
    assert (results[3].success, results[3].error) == (False, "Conflict")


def test_a_failed_job_fails_each_of_its_tickets() -> None:
    jobs = FakeJobs()
    jobs.fail_job = True
    results = _run(jobs.script(), [TicketUpdate(i, {"status": "open"}) for i in (1, 2)])
    assert [(r.success, r.error, r.details) for r in results] == [
        (False, "JobFailed", "Internal error in job")] * 2


def test_too_many_jobs_waits_for_our_own_jobs() -> None:
    jobs = FakeJobs(polls_before_done=2, limit=1)
    updates = [TicketUpdate(i, {"priority": "low"}, str(i)) for i in range(1, 201)]
    script = jobs.script()
    results = _run(script, updates, max_jobs=5)
    assert len(results) == 200 and all(r.success for r in results)
    assert jobs.max_in_flight == 1


def test_too_many_jobs_from_others_waits_then_gives_up() -> None:
    script = Scripted().always("PUT", UM, ok(TOO_MANY, 429))
    time = FakeTime()
    with pytest.raises(ZendeskRateLimitError) as caught:
        _run(script, [TicketUpdate(1, {"status": "open"})], time=time, max_wait=60)
    assert "job slots stayed full" in str(caught.value)
    assert caught.value.code == "TooManyJobs"
    assert 0 < sum(time.sleeps) <= 60


def test_too_many_jobs_from_others_clears() -> None:
    jobs = FakeJobs()
    script = jobs.script()
    script.add("PUT", UM, ok(TOO_MANY, 429), ok(TOO_MANY, 429))
    results = _run(script, [TicketUpdate(1, {"status": "open"})])
    assert results[0].success and len(script.calls("PUT", UM)) == 3


def test_lost_submission_checks_tickets_before_resending() -> None:
    jobs = FakeJobs()
    script = jobs.script()
    script.add("PUT", UM, httpx.ReadTimeout("lost"))
    landed = ticket(1, status="pending", updated_at="2024-02-01T00:00:00Z")
    not_landed = ticket(2, status="open", updated_at=STAMP)
    unstamped = ticket(3, status="open", updated_at=STAMP)
    script.add("GET", "/api/v2/tickets/show_many.json",
               ok({"tickets": [landed, not_landed, unstamped]}))
    updates = [TicketUpdate(1, {"status": "pending"}, STAMP),
               TicketUpdate(2, {"status": "pending", "priority": "high"}, STAMP),
               TicketUpdate(3, {"comment": {"body": "hi", "public": True}})]
    script.add("GET", "/api/v2/users/me.json", ok({"user": {"id": 5}}))
    script.add("GET", "/api/v2/tickets/3/audits.json", ok({"audits": []}))
    results = {r.ticket_id: r for r in _run(script, updates)}
    assert results[1].success and results[1].job_id is None
    assert results[2].success and results[2].job_id
    assert (results[3].success, results[3].error) == (False, "OutcomeUnknown")
    assert "not resent" in (results[3].details or "")
    resent = script.calls("PUT", UM)[1]
    assert [t["id"] for t in body_of(resent)["tickets"]] == [2]


def test_resent_safe_update_that_conflicts_is_checked() -> None:
    jobs = FakeJobs()
    jobs.item_outcome[2] = {"id": 2, "success": False, "error": "UpdateConflict"}
    script = jobs.script()
    script.add("PUT", UM, httpx.RemoteProtocolError("dropped"))
    script.add("GET", "/api/v2/tickets/show_many.json",
               ok({"tickets": [ticket(2, status="open", updated_at=STAMP)]}),
               ok({"tickets": [ticket(2, status="pending", updated_at="2024-03-01T00:00:00Z")]}))
    results = _run(script, [TicketUpdate(2, {"status": "pending"}, STAMP)])
    assert [(r.ticket_id, r.success) for r in results] == [(2, True)]


def test_expired_job_is_resolved_by_reading_tickets() -> None:
    script = Scripted().add("PUT", UM, ok({"job_status": {"id": "gone1", "status": "queued"}}))
    script.add("GET", "/api/v2/job_statuses/gone1.json",
               ok({"error": "RecordNotFound", "description": "Not found"}, 404))
    script.add("GET", "/api/v2/tickets/show_many.json", ok({"tickets": [
        ticket(1, priority="high", updated_at="2024-02-01T00:00:00Z"),
        ticket(2, priority="normal", updated_at=STAMP)]}))
    results = _run(script, [TicketUpdate(1, {"priority": "high"}, STAMP),
                            TicketUpdate(2, {"priority": "high"}, STAMP)])
    assert [(r.ticket_id, r.success, r.error) for r in results] == [
        (1, True, None), (2, False, "JobExpired")]


def test_two_updates_for_one_ticket_are_refused() -> None:
    with pytest.raises(ValueError, match="ticket #1 has two updates"):
        _run(Scripted(), [TicketUpdate(1, {"status": "open"}), TicketUpdate(1, {})])


def _stamp(n: int) -> str:
    """A distinct `updated_at` per n: safe updates are identical only when they share one."""
    return f"2024-01-{1 + n // 86400:02d}T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"


def test_fewest_jobs_sends_stamp_sharing_pairs_in_batch_form() -> None:
    # A 25,000-ticket apply meets a few tickets edited in the same second: each such pair got
    # its own bulk job (and poll) before; the whole set fits the fewest jobs in batch form.
    tag = {"additional_tags": ["routed"]}
    updates = [TicketUpdate(2 * n + k, tag, _stamp(n)) for n in range(58) for k in (1, 2)]
    updates += [TicketUpdate(1000 + n, tag, _stamp(100 + n)) for n in range(190)]
    assert len(updates) == 306

    fewest = plan_batches(updates, fewest_jobs=True)
    assert len(fewest) == 4 == -(-306 // 100)
    assert [(b.bulk, len(b.updates)) for b in fewest] == [(False, 100)] * 3 + [(False, 6)]
    # batch form keeps each ticket's own stamp, and the input order
    assert [u for b in fewest for u in b.updates] == updates

    old = plan_batches(updates)
    assert len(old) == 60
    assert sum(b.bulk for b in old) == 58 and all(len(b.updates) == 2 for b in old if b.bulk)


def test_fewest_jobs_keeps_full_bulk_chunks_and_folds_the_remainder() -> None:
    same = {"status": "pending"}
    identical = [TicketUpdate(n, same, STAMP) for n in range(1, 151)]
    singles = [TicketUpdate(500 + n, same, _stamp(n)) for n in range(30)]
    updates = identical[:75] + singles + identical[75:]

    bulk, batch = plan_batches(updates, fewest_jobs=True)
    assert bulk.bulk and bulk.ids() == list(range(1, 101))
    params, body = bulk.request_body()
    assert params == {"ids": ",".join(map(str, range(1, 101)))}
    assert body == {"ticket": {**same, "safe_update": True, "updated_stamp": STAMP}}
    # the 50 left over would need a job of their own: they join the 30 singles, in input order
    assert not batch.bulk and len(batch.updates) == 80
    assert batch.updates == singles + identical[100:]
    _, batch_body = batch.request_body()
    assert batch_body["tickets"][0] == {"id": 500, **same, "safe_update": True,
                                        "updated_stamp": _stamp(0)}

    # without fewest_jobs the remainder keeps a bulk job of its own: three jobs
    assert [(b.bulk, len(b.updates)) for b in plan_batches(updates)] == [
        (True, 100), (True, 50), (False, 30)]


def test_fewest_jobs_gives_a_remainder_bulk_when_it_costs_no_job() -> None:
    # 150 identical and nothing else: two jobs either way, so both are bulk
    same = {"priority": "high"}
    updates = [TicketUpdate(n, same, STAMP) for n in range(1, 151)]
    assert [(b.bulk, len(b.updates)) for b in plan_batches(updates, fewest_jobs=True)] == [
        (True, 100), (True, 50)]


def test_jobs_of_one_wave_are_polled_together() -> None:
    jobs = FakeJobs(polls_before_done=2)
    updates = [TicketUpdate(i, {"priority": "high", "custom": i}, STAMP) for i in range(1, 301)]
    script = jobs.script()
    results = _run(script, updates)
    assert all(r.success for r in results) and len(results) == 300
    assert len(script.calls("PUT", UM)) == 3
    # Three jobs, each answering "working" twice and then "completed": three polls in all,
    # each asking about the whole wave, instead of nine single-job polls.
    assert jobs.many_polls == [[job_id for job_id in sorted(jobs.jobs)]] * 3
    assert not [r for r in script.requests if "/job_statuses/V3-" in r.url.path]


class TimedJobs:
    """Zendesk's job queue on the injected clock: one job at a time, `pace` seconds a ticket,
    `progress` counting the tickets done, as Zendesk shows it."""

    def __init__(self, time: FakeTime, pace: float) -> None:
        self.time = time
        self.pace = pace
        self.jobs: dict[str, tuple[float, float, list[int]]] = {}  # id: (start, end, ids)
        self.polls: list[list[str]] = []

    def submit(self, request: httpx.Request) -> httpx.Response:
        ids = [t["id"] for t in body_of(request)["tickets"]]
        start = max([self.time.now] + [end for _, end, _ in self.jobs.values()])
        job_id = f"V3-{len(self.jobs) + 1:032x}"
        self.jobs[job_id] = (start, start + len(ids) * self.pace, ids)
        return ok({"job_status": {"id": job_id, "status": "queued", "total": len(ids)}})

    def poll_many(self, request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        self.polls.append(ids)
        return ok({"job_statuses": [self.status(i) for i in ids]})

    def status(self, job_id: str) -> dict[str, Any]:
        start, end, ids = self.jobs[job_id]
        now = self.time.now
        if now < start:
            return {"id": job_id, "status": "queued", "progress": None, "total": len(ids)}
        if now < end:
            return {"id": job_id, "status": "working", "total": len(ids),
                    "progress": int((now - start) / self.pace)}
        return {"id": job_id, "status": "completed", "total": len(ids), "progress": len(ids),
                "results": [{"id": i, "action": "update", "status": "Updated", "success": True}
                            for i in ids]}

    def poll_one(self, request: httpx.Request) -> httpx.Response:
        job_id = request.url.path.rsplit("/", 1)[1].removesuffix(".json")
        self.polls.append([job_id])
        return ok({"job_status": self.status(job_id)})

    def script(self) -> Scripted:
        script = Scripted().always("PUT", UM, self.submit)
        for n in range(1, 100):
            script.always("GET", f"/api/v2/job_statuses/V3-{n:032x}.json", self.poll_one)
        return script.always("GET", "/api/v2/job_statuses/show_many.json", self.poll_many)


def _wave(first: int, jobs: int) -> list[TicketUpdate]:
    return [TicketUpdate(i, {"priority": "high"}, _stamp(i))
            for i in range(first, first + jobs * 100)]


def test_a_wave_of_jobs_is_polled_once_or_twice_then_once_at_the_learnt_pace() -> None:
    time = FakeTime()
    jobs = TimedJobs(time, pace=0.03)  # 3 s a job, 75 s for a wave of 25
    with make_client(jobs.script(), time) as client:
        assert client.max_jobs == DEFAULT_MAX_JOBS == 25
        first = list(client.update_many(_wave(1, 25)))
        first_polls = len(jobs.polls)
        # no pace known yet: one early look, then one when the estimate says done
        assert 1 <= first_polls <= 2, jobs.polls
        # each poll asks about every job in flight in one call
        assert all(len(ids) == len(jobs.jobs) for ids in jobs.polls[:1])
        second = list(client.update_many(_wave(10_000, 25)))
        third = list(client.update_many(_wave(20_000, 25)))
    assert all(r.success for r in first + second + third)
    assert len(first) == len(second) == len(third) == 2500
    # the pace seen in the first wave times the next ones: one poll each, and no long
    # oversleep either (the wave ends at 75 s; the poll comes at most 10% after)
    assert len(jobs.polls) - first_polls == 2, jobs.polls
    assert time.sleeps[-1] <= 75 * POLL_MARGIN + 1


def test_the_default_leaves_slots_and_stays_within_zendesks_limit() -> None:
    time = FakeTime()
    jobs = TimedJobs(time, pace=0.001)
    script = jobs.script()
    with make_client(script, time) as client:
        results = list(client.update_many(_wave(1, 60)))
    assert len(results) == 6000 and all(r.success for r in results)
    # 60 jobs in one call: never more than 25 in flight, so 5 of Zendesk's 30 stay free
    assert max(len(ids) for ids in jobs.polls) <= 25 < 30
    assert len(script.calls("PUT", UM)) == 60


def _other_integration_jobs(served: Any, count: int) -> None:
    """Another integration's bulk jobs, holding `count` of the account's 30 slots."""
    other = served.client(served.admin["email"])
    for _ in range(count):
        answer = other.put(UM, params={"ids": "1"}, json={"ticket": {"additional_tags": ["x"]}})
        assert answer.status_code == 200, answer.text


def test_too_many_jobs_resubmits_only_the_refused_job_and_applies_each_once(
        sandbox_factory: Any) -> None:
    served = sandbox_factory(tickets=60, faults="slowjobs:0.02")
    sb = served.sb
    open_ids = [i for i in range(2, 61) if sb.ticket(i)["status"] in ("open", "pending")][:10]
    assert len(open_ids) == 10
    _other_integration_jobs(served, 28)  # 2 slots left, and the queue is ~1 s long
    sb.reset_stats()
    # five bulk jobs of two tickets, each with a comment: a doubled job would show twice
    updates = [TicketUpdate(t, {"comment": {"body": f"note {n // 2}", "public": False},
                                "additional_tags": [f"wave-{n // 2}"]})
               for n, t in enumerate(open_ids)]
    bot = served.bot
    with ZendeskClient(served.url, Credentials("oauth", bot["email"],
                                               Secret(served.credentials(bot["email"]))),
                       max_jobs=5) as client:
        results = list(client.update_many(updates))
    assert sorted(r.ticket_id for r in results) == sorted(open_ids)
    assert all(r.success for r in results), [r for r in results if not r.success]
    stats = sb.stats()
    # the account refused some submissions, and none was retried before a slot was free
    assert 1 <= stats["by_status"].get("429", 0) <= 3
    submitted = stats["by_endpoint"]["PUT /api/v2/tickets/update_many"]["total"]
    assert submitted == 5 + stats["by_status"]["429"]  # every refusal was sent once more
    assert client.stats.rate_limited == stats["by_status"]["429"]
    assert sb.wait_for_jobs(30)
    for n, ticket_id in enumerate(open_ids):
        notes = [c for c in sb.comments(ticket_id) if c["author_id"] == bot["id"]]
        assert [c["body"] for c in notes] == [f"note {n // 2}"], ticket_id
        assert f"wave-{n // 2}" in sb.ticket(ticket_id)["tags"]


def test_jobs_without_progress_stop_at_the_time_budget(sandbox_factory: Any) -> None:
    served = sandbox_factory(tickets=20, faults="slowjobs:300")  # one ticket: 5 minutes
    bot = served.bot
    time = FakeTime()
    with ZendeskClient(served.url, Credentials("oauth", bot["email"],
                                               Secret(served.credentials(bot["email"]))),
                       sleep=time.sleep, clock=time.clock, job_wait=120.0) as client:
        with pytest.raises(ZendeskJobError) as caught:
            list(client.update_many([TicketUpdate(3, {"priority": "low"})]))
        polls = client.stats.calls["GET /api/v2/job_statuses/{id}"]
    message = str(caught.value)
    assert "1 update_many job(s) showed no progress for 120s (the budget is 120s)" in message
    assert "V3-" in message and "zdops plan" in message
    # the waits doubled (0.25 s, 0.5 s, ...) and stopped exactly at the budget
    assert sum(time.sleeps) == pytest.approx(120)
    assert max(time.sleeps) <= POLL_MAX and polls <= 12
