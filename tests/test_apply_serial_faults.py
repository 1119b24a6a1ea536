"""Tickets applied one update at a time (a public reply and an internal note) when Zendesk fails.

update_many records a lost or failed write as that ticket's outcome and goes on; the serial path
must do the same: every planned ticket gets an outcome with Zendesk's message, nothing is sent
twice, and only an error that would fail every following ticket stops the run, leaving the rest
`not-attempted`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import pytest
from fixtures_sandbox import ServedSandbox
from test_apply_unit import make_plan, never_rechecked, open_ids, priority_change, reply_and_note

from runner.engine.apply import apply_plan
from runner.engine.report import ApplyReport
from runner.secrets import Secret
from runner.zendesk import Credentials, ZendeskClient

OOPS = {"error": "InternalServerError", "description": "Injected by the test."}

# (method, ticket id, the PUT's comment, or None for a read) -> an answer instead of Zendesk's
Fault = Callable[[str, int, dict[str, object] | None], httpx.Response | None]


class Faulty(httpx.BaseTransport):
    """The sandbox's own app, except for the requests on single tickets that `fault` answers."""

    def __init__(self, sandbox: ServedSandbox, fault: Fault) -> None:
        self.inner = httpx.WSGITransport(app=sandbox.sb.app)
        self.fault = fault
        self.puts: Counter[int] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removesuffix(".json")
        head, _, last = path.rpartition("/")
        if head == "/api/v2/tickets" and last.isdigit():
            comment = None
            if request.method == "PUT":
                self.puts[int(last)] += 1
                comment = json.loads(request.content)["ticket"].get("comment") or {}
            answer = self.fault(request.method, int(last), comment)
            if answer is not None:
                answer.request = request
                return answer
        return self.inner.handle_request(request)


def server_error() -> httpx.Response:
    return httpx.Response(500, json=OOPS)


@pytest.fixture
def client_for(sandbox: ServedSandbox) -> Iterator[Callable[[Fault], tuple[ZendeskClient, Faulty]]]:
    """client_for(fault) -> a client of the bot through a Faulty transport that never sleeps."""
    email = sandbox.bot["email"]
    made: list[ZendeskClient] = []

    def make(fault: Fault) -> tuple[ZendeskClient, Faulty]:
        transport = Faulty(sandbox, fault)
        client = ZendeskClient(sandbox.url, Credentials("oauth", email,
                                                        Secret(sandbox.credentials(email))),
                               transport=transport, sleep=lambda seconds: None, max_wait=60)
        made.append(client)
        return client, transport

    yield make
    for client in made:
        client.close()


def bodies(sandbox: ServedSandbox, ticket_id: int) -> Counter[str]:
    return Counter(c["body"] for c in sandbox.sb.comments(ticket_id))


def by_id(report: ApplyReport) -> dict[int, tuple[str, str | None, str | None]]:
    return {t.ticket_id: (t.outcome, t.error, t.message) for t in report.tickets}


def test_a_ticket_whose_writes_keep_failing_is_unknown_and_the_others_still_go(
    sandbox: ServedSandbox, client_for: Callable[[Fault], tuple[ZendeskClient, Faulty]]
) -> None:
    a, b, c = open_ids(sandbox, 3)
    client, transport = client_for(
        lambda method, ticket, _: server_error() if method == "PUT" and ticket == a else None)
    plan = make_plan(sandbox, [reply_and_note(sandbox, i) for i in (a, b, c)])
    report = apply_plan(plan, {"bot": client}, never_rechecked)
    outcome, error, message = by_id(report)[a]
    assert (outcome, error) == ("unknown", "OutcomeUnknown")
    assert message is not None and "Injected by the test." in message
    assert "not sent again" in message
    assert by_id(report)[b][0] == by_id(report)[c][0] == "applied"
    assert report.error is None and report.failed
    # resent only while a re-read showed the ticket untouched, never after that
    assert 1 < transport.puts[a] <= client.retry.retries + 1
    assert "Public reply." not in bodies(sandbox, a)
    assert bodies(sandbox, b)["Public reply."] == bodies(sandbox, b)["Note."] == 1


def test_a_note_failing_after_the_reply_landed_is_unknown_and_says_the_reply_is_there(
    sandbox: ServedSandbox, client_for: Callable[[Fault], tuple[ZendeskClient, Faulty]]
) -> None:
    a, b = open_ids(sandbox, 2)

    def notes_to_a_fail(method: str, ticket: int,
                        comment: dict[str, object] | None) -> httpx.Response | None:
        if method == "PUT" and ticket == a and comment and comment.get("public") is False:
            return server_error()
        return None

    client, _ = client_for(notes_to_a_fail)
    plan = make_plan(sandbox, [reply_and_note(sandbox, i) for i in (a, b)])
    report = apply_plan(plan, {"bot": client}, never_rechecked)
    outcome, error, message = by_id(report)[a]
    assert (outcome, error) == ("unknown", "PartiallyApplied")
    assert message is not None and "public reply was applied" in message
    assert "Injected by the test." in message
    assert by_id(report)[b][0] == "applied" and report.error is None
    assert bodies(sandbox, a)["Public reply."] == 1 and "Note." not in bodies(sandbox, a)


