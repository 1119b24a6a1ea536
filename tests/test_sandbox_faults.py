"""Every fault and limit, with the exact status, headers and body a client meets."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import httpx
import pytest
from fixtures_sandbox import ServedSandbox

from runner.sandbox import Faults, FaultSpecError, parse_faults


def raw_request(
    sandbox: ServedSandbox, method: str, path: str, body: Any = None, email: str | None = None
) -> http.client.HTTPResponse:
    host, port = sandbox.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    headers = {"Content-Type": "application/json"}
    if email:
        headers["Authorization"] = sandbox.auth_header(email)
    connection.request(
        method, path, body=json.dumps(body) if body is not None else None, headers=headers
    )
    return connection.getresponse()


def open_ticket(sandbox: ServedSandbox) -> int:
    return next(i for i in range(1, 201) if sandbox.sb.ticket(i)["status"] == "open")


def test_spec_parsing_round_trips_and_names_bad_items() -> None:
    spec = (
        "500:0.05,502:0.01,503:0.02,drop:0.02,lost:0.01,latency:50+-20,slowjobs:2,jobfail:0.1,"
        "agent:0.5"
    )
    faults = parse_faults(spec)
    assert faults == Faults(
        error_500=0.05,
        error_502=0.01,
        error_503=0.02,
        drop=0.02,
        lost=0.01,
        latency_ms=50,
        jitter_ms=20,
        slow_jobs_s=2,
        job_fail=0.1,
        agent=0.5,
    )
    assert parse_faults(faults.spec()) == faults
    for bad, words in (
        ("boom:0.1", "unknown fault 'boom'"),
        ("500", "has no value"),
        ("500:x", "is not a number"),
        ("drop:1.5", "between 0 and 1"),
        ("latency:10+-20", "jitter"),
        ("latency:10+-", "'' is not a number"),
        ("slowjobs:inf", "must be a finite number"),
        ("latency:inf", "must be a finite number"),
        ("jobfail:nan", "must be a finite number"),
        ("500:-0.1", "must be a finite number"),
    ):
        with pytest.raises(FaultSpecError, match=words):
            parse_faults(bad)


def test_injected_500_502_503(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults="500:1")
    client = sandbox.client(sandbox.bot["email"])
    response = client.get("/api/v2/tickets/1.json")
    assert response.status_code == 500
    assert response.json() == {
        "error": "InternalServerError",
        "description": "Something went wrong. Please try again.",
    }
    sandbox.sb.set_faults("502:1")
    response = client.get("/api/v2/tickets/1.json")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    sandbox.sb.set_faults("503:1")
    response = client.get("/api/v2/tickets/1.json")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"].startswith("text/plain")
    sandbox.sb.set_faults(None)
    assert client.get("/api/v2/tickets/1.json").status_code == 200
    assert sandbox.sb.stats()["faults"] == {"500": 1, "502": 1, "503": 1}


def test_dropped_connection_does_nothing(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults="drop:1")
    ticket_id = open_ticket(sandbox)
    before = sandbox.sb.ticket(ticket_id)
    with pytest.raises(http.client.RemoteDisconnected):
        raw_request(
            sandbox,
            "PUT",
            f"/api/v2/tickets/{ticket_id}.json",
            {"ticket": {"comment": {"body": "x", "public": False}}},
            sandbox.bot["email"],
        )
    assert sandbox.sb.ticket(ticket_id) == before
    assert sandbox.sb.stats()["faults"] == {"drop": 1}


def test_lost_response_applies_the_write_then_drops(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults="lost:1")
    ticket_id = open_ticket(sandbox)
    client = sandbox.client(sandbox.bot["email"])
    assert client.get(f"/api/v2/tickets/{ticket_id}.json").status_code == 200  # reads survive
    body = {"ticket": {"comment": {"body": "only once, please", "public": False}}}
    for _ in range(2):  # a naive client retries the "failed" write ...
        with pytest.raises(httpx.RemoteProtocolError):
            client.put(f"/api/v2/tickets/{ticket_id}.json", json=body)
    # ... and the comment is there twice: what the lost fault exists to expose.
    bodies = [c["body"] for c in sandbox.sb.comments(ticket_id)]
    assert bodies.count("only once, please") == 2
    stats = sandbox.sb.stats()
    assert stats["repeated_writes"] == 1 and stats["faults"] == {"lost": 2}


def test_latency_with_jitter_stays_in_its_band(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults="latency:60+-20")
    client = sandbox.client(sandbox.bot["email"])
    client.get("/api/v2/users/me.json")  # connect first, so only the latency is timed
    started = time.perf_counter()
    client.get("/api/v2/users/me.json")
    assert time.perf_counter() - started >= 0.040


def test_faults_replay_with_the_same_seed(sandbox_factory: Any) -> None:
    runs = []
    for _ in range(2):
        sandbox = sandbox_factory(seed=3, faults="500:0.3,503:0.2")
        client = sandbox.client(sandbox.bot["email"])
        runs.append([client.get("/api/v2/tickets/1.json").status_code for _ in range(30)])
    assert runs[0] == runs[1]
    assert {200, 500, 503} <= set(runs[0])


def test_background_agent_edits_tickets_clients_read(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults="agent:1")
    client = sandbox.client(sandbox.bot["email"])
    ticket_id = open_ticket(sandbox)
    read = client.get(f"/api/v2/tickets/{ticket_id}.json").json()["ticket"]
    stale = client.put(
        f"/api/v2/tickets/{ticket_id}.json",
        json={
            "ticket": {
                "priority": "urgent",
                "safe_update": True,
                "updated_stamp": read["updated_at"],
            }
        },
    )
    assert stale.status_code == 409
    assert sandbox.sb.audits(ticket_id)[-1]["author_id"] == sandbox.agent["id"]
    assert sandbox.sb.stats()["faults"]["agent"] >= 1


def test_account_rate_limit_headers_and_429(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(rate_limit=3)
    client = sandbox.client(sandbox.bot["email"])
    first = client.get("/api/v2/users/me.json")
    assert first.headers["x-rate-limit"] == "3"
    assert first.headers["x-rate-limit-remaining"] == "2"
    assert first.headers["ratelimit-limit"] == "3"
    assert first.headers["ratelimit-remaining"] == "2"
    assert 0 < int(first.headers["ratelimit-reset"]) <= 60
    client.get("/api/v2/users/me.json")
    client.get("/api/v2/users/me.json")
    refused = client.get("/api/v2/users/me.json")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused.text == "Number of allowed API requests per minute exceeded"
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"


def test_rate_limit_headers_on_every_answer_without_an_emulated_limit(
    sandbox: ServedSandbox,
) -> None:
    """Zendesk reports its limit on every answer; unset, the sandbox reports one never reached."""
    bot = sandbox.client(sandbox.bot["email"])
    answers = [
        bot.get("/api/v2/users/me.json"),  # 200
        sandbox.client().get("/api/v2/tickets/1.json"),  # 401
        sandbox.client(sandbox.end_user["email"]).get("/api/v2/tickets/1.json"),  # 403
        bot.get("/api/v2/widgets.json"),  # 404 InvalidEndpoint
    ]
    assert [a.status_code for a in answers] == [200, 401, 403, 404]
    for count, answer in enumerate(answers, start=1):
        assert answer.headers["x-rate-limit"] == "1000000"
        assert answer.headers["x-rate-limit-remaining"] == str(1_000_000 - count)
        assert answer.headers["ratelimit-limit"] == "1000000"
        assert answer.headers["ratelimit-remaining"] == str(1_000_000 - count)
        assert 0 < int(answer.headers["ratelimit-reset"]) <= 60


def test_an_unemulated_limit_is_reported_but_never_enforced(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(plan_limit=2)
    client = sandbox.client(sandbox.bot["email"])
    answers = [client.get("/api/v2/users/me.json") for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["1", "0", "0", "0"]
    assert {a.headers["x-rate-limit"] for a in answers} == {"2"}
    assert "retry-after" not in answers[-1].headers


def test_per_ticket_update_limit(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(ticket_update_limit=2)
    client = sandbox.client(sandbox.bot["email"])
    ticket_id = open_ticket(sandbox)
    path = f"/api/v2/tickets/{ticket_id}.json"
    first = client.put(path, json={"ticket": {"additional_tags": ["one"]}})
    assert (
        first.headers["zendesk-ratelimit-per-ticket-updates"] == "total=2; remaining=1; resets=600"
    )
    client.put(path, json={"ticket": {"additional_tags": ["two"]}})
    refused = client.put(path, json={"ticket": {"additional_tags": ["three"]}})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused.headers["zendesk-ratelimit-per-ticket-updates"].startswith(
        "total=2; remaining=0; resets="
    )
    assert int(refused.headers["retry-after"]) > 0
    assert "three" not in sandbox.sb.ticket(ticket_id)["tags"]
    other = client.put(
        f"/api/v2/tickets/{ticket_id + 1}.json", json={"ticket": {"additional_tags": ["x"]}}
    )
    assert other.status_code in (200, 422)  # another ticket has its own budget


def test_stats_endpoint_counts_requests_by_endpoint(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    client.get("/api/v2/tickets/1.json")
    client.get("/api/v2/tickets/2")
    client.get("/api/v2/tickets/999999.json")
    stats = httpx.get(f"{sandbox.url}/_sandbox/stats").json()
    assert stats["by_endpoint"]["GET /api/v2/tickets/{id}"] == {
        "total": 3,
        "by_status": {"200": 2, "404": 1},
    }
    assert stats["requests"] == 3
    httpx.post(f"{sandbox.url}/_sandbox/stats/reset")
    assert sandbox.sb.stats()["requests"] == 0
