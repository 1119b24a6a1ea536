"""The client against the sandbox: every failure path, in process and over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from test_zendesk_fakes import FakeTime

from runner.errors import (
    ZendeskAuthError,
    ZendeskCollisionError,
    ZendeskForbiddenError,
    ZendeskInvalidError,
    ZendeskRateLimitError,
)
from runner.sandbox import Sandbox, serve
from runner.secrets import Secret
from runner.zendesk import (
    Credentials,
    Directory,
    RetryPolicy,
    TicketUpdate,
    ZendeskClient,
)

ORIGIN = "http://127.0.0.1"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox(tickets=120, seed=4)
    yield sandbox
    sandbox.close()


def client_for(sandbox: Sandbox, user: dict[str, Any], kind: str = "oauth", *,
               key: str | None = None, transport: httpx.BaseTransport | None = None,
               url: str = ORIGIN, **kwargs: Any) -> ZendeskClient:
    secret = Secret(key if key is not None else sandbox.credentials(user["email"], kind))
    time = kwargs.pop("time", None) or FakeTime()
    if isinstance(time, FakeTime):
        # The fake clock leaps ahead at each sleep while the sandbox's job thread runs in real
        # time: a job budget on it would trip on jobs that do finish.
        kwargs.setdefault("job_wait", float("inf"))
    return ZendeskClient(
        url, Credentials(kind, user["email"], secret),  # type: ignore[arg-type]
        transport=transport if transport is not None or url != ORIGIN
        else httpx.WSGITransport(app=sandbox.app),
        sleep=time.sleep, clock=time.clock, **kwargs)


def open_tickets(client: ZendeskClient, count: int) -> list[dict[str, Any]]:
    found = []
    for ticket in client.search_export("status<solved", page_size=50):
        found.append(ticket)
        if len(found) == count:
            break
    return found


class StripAuth(httpx.BaseTransport):
    """A proxy that drops the Authorization header: Zendesk then answers anonymously."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        del request.headers["Authorization"]
        return self.inner.handle_request(request)


@pytest.mark.parametrize("kind", ["oauth", "api_token"])
def test_me_per_kind(sb: Sandbox, kind: str) -> None:
    with client_for(sb, sb.bot, kind) as client:
        me = client.me()
    assert me["email"] == sb.bot["email"] and me["id"] == sb.bot["id"]


def test_401_wrong_key(sb: Sandbox) -> None:
    with client_for(sb, sb.bot, key="not-the-key") as client, \
            pytest.raises(ZendeskAuthError) as caught:
        client.get_ticket(1)
    assert "zdops tokens verify" in str(caught.value) and "not-the-key" not in str(caught.value)


def test_401_api_token_with_unknown_email(sb: Sandbox) -> None:
    key = sb.credentials(sb.bot["email"], "api_token")
    user = {"email": "nobody@example.com"}
    with client_for(sb, user, "api_token", key=key) as client, \
            pytest.raises(ZendeskAuthError, match="authenticate"):
        client.me()


def test_anonymous_answer_has_no_id(sb: Sandbox) -> None:
    transport = StripAuth(httpx.WSGITransport(app=sb.app))
    with client_for(sb, sb.bot, transport=transport) as client:
        assert client.me()["id"] is None
        assert client.me_id() is None


def test_403_end_user_cannot_update(sb: Sandbox) -> None:
    with client_for(sb, sb.end_user) as client, pytest.raises(ZendeskForbiddenError) as caught:
        client.update_ticket(1, {"priority": "high"}, updated_stamp=None)
    assert caught.value.status == 403 and "role" in str(caught.value)


def test_update_then_409_collision(sb: Sandbox) -> None:
    with client_for(sb, sb.bot) as client:
        ticket = open_tickets(client, 1)[0]
        stamp = ticket["updated_at"]
        sb.agent_edit(ticket["id"])
        with pytest.raises(ZendeskCollisionError) as caught:
            client.update_ticket(ticket["id"], {"comment": {"body": "late", "public": False}},
                                 updated_stamp=stamp)
    assert caught.value.ticket_id == ticket["id"]
    assert all(c.get("body") != "late" for c in sb.comments(ticket["id"]))


