"""Rate-limit headers, pacing, 429/503 handling and the waiting budget."""

from __future__ import annotations

import httpx
import pytest
from test_zendesk_fakes import FakeTime, Scripted, make_client, ok, text

from runner.errors import ZendeskRateLimitError
from runner.zendesk import Pacer, parse_rate_limits
from runner.zendesk.ratelimit import parse_retry_after

ME = "/api/v2/users/me.json"
LIMIT_BODY = "Number of allowed API requests per minute exceeded"


def test_account_headers_modern_spelling() -> None:
    buckets = parse_rate_limits(httpx.Headers({"RateLimit-Limit": "700",
                                               "ratelimit-remaining": "699",
                                               "RATELIMIT-RESET": "41"}))
    account = buckets["account"]
    assert (account.total, account.remaining, account.resets) == (700, 699, 41.0)


def test_account_headers_x_spelling() -> None:
    buckets = parse_rate_limits({"X-Rate-Limit": "400", "X-Rate-Limit-Remaining": "12"})
    assert (buckets["account"].total, buckets["account"].remaining) == (400, 12)
    assert buckets["account"].resets is None


def test_endpoint_headers_both_spellings() -> None:
    buckets = parse_rate_limits({
        "Zendesk-RateLimit-tickets-index": "total=100; remaining=99; resets=41",
        "zendesk-rate-limit-tickets-update": "total=20;remaining=19;resets=59",
    })
    assert buckets["tickets-index"].remaining == 99
    update = buckets["tickets-update"]
    assert (update.total, update.remaining, update.resets) == (20, 19, 59.0)


def test_garbage_headers_are_ignored() -> None:
    assert parse_rate_limits({"ratelimit-limit": "lots", "zendesk-ratelimit-x": "nope"}) == {}


def test_retry_after_seconds_and_date() -> None:
    assert parse_retry_after({"Retry-After": "93"}, 0) == 93.0
    when = parse_retry_after({"retry-after": "Thu, 01 Jan 1970 00:01:40 GMT"}, 40.0)
    assert when == pytest.approx(60.0)
    assert parse_retry_after({}, 0) is None


def test_pacer_runs_free_with_plenty_left() -> None:
    pacer = Pacer()
    pacer.observe("GET /x", {"ratelimit-limit": "100", "ratelimit-remaining": "60",
                             "ratelimit-reset": "30"}, now=0)
    assert pacer.delay("GET /x", now=0) == 0


def test_pacer_spreads_when_low_and_stops_at_reserve() -> None:
    pacer = Pacer()
    pacer.observe("GET /x", {"ratelimit-limit": "100", "ratelimit-remaining": "11",
                             "ratelimit-reset": "30"}, now=0)
    # 11 left, 2 held back: the 9 spendable ones spread over the 30 s left, more or less.
    assert pacer.delay("GET /y", now=0) == pytest.approx(30 / 10)
    pacer.observe("GET /x", {"ratelimit-limit": "100", "ratelimit-remaining": "2",
                             "ratelimit-reset": "20"}, now=10)
    assert pacer.delay("GET /x", now=10) == pytest.approx(20)
    assert pacer.delay("GET /x", now=31) == 0  # the window has reset


def test_endpoint_bucket_paces_only_its_endpoint() -> None:
    pacer = Pacer()
    pacer.observe("GET /api/v2/incremental", {
        "zendesk-ratelimit-incremental-exports": "total=10; remaining=1; resets=50",
        "zendesk-ratelimit-per-ticket-updates": "total=30; remaining=0; resets=400"}, now=0)
    assert pacer.delay("GET /api/v2/incremental", now=0) == 50
    assert pacer.delay("GET /api/v2/tickets", now=0) == 0


def test_client_paces_before_the_limit() -> None:
    headers = {"ratelimit-limit": "100", "ratelimit-remaining": "1", "ratelimit-reset": "12"}
    script = Scripted().always("GET", ME, ok({"user": {"id": 1}}, headers=headers))
    time = FakeTime()
    with make_client(script, time) as client:
        client.me()
        client.me()
        assert time.sleeps == [12]
        assert client.stats.paced == 12 and client.stats.rate_limited == 0


