"""update_many: forms, batches of 100, jobs in flight, polling, failures, lost answers."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from test_zendesk_fakes import FakeTime, Scripted, body_of, make_client, ok, ticket

from runner.errors import ZendeskRateLimitError
from runner.zendesk import TicketUpdate, UpdateResult
from runner.zendesk.jobs import plan_batches

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
    assert time.sleeps and max(time.sleeps) <= 5.0


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