def test_closed_ticket_is_invalid(sb: Sandbox) -> None:
    with client_for(sb, sb.bot) as client:
        closed = next(client.search_export("status:closed"))
        with pytest.raises(ZendeskInvalidError) as caught:
            client.update_ticket(closed["id"], {"status": "open"},
                                 updated_stamp=closed["updated_at"])
    assert "closed prevents ticket update" in str(caught.value)
    assert "Closed tickets cannot be updated" in str(caught.value)


def test_search_export_matches_count_past_1000() -> None:
    sandbox = Sandbox(tickets=1500, seed=2)
    try:
        with client_for(sandbox, sandbox.bot) as client:
            count = client.search_count("status<closed")
            ids = [t["id"] for t in client.search_export("type:ticket status<closed",
                                                         page_size=400)]
    finally:
        sandbox.close()
    assert count > 1000 and len(ids) == count == len(set(ids))


def test_update_many_results_and_audit_author(sb: Sandbox) -> None:
    with client_for(sb, sb.bot) as client:
        tickets = open_tickets(client, 30)
        updates = [TicketUpdate(t["id"], {"additional_tags": ["bulk-tested"]})
                   for t in tickets[:20]]
        updates += [TicketUpdate(t["id"], {"priority": "urgent"}, t["updated_at"])
                    for t in tickets[20:]]
        results = list(client.update_many(updates))
    assert sorted(r.ticket_id for r in results) == sorted(t["id"] for t in tickets)
    assert all(r.success for r in results), [r for r in results if not r.success]
    for t in tickets[:20]:
        assert "bulk-tested" in sb.ticket(t["id"])["tags"]
    for t in tickets[20:]:
        assert sb.ticket(t["id"])["priority"] == "urgent"
        assert sb.audits(t["id"])[-1]["author_id"] == sb.bot["id"]


def test_job_item_failures_are_reported() -> None:
    sandbox = Sandbox(tickets=80, seed=5, faults="jobfail:0.5")
    try:
        with client_for(sandbox, sandbox.bot) as client:
            tickets = [t for t in open_tickets(client, 40) if t["priority"] != "low"]
            results = list(client.update_many(
                [TicketUpdate(t["id"], {"priority": "low"}, t["updated_at"]) for t in tickets]))
    finally:
        sandbox.close()
    failed = [r for r in results if not r.success]
    assert len(tickets) >= 10 and len(results) == len(tickets)
    assert 0 < len(failed) < len(results)
    assert all(r.error and r.job_id for r in failed)
    for result in results:
        assert (sandbox.ticket(result.ticket_id)["priority"] == "low") == result.success


def test_directory_against_sandbox(sb: Sandbox) -> None:
    with client_for(sb, sb.bot) as client:
        directory = Directory(client)
        group = sb.groups[0]
        assert directory.group_id(group["name"].upper()) == group["id"]
        assert directory.user_id(sb.agent["email"]) == sb.agent["id"]
        field = sb.ticket_fields[0]
        assert directory.ticket_field(field["title"])["id"] == field["id"]


# ---- over real HTTP: dropped connections, lost answers, 5xx, rate limits -------------------


def test_lost_and_dropped_answers_never_double_a_comment() -> None:
    sandbox = Sandbox(tickets=60, seed=6)
    try:
        with serve(sandbox) as server, client_for(
                sandbox, sandbox.bot, url=server.url,
                retry=RetryPolicy(retries=8, backoff_base=0.01)) as client:
            tickets = open_tickets(client, 15)
            sandbox.set_faults("500:0.1,drop:0.1,lost:0.3")
            outcomes = {}
            for ticket in tickets:
                body = f"checked by the bot, ticket {ticket['id']}"
                try:
                    client.update_ticket(ticket["id"], {"comment": {"body": body,
                                                                    "public": False}},
                                         updated_stamp=ticket["updated_at"])
                    outcomes[ticket["id"]] = True
                except ZendeskCollisionError:
                    outcomes[ticket["id"]] = False
            sandbox.set_faults(None)
            faults = sandbox.stats()["faults"]
            assert faults.get("lost", 0) > 0 and faults.get("drop", 0) > 0, faults
    finally:
        sandbox.close()
    for ticket_id, applied in outcomes.items():
        bodies = [c.get("body") for c in sandbox.comments(ticket_id)]
        mine = [b for b in bodies if b and b.startswith("checked by the bot")]
        assert len(mine) == (1 if applied else 0), (ticket_id, mine)
    assert sum(outcomes.values()) == len(outcomes)


