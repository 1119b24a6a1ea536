"""tickets/update_many: both forms, the job life cycle, per-item results, the job limits."""

from __future__ import annotations

import time
from typing import Any

import httpx
from fixtures_sandbox import ServedSandbox


def poll(client: httpx.Client, job_id: str, timeout: float = 10) -> list[dict[str, Any]]:
    """Every distinct state a poller sees, until the job is finished."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v2/job_statuses/{job_id}.json").json()["job_status"]
        if not seen or (job["status"], job["progress"]) != (
            seen[-1]["status"],
            seen[-1]["progress"],
        ):
            seen.append(job)
        if job["status"] in ("completed", "failed"):
            return seen
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} did not finish: {seen[-1]}")


def editable(sandbox: ServedSandbox, count: int) -> list[int]:
    ids = [
        i for i in range(1, 201) if sandbox.sb.ticket(i)["status"] in ("open", "pending", "hold")
    ]
    return ids[:count]


def test_bulk_form_is_queued_then_worked_then_completed(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults="slowjobs:0.3")
    client = sandbox.client(sandbox.bot["email"])
    ids = editable(sandbox, 5)
    response = client.put(
        "/api/v2/tickets/update_many.json",
        params={"ids": ",".join(map(str, ids))},
        json={
            "ticket": {
                "additional_tags": ["bulk"],
                "remove_tags": ["vip"],
                "comment": {"body": "bulk note", "public": False},
            }
        },
    )
    assert response.status_code == 200
    job = response.json()["job_status"]
    assert (job["status"], job["progress"], job["results"], job["total"]) == (
        "queued",
        None,
        None,
        5,
    )
    assert job["id"].startswith("V3-")
    assert (
        response.headers["zendesk-ratelimit-inflight-jobs"] == "total=30; remaining=29; resets=60"
    )
    states = poll(client, job["id"])
    assert "working" in [s["status"] for s in states]
    done = states[-1]
    assert done["status"] == "completed" and done["progress"] == 5
    assert done["message"].startswith("Completed at ")
    assert done["results"] == [
        {"id": i, "action": "update", "status": "Updated", "success": True} for i in ids
    ]
    for ticket_id in ids:
        ticket = sandbox.sb.ticket(ticket_id)
        assert "bulk" in ticket["tags"] and "vip" not in ticket["tags"]
        assert sandbox.sb.audits(ticket_id)[-1]["author_id"] == sandbox.bot["id"]


def test_batch_form_reports_per_item_failures(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    good = editable(sandbox, 1)[0]
    closed = next(i for i in range(1, 201) if sandbox.sb.ticket(i)["status"] == "closed")
    response = client.put(
        "/api/v2/tickets/update_many.json",
        json={
            "tickets": [
                {"id": good, "priority": "urgent"},
                {"id": closed, "priority": "low"},
                {"id": 999_999, "priority": "low"},
            ]
        },
    )
    job_id = response.json()["job_status"]["id"]
    results = poll(client, job_id)[-1]["results"]
    assert results[0] == {"id": good, "action": "update", "status": "Updated", "success": True}
    assert results[1] == {
        "id": closed,
        "action": "update",
        "success": False,
        "error": "RecordInvalid",
        "details": "Status: closed prevents ticket update",
    }
    assert results[2]["success"] is False and results[2]["error"] == "RecordNotFound"
    many = client.get(
        "/api/v2/job_statuses/show_many.json", params={"ids": f"{job_id},V3-unknown"}
    ).json()
    assert [j["id"] for j in many["job_statuses"]] == [job_id]
    assert client.get("/api/v2/job_statuses/V3-unknown.json").status_code == 404


def test_a_job_whose_every_item_fails_is_failed(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    response = client.put(
        "/api/v2/tickets/update_many.json", json={"tickets": [{"id": 999_998, "status": "open"}]}
    )
    assert poll(client, response.json()["job_status"]["id"])[-1]["status"] == "failed"


def test_bulk_update_is_a_safe_update_against_the_enqueue_state(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults="slowjobs:0.5")
    client = sandbox.client(sandbox.bot["email"])
    first, second = editable(sandbox, 2)
    response = client.put(
        "/api/v2/tickets/update_many.json",
        params={"ids": f"{first},{second}"},
        json={"ticket": {"priority": "urgent"}},
    )
    sandbox.sb.agent_edit(second)  # a human edits the second ticket while the job is queued
    results = poll(client, response.json()["job_status"]["id"])[-1]["results"]
    assert results[0]["success"] is True
    assert results[1]["success"] is False and results[1]["error"] == "UpdateConflict"


def test_bulk_update_is_safe_against_the_clients_own_updated_stamp(
    sandbox: ServedSandbox,
) -> None:
    # Without safe_update the bulk form still honours an updated_stamp (zendesk-api.md 2.4): a
    # ticket changed after the client read it, but before the job was queued, is refused.
    client = sandbox.client(sandbox.bot["email"])
    stale, fresh = editable(sandbox, 2)
    read_at = sandbox.sb.ticket(stale)["updated_at"]
    sandbox.sb.agent_edit(stale)
    response = client.put(
        "/api/v2/tickets/update_many.json",
        params={"ids": str(stale)},
        json={"ticket": {"priority": "urgent", "updated_stamp": read_at}},
    )
    results = poll(client, response.json()["job_status"]["id"])[-1]["results"]
    assert results == [
        {
            "id": stale,
            "action": "update",
            "success": False,
            "error": "UpdateConflict",
            "details": "Safe Update prevented the update due to outdated ticket data. "
            "Please fetch the latest ticket data and try again.",
        }
    ]
    assert all(a["author_id"] != sandbox.bot["id"] for a in sandbox.sb.audits(stale))
    current = sandbox.sb.ticket(fresh)["updated_at"]
    ok = client.put(
        "/api/v2/tickets/update_many.json",
        params={"ids": str(fresh)},
        json={"ticket": {"additional_tags": ["stamped"], "updated_stamp": current}},
    )
    assert poll(client, ok.json()["job_status"]["id"])[-1]["results"][0]["success"] is True
    assert "stamped" in sandbox.sb.ticket(fresh)["tags"]


def test_more_than_100_is_400_too_many_values(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    bulk = client.put(
        "/api/v2/tickets/update_many.json",
        params={"ids": ",".join(map(str, range(1, 102)))},
        json={"ticket": {"status": "open"}},
    )
    assert bulk.status_code == 400
    assert bulk.json() == {
        "error": "TooManyValues",
        "description": "Parameter ids cannot specify more than 100 values",
        "max_count": 100,
    }
    batch = client.put(
        "/api/v2/tickets/update_many.json", json={"tickets": [{"id": i} for i in range(1, 102)]}
    )
    assert batch.status_code == 400 and batch.json()["error"] == "TooManyValues"
    neither = client.put("/api/v2/tickets/update_many.json", json={"status": "open"})
    assert neither.status_code == 400


def test_thirty_jobs_in_flight_then_too_many_jobs(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults="slowjobs:5")
    client = sandbox.client(sandbox.bot["email"])
    ticket = editable(sandbox, 1)[0]
    ids = []
    for _ in range(30):
        response = client.put(
            "/api/v2/tickets/update_many.json",
            params={"ids": str(ticket)},
            json={"ticket": {"additional_tags": ["x"]}},
        )
        assert response.status_code == 200
        ids.append(response.json()["job_status"]["id"])
    refused = client.put(
        "/api/v2/tickets/update_many.json",
        params={"ids": str(ticket)},
        json={"ticket": {"additional_tags": ["x"]}},
    )
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "TooManyJobs"
    assert body["current_job_ids"] == ids
    assert refused.headers["zendesk-ratelimit-inflight-jobs"] == "total=30; remaining=0; resets=60"
    assert refused.headers["retry-after"] == "60"


def test_jobfail_fault_fails_items_reproducibly(sandbox_factory: Any) -> None:
    outcomes = []
    for _ in range(2):
        sandbox = sandbox_factory(seed=7, faults="jobfail:0.5")
        client = sandbox.client(sandbox.bot["email"])
        ids = editable(sandbox, 10)
        response = client.put(
            "/api/v2/tickets/update_many.json",
            params={"ids": ",".join(map(str, ids))},
            json={"ticket": {"additional_tags": ["j"]}},
        )
        results = poll(client, response.json()["job_status"]["id"])[-1]["results"]
        failed = [r for r in results if not r["success"]]
        assert 0 < len(failed) < 10
        assert failed[0]["error"] == "TicketUpdateFailed" and failed[0]["details"]
        for result in results:
            assert ("j" in sandbox.sb.ticket(result["id"])["tags"]) == result["success"]
        outcomes.append([r["success"] for r in results])
    assert outcomes[0] == outcomes[1]


def test_job_statuses_list_is_cursor_paged_newest_first(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    empty = client.get("/api/v2/job_statuses.json")
    assert (empty.status_code, empty.json()) == (
        200,
        {
            "job_statuses": [],
            "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
            "links": {"prev": None, "next": None},
        },
    )
    ids = []
    for tag in ("one", "two", "three"):
        job = client.put(
            "/api/v2/tickets/update_many.json",
            params={"ids": "1"},
            json={"ticket": {"additional_tags": [tag]}},
        )
        ids.append(job.json()["job_status"]["id"])
    assert sandbox.sb.wait_for_jobs()
    first = client.get("/api/v2/job_statuses.json", params={"page[size]": 2}).json()
    assert [j["id"] for j in first["job_statuses"]] == [ids[2], ids[1]]
    assert all(j["status"] in ("completed", "failed") for j in first["job_statuses"])
    assert first["job_statuses"][0]["url"] == f"{sandbox.url}/api/v2/job_statuses/{ids[2]}.json"
    assert first["meta"]["has_more"] is True
    rest = client.get(first["links"]["next"]).json()
    assert [j["id"] for j in rest["job_statuses"]] == [ids[0]]
    assert rest["meta"]["has_more"] is False
    refused = sandbox.client(sandbox.end_user["email"]).get("/api/v2/job_statuses.json")
    assert refused.status_code == 403