def test_a_read_failing_while_checking_a_lost_answer_stops_the_run_and_accounts_for_all(
    sandbox: ServedSandbox, client_for: Callable[[Fault], tuple[ZendeskClient, Faulty]]
) -> None:
    single, a, b = open_ids(sandbox, 3)
    # Zendesk is down for ticket a: its write fails, and so does every read meant to check it
    client, _ = client_for(lambda method, ticket, _: server_error() if ticket == a else None)
    plan = make_plan(sandbox, [priority_change(sandbox, single), reply_and_note(sandbox, a),
                               reply_and_note(sandbox, b)])
    report = apply_plan(plan, {"bot": client}, never_rechecked)
    outcomes = by_id(report)
    assert outcomes[single][0] == "applied"
    outcome, _, message = outcomes[a]
    assert outcome == "unknown" and message is not None and "GET" in message
    assert outcomes[b][:2] == ("not-attempted", None)
    assert report.error is not None and "Injected by the test." in report.error
    assert not report.interrupted and report.failed
    assert "Public reply." not in bodies(sandbox, b)


def test_a_refusal_of_the_read_that_checks_a_lost_answer_leaves_the_ticket_unknown(
    sandbox: ServedSandbox, client_for: Callable[[Fault], tuple[ZendeskClient, Faulty]]
) -> None:
    a, b = open_ids(sandbox, 2)
    refused = {"error": "Couldn't authenticate you"}

    def lost_then_refused(method: str, ticket: int, _: object) -> httpx.Response | None:
        if ticket != a:
            return None
        return server_error() if method == "PUT" else httpx.Response(401, json=refused)

    client, _ = client_for(lost_then_refused)
    plan = make_plan(sandbox, [reply_and_note(sandbox, a), reply_and_note(sandbox, b)])
    report = apply_plan(plan, {"bot": client}, never_rechecked)
    # Zendesk refused the read, not the change: whether the change landed is not known
    outcome, error, _ = by_id(report)[a]
    assert (outcome, error) == ("unknown", "OutcomeUnknown")
    assert by_id(report)[b][0] == "not-attempted" and report.error is not None


def test_a_rate_limit_past_the_budget_fails_the_ticket_and_stops_the_run(
    sandbox: ServedSandbox, client_for: Callable[[Fault], tuple[ZendeskClient, Faulty]]
) -> None:
    a, b = open_ids(sandbox, 2)
    limited = httpx.Response(429, text="Rate limit exceeded", headers={"Retry-After": "3600"})
    client, transport = client_for(
        lambda method, ticket, _: limited if method == "PUT" and ticket == a else None)
    plan = make_plan(sandbox, [reply_and_note(sandbox, a), reply_and_note(sandbox, b)])
    report = apply_plan(plan, {"bot": client}, never_rechecked)
    outcome, _, message = by_id(report)[a]
    assert outcome == "failed" and message is not None and "3600" in message
    assert by_id(report)[b][0] == "not-attempted"
    assert report.error is not None and transport.puts[b] == 0


@pytest.mark.parametrize("faults", ["lost:0.7,500:0.3", "drop:0.3,lost:0.5", "500:1"])
def test_sandbox_faults_on_serial_updates_never_double_a_comment_and_leave_no_ticket_out(
    sandbox: ServedSandbox, faults: str
) -> None:
    email = sandbox.bot["email"]
    ids = open_ids(sandbox, 8)
    changes = [reply_and_note(sandbox, i) for i in ids[:6]]
    changes += [priority_change(sandbox, i) for i in ids[6:]]
    before = {i: bodies(sandbox, i) for i in ids}
    with ZendeskClient(sandbox.url, Credentials("oauth", email, Secret(sandbox.credentials(email))),
                       sleep=lambda seconds: None) as client:
        client.me()  # who we are is known before Zendesk starts failing
        sandbox.sb.set_faults(faults)
        try:
            report = apply_plan(make_plan(sandbox, changes), {"bot": client}, never_rechecked)
        finally:
            sandbox.sb.set_faults(None)
    assert [t.ticket_id for t in report.tickets] == ids
    for ticket in report.tickets:
        assert ticket.outcome == "applied" or ticket.message, ticket
        added = bodies(sandbox, ticket.ticket_id) - before[ticket.ticket_id]
        assert all(n == 1 for n in added.values()), (ticket, added)
        if ticket.outcome == "applied" and ticket.ticket_id in ids[:6]:
            assert set(added) == {"Public reply.", "Note."}
        if ticket.outcome == "not-attempted":
            assert not added and report.error is not None
    assert report.failed == any(t.outcome in ("failed", "unknown") for t in report.tickets)