def test_429_with_retry_after_is_waited_out() -> None:
    script = Scripted().add("GET", ME, text(429, LIMIT_BODY, {"Retry-After": "7"}),
                            ok({"user": {"id": 1}}))
    time = FakeTime()
    with make_client(script, time) as client:
        assert client.me()["id"] == 1
        assert len(time.sleeps) == 1 and 7 <= time.sleeps[0] <= 7 + 1.2
        assert (client.stats.rate_limited, client.stats.retries) == (1, 1)
        assert client.stats.calls["GET /api/v2/users/me"] == 2


def test_429_without_retry_after_backs_off() -> None:
    script = Scripted().add("GET", ME, text(429, LIMIT_BODY), text(429, LIMIT_BODY),
                            ok({"user": {"id": 1}}))
    time = FakeTime()
    with make_client(script, time) as client:
        client.me()
    assert len(time.sleeps) == 2 and all(s >= 10 for s in time.sleeps)


def test_429_on_a_write_is_resent() -> None:
    script = Scripted().add("PUT", "/api/v2/tickets/3.json",
                            text(429, LIMIT_BODY, {"Retry-After": "1"}),
                            ok({"ticket": {"id": 3, "status": "pending"}}))
    with make_client(script) as client:
        assert client.update_ticket(3, {"status": "pending"}, updated_stamp=None)["id"] == 3
    assert len(script.requests) == 2


def test_503_with_retry_after_is_waited_out() -> None:
    script = Scripted().add("GET", ME, text(503, "maintenance", {"Retry-After": "3"}),
                            ok({"user": {"id": 1}}))
    time = FakeTime()
    with make_client(script, time) as client:
        client.me()
    assert 3 <= time.sleeps[0] < 4.5


def test_429_storm_stops_at_the_budget() -> None:
    script = Scripted().always("GET", ME, text(429, LIMIT_BODY, {"Retry-After": "30"}))
    time = FakeTime()
    with make_client(script, time, max_wait=100) as client, \
            pytest.raises(ZendeskRateLimitError) as caught:
        client.me()
    message = str(caught.value)
    assert LIMIT_BODY in message and "budget is 100s" in message
    assert "rate limit" in message
    assert sum(time.sleeps) <= 100
    assert len(script.requests) == 1 + len(time.sleeps)


def test_client_reaches_a_fixed_window_limit_without_429s() -> None:
    """A 100/min account window on the fake clock: 450 calls take 4+ windows and no 429."""
    time = FakeTime()
    window = {"start": time.now, "count": 0}

    def account(request: httpx.Request) -> httpx.Response:
        if time.now - window["start"] >= 60:
            window.update(start=time.now, count=0)
        reset = str(max(1, int(window["start"] + 60 - time.now + 0.999)))
        if window["count"] >= 100:
            return text(429, LIMIT_BODY, {"Retry-After": reset})
        window["count"] += 1
        time.now += 0.01  # each call takes 10 ms
        return ok({"user": {"id": 1}}, headers={
            "ratelimit-limit": "100", "ratelimit-remaining": str(100 - window["count"]),
            "ratelimit-reset": reset})

    script = Scripted().always("GET", ME, account)
    started = time.now
    with make_client(script, time) as client:
        for _ in range(450):
            client.me()
        assert client.stats.rate_limited == 0
    minutes = (time.now - started) / 60
    assert 4 <= minutes < 5.2  # ~100 per minute: the limit is used, not exceeded


def test_retry_after_beyond_the_budget_fails_at_once_and_says_why() -> None:
    script = Scripted().always("GET", ME, text(429, LIMIT_BODY, {"Retry-After": "3600"}))
    time = FakeTime()
    with make_client(script, time, max_wait=100) as client, \
            pytest.raises(ZendeskRateLimitError) as caught:
        client.me()
    assert "Zendesk asks for 3600s more; the budget is 100s" in str(caught.value)
    assert time.sleeps == [] and len(script.requests) == 1
