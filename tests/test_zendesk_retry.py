"""Retries: reads retried within a budget; writes never resent before looking."""

from __future__ import annotations

import httpx
import pytest
from test_zendesk_fakes import FakeTime, Scripted, body_of, make_client, ok, text, ticket

from runner.errors import (
    ZendeskCollisionError,
    ZendeskServerError,
    ZendeskTransportError,
)
from runner.zendesk import WriteOutcomeUnknown

T1 = "/api/v2/tickets/1.json"
STAMP = "2024-01-01T10:00:00Z"
LATER = "2024-01-01T10:05:00Z"


def test_get_retried_on_5xx_then_succeeds() -> None:
    script = Scripted().add("GET", T1, text(500, "oops"), text(502, "bad gateway"),
                            ok({"ticket": ticket(1)}))
    time = FakeTime()
    with make_client(script, time) as client:
        assert client.get_ticket(1)["id"] == 1
        assert client.stats.retries == 2
    assert len(time.sleeps) == 2 and time.sleeps[1] > 0


def test_get_5xx_budget_exhausted() -> None:
    script = Scripted().always("GET", T1, text(500, "internal"))
    with make_client(script, retries=2) as client, pytest.raises(ZendeskServerError) as caught:
        client.get_ticket(1)
    assert "gave up after 3 attempts" in str(caught.value)
    assert "internal" in str(caught.value) and caught.value.ticket_id == 1
    assert len(script.requests) == 3


def test_get_retried_after_dropped_connection() -> None:
    script = Scripted().add("GET", T1, httpx.RemoteProtocolError("server hung up"),
                            httpx.ReadTimeout("slow"), ok({"ticket": ticket(1)}))
    with make_client(script) as client:
        assert client.get_ticket(1)["id"] == 1


def test_transport_error_budget_exhausted() -> None:
    script = Scripted().always("GET", T1, httpx.ConnectError("refused"))
    with make_client(script, retries=1) as client, \
            pytest.raises(ZendeskTransportError) as caught:
        client.get_ticket(1)
    assert "ConnectError: refused" in str(caught.value)
    assert "gave up after 2 attempts" in str(caught.value)


def test_write_resent_when_connection_never_opened() -> None:
    script = Scripted().add("PUT", T1, httpx.ConnectError("refused"),
                            ok({"ticket": ticket(1, status="pending")}))
    with make_client(script) as client:
        client.update_ticket(1, {"status": "pending"}, updated_stamp=STAMP)
    assert len(script.calls("PUT", T1)) == 2 and not script.calls("GET", T1)


def test_lost_write_raises_outcome_unknown_from_request() -> None:
    script = Scripted().add("PUT", T1, text(500, "boom"))
    with make_client(script) as client, pytest.raises(WriteOutcomeUnknown) as caught:
        client.request("PUT", T1, json={"ticket": {"status": "open"}}, ticket_id=1)
    assert "may or may not have been applied" in str(caught.value)
    assert len(script.requests) == 1


def test_lost_put_not_applied_is_resent_after_reading() -> None:
    changes = {"status": "pending", "comment": {"body": "Hello", "public": False}}
    script = (Scripted()
              .add("PUT", T1, httpx.ReadTimeout("lost"), ok({"ticket": ticket(1, status="pending",
                                                                              updated_at=LATER)}))
              .add("GET", T1, ok({"ticket": ticket(1, updated_at=STAMP)})))
    with make_client(script) as client:
        result = client.update_ticket(1, changes, updated_stamp=STAMP)
    assert result["updated_at"] == LATER
    puts = script.calls("PUT", T1)
    assert len(puts) == 2
    assert body_of(puts[1])["ticket"]["updated_stamp"] == STAMP
    order = [(r.method, r.url.path) for r in script.requests]
    assert order == [("PUT", T1), ("GET", T1), ("PUT", T1)]