def test_reads_survive_5xx_and_drops() -> None:
    sandbox = Sandbox(tickets=40, seed=7, faults="500:0.2,502:0.1,drop:0.1")
    try:
        with serve(sandbox) as server, client_for(
                sandbox, sandbox.bot, url=server.url, retry=RetryPolicy(retries=10)) as client:
            tickets = [client.get_ticket(i) for i in range(1, 41)]
            assert client.stats.retries > 0
    finally:
        sandbox.close()
    assert [t["id"] for t in tickets] == list(range(1, 41))


def test_rate_limit_paced_then_stopped_by_budget() -> None:
    sandbox = Sandbox(tickets=10, seed=8, rate_limit=5)
    try:
        with serve(sandbox) as server, client_for(
                sandbox, sandbox.bot, url=server.url, max_wait=90) as client:
            for _ in range(5):
                client.me()
            assert client.stats.paced > 0 and client.stats.rate_limited == 0
            with pytest.raises(ZendeskRateLimitError) as caught:
                client.me()
            assert client.stats.rate_limited == 1
    finally:
        sandbox.close()
    assert "Number of allowed API requests per minute exceeded" in str(caught.value)
    assert "budget is 90s" in str(caught.value)


def test_update_many_with_lost_answers_never_doubles_a_comment() -> None:
    sandbox = Sandbox(tickets=80, seed=9)
    try:
        with serve(sandbox) as server, client_for(
                sandbox, sandbox.bot, url=server.url,
                retry=RetryPolicy(retries=8, backoff_base=0.01)) as client:
            tickets = open_tickets(client, 24)
            updates = [TicketUpdate(t["id"], {"comment": {"body": f"bulk note {t['id']}",
                                                          "public": False}}, t["updated_at"])
                       for t in tickets]
            sandbox.set_faults("lost:0.5")
            results = {r.ticket_id: r for r in client.update_many(updates)}
            sandbox.set_faults(None)
        assert sandbox.stats()["faults"].get("lost", 0) > 0
    finally:
        sandbox.close()
    assert set(results) == {t["id"] for t in tickets}
    for ticket_id, result in results.items():
        mine = [c for c in sandbox.comments(ticket_id)
                if str(c.get("body", "")).startswith("bulk note")]
        # A lost answer means the job was queued and may have run: the client may not know
        # the outcome, but it must never send the comment a second time.
        assert len(mine) <= 1, (ticket_id, result, mine)
        if result.success:
            assert len(mine) == 1, (ticket_id, result, mine)
        elif result.error != "OutcomeUnknown":
            assert not mine, (ticket_id, result, mine)


def test_key_never_reaches_logs_or_errors(sb: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    key = sb.credentials(sb.bot["email"], "api_token")
    seen: list[str] = []
    caplog.set_level("DEBUG")
    with client_for(sb, sb.bot, "api_token", key=key) as client:
        seen += [repr(client), str(client.stats.as_dict())]
        for call in (lambda: client.get_ticket(10**9),
                     lambda: client.update_ticket(1, {"status": "new"}, updated_stamp="x"),
                     lambda: client.request("GET", httpx.URL("https://elsewhere.example/"))):
            try:
                call()
            except Exception as error:  # every failure's text is checked for the key
                seen += [str(error), repr(error), repr(error.args), repr(vars(error))]
    seen += [record.getMessage() for record in caplog.records]
    assert len(seen) > 5
    assert not [text for text in seen if key in text]