def test_lost_put_that_landed_is_not_resent() -> None:
    changes = {"status": "pending", "additional_tags": ["routed"],
               "comment": {"body": "Routed  by bot.", "public": False}}
    audits = {"audits": [
        {"id": 1, "author_id": 99, "created_at": "2023-12-01T00:00:00Z",
         "events": [{"type": "Comment", "body": "Routed by bot.", "public": False}]},
        {"id": 2, "author_id": 5, "created_at": LATER,
         "events": [{"type": "Comment", "body": "Routed by bot.", "plain_body": "Routed by bot.",
                     "public": False}]},
    ], "meta": {"has_more": False}}
    script = (Scripted()
              .add("PUT", T1, httpx.RemoteProtocolError("dropped"))
              .add("GET", T1, ok({"ticket": ticket(1, status="pending", tags=["routed", "x"],
                                                    updated_at=LATER)}))
              .add("GET", "/api/v2/users/me.json", ok({"user": {"id": 5}}))
              .add("GET", "/api/v2/tickets/1/audits.json", ok(audits)))
    with make_client(script) as client:
        result = client.update_ticket(1, changes, updated_stamp=STAMP)
    assert result["status"] == "pending"
    assert len(script.calls("PUT", T1)) == 1


def test_lost_put_with_someone_elses_edit_is_a_collision() -> None:
    changes = {"priority": "high"}
    script = (Scripted()
              .add("PUT", T1, text(502, "bad gateway"))
              .add("GET", T1, ok({"ticket": ticket(1, priority="low", updated_at=LATER)})))
    with make_client(script) as client, pytest.raises(ZendeskCollisionError) as caught:
        client.update_ticket(1, changes, updated_stamp=STAMP)
    assert caught.value.ticket_id == 1
    assert "someone else edited it" in str(caught.value)
    assert len(script.calls("PUT", T1)) == 1


def test_lost_comment_by_someone_else_is_not_ours() -> None:
    changes = {"comment": {"body": "Our note", "public": False}}
    audits = {"audits": [{"id": 2, "author_id": 77, "created_at": LATER, "events": [
        {"type": "Comment", "body": "Our note", "public": False}]}]}
    script = (Scripted()
              .add("PUT", T1, httpx.ReadTimeout("lost"))
              .add("GET", T1, ok({"ticket": ticket(1, updated_at=LATER)}))
              .add("GET", "/api/v2/users/me.json", ok({"user": {"id": 5}}))
              .add("GET", "/api/v2/tickets/1/audits.json", ok(audits)))
    with make_client(script) as client, pytest.raises(ZendeskCollisionError):
        client.update_ticket(1, changes, updated_stamp=STAMP)
    assert len(script.calls("PUT", T1)) == 1


def test_lost_put_keeps_failing_gives_up_with_the_cause() -> None:
    script = (Scripted().always("PUT", T1, text(500, "still broken"))
              .always("GET", T1, ok({"ticket": ticket(1, updated_at=STAMP)})))
    with make_client(script, retries=2) as client, pytest.raises(ZendeskServerError) as caught:
        client.update_ticket(1, {"status": "pending"}, updated_stamp=STAMP)
    assert "still broken" in str(caught.value)
    assert len(script.calls("PUT", T1)) == 3


def test_lost_comment_without_a_stamp_is_never_resent() -> None:
    # Without safe_update nothing stops a second copy, and the first may still be in flight
    # when the ticket is read (no audit of ours yet, someone else's edit on the ticket).
    changes = {"status": "pending", "comment": {"body": "Only once", "public": False}}
    script = (Scripted()
              .add("PUT", T1, httpx.ReadTimeout("lost"))
              .add("GET", T1, ok({"ticket": ticket(1, status="open", updated_at=LATER)}))
              .add("GET", "/api/v2/users/me.json", ok({"user": {"id": 5}}))
              .add("GET", "/api/v2/tickets/1/audits.json",
                   ok({"audits": [], "meta": {"has_more": False}})))
    with make_client(script) as client, pytest.raises(WriteOutcomeUnknown) as caught:
        client.update_ticket(1, changes, updated_stamp=None)
    assert "may or may not have been applied" in str(caught.value)
    assert len(script.calls("PUT", T1)) == 1


def test_lost_field_change_without_a_stamp_is_resent() -> None:
    changes = {"priority": "high"}  # landing twice leaves the same ticket
    script = (Scripted()
              .add("PUT", T1, httpx.ReadTimeout("lost"), ok({"ticket": ticket(1, priority="high")}))
              .add("GET", T1, ok({"ticket": ticket(1, priority="low")})))
    with make_client(script) as client:
        assert client.update_ticket(1, changes, updated_stamp=None)["priority"] == "high"
    assert len(script.calls("PUT", T1)) == 2
