"""The applier on plans built by hand, against the served sandbox; the report as data and file."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fixtures_sandbox import ServedSandbox

from runner.engine.apply import StopFlag, Verdict, apply_plan
from runner.engine.interrupts import stop_on_signals
from runner.engine.plan import CommentChange, FieldChange, Identity, Plan, TicketChange
from runner.engine.report import ApplyReport, TicketOutcome, write_report
from runner.secrets import Secret
from runner.zendesk import Credentials, ZendeskClient


def never_rechecked(change: TicketChange, ticket: object) -> Verdict:
    raise AssertionError(f"ticket #{change.ticket_id} should not have collided")


@pytest.fixture
def slow_sandbox(sandbox_factory: Callable[..., ServedSandbox]) -> ServedSandbox:
    return sandbox_factory(tickets=40, faults="slowjobs:5")


@pytest.fixture
def bot_client(slow_sandbox: ServedSandbox) -> Iterator[ZendeskClient]:
    email = slow_sandbox.bot["email"]
    key = Secret(slow_sandbox.credentials(email))
    with ZendeskClient(slow_sandbox.url, Credentials("oauth", email, key)) as client:
        yield client


def open_ids(served: ServedSandbox, count: int) -> list[int]:
    ids = [i for i in range(1, served.sb.ticket_count + 1)
           if served.sb.ticket(i)["status"] not in ("closed", "solved")]
    assert len(ids) >= count
    return ids[:count]


def priority_change(served: ServedSandbox, ticket_id: int) -> TicketChange:
    ticket = served.sb.ticket(ticket_id)
    after = "low" if ticket["priority"] == "urgent" else "urgent"
    return TicketChange(
        ticket_id=ticket_id, subject=ticket["subject"], updated_at=ticket["updated_at"],
        token="bot", rules=("r",),
        fields=(FieldChange("priority", ticket["priority"], after, "r"),),
    )


def reply_and_note(served: ServedSandbox, ticket_id: int) -> TicketChange:
    ticket = served.sb.ticket(ticket_id)
    return TicketChange(
        ticket_id=ticket_id, subject=ticket["subject"], updated_at=ticket["updated_at"],
        token="bot", rules=("r",),
        comments=(CommentChange("Public reply.", True, "r"), CommentChange("Note.", False, "r")),
    )


def make_plan(served: ServedSandbox, changes: list[TicketChange]) -> Plan:
    bot = served.bot
    return Plan.create(
        created_at="2026-01-15T12:00:00Z", zendesk_url=served.url,
        identity=Identity("bot", bot["name"], bot["email"], bot["role"], True),
        config_digest="sha256:test", rules=(), changes=tuple(changes),
    )


def test_abandoning_jobs_in_flight_marks_them_unknown_and_sends_nothing_new(
    slow_sandbox: ServedSandbox, bot_client: ZendeskClient
) -> None:
    ids = open_ids(slow_sandbox, 6)
    singles = [priority_change(slow_sandbox, i) for i in ids[:5]]
    double = reply_and_note(slow_sandbox, ids[5])
    plan = make_plan(slow_sandbox, [*singles, double])

    def terminate_once_submitted() -> None:
        deadline = time.monotonic() + 10
        while not slow_sandbox.sb.jobs.in_flight() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    stop = StopFlag()
    killer = threading.Thread(target=terminate_once_submitted)
    with stop_on_signals(stop, 0.3):
        killer.start()
        report = apply_plan(plan, {"bot": bot_client}, never_rechecked, stop=stop)
    killer.join()
    assert report.interrupted and stop.reason == "SIGTERM"
    assert report.error is not None and "SIGTERM" in report.error
    assert [t.outcome for t in report.tickets] == ["unknown"] * 5 + ["not-attempted"]
    assert report.failed  # an unknown outcome is not a success
    comments = [c["body"] for c in slow_sandbox.sb.comments(ids[5])]
    assert "Public reply." not in comments and "Note." not in comments


class RefusesSecondBulk(httpx.BaseTransport):
    """The sandbox's app, except that the second update_many is refused (401): a dead key."""

    def __init__(self, served: ServedSandbox) -> None:
        self.inner = httpx.WSGITransport(app=served.sb.app)
        self.bulk = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and request.url.path.startswith("/api/v2/tickets/update_many"):
            self.bulk += 1
            if self.bulk == 2:
                return httpx.Response(401, json={"error": "Couldn't authenticate you"},
                                      request=request)
        return self.inner.handle_request(request)


def test_a_batch_refused_before_it_was_queued_is_not_attempted_not_unknown(
    sandbox_factory: Callable[..., ServedSandbox],
) -> None:
    served = sandbox_factory(tickets=400, faults="slowjobs:5")
    ids = open_ids(served, 150)  # two batches of one wave: 100, then 50
    plan = make_plan(served, [priority_change(served, i) for i in ids])
    email = served.bot["email"]
    with ZendeskClient(served.url, Credentials("oauth", email, Secret(served.credentials(email))),
                       transport=RefusesSecondBulk(served)) as client:
        report = apply_plan(plan, {"bot": client}, never_rechecked)
    assert report.error is not None and "401" in report.error
    outcomes = [t.outcome for t in report.tickets]
    # the first batch was queued (it may land: unknown); the refused one never was
    assert outcomes == ["unknown"] * 100 + ["not-attempted"] * 50, set(outcomes)


def test_a_stop_before_the_first_submission_sends_nothing(
    slow_sandbox: ServedSandbox, bot_client: ZendeskClient
) -> None:
    ids = open_ids(slow_sandbox, 3)
    plan = make_plan(slow_sandbox, [priority_change(slow_sandbox, i) for i in ids])
    stop = StopFlag()
    stop.set("SIGINT")
    slow_sandbox.sb.reset_stats()
    report = apply_plan(plan, {"bot": bot_client}, never_rechecked, stop=stop)
    assert [t.outcome for t in report.tickets] == ["not-attempted"] * 3
    assert report.interrupted and not report.failed
    assert slow_sandbox.sb.stats()["writes"] == 0


def test_reply_and_note_go_as_two_updates_the_second_stamped_after_the_first(
    sandbox: ServedSandbox
) -> None:
    email = sandbox.bot["email"]
    ticket_id = open_ids(sandbox, 1)[0]
    change = reply_and_note(sandbox, ticket_id)
    audits_before = len(sandbox.sb.audits(ticket_id))
    with ZendeskClient(sandbox.url,
                       Credentials("oauth", email, Secret(sandbox.credentials(email)))) as client:
        report = apply_plan(make_plan(sandbox, [change]), {"bot": client}, never_rechecked)
    assert [t.outcome for t in report.tickets] == ["applied"]
    audits = sandbox.sb.audits(ticket_id)[audits_before:]
    assert len(audits) == 2 and all(a["author_id"] == sandbox.bot["id"] for a in audits)
    visibility = [e["public"] for a in audits for e in a["events"] if e["type"] == "Comment"]
    assert visibility == [True, False]


def test_a_missing_client_is_a_programming_error(sandbox: ServedSandbox) -> None:
    ticket_id = open_ids(sandbox, 1)[0]
    with pytest.raises(ValueError, match="bot"):
        apply_plan(make_plan(sandbox, [priority_change(sandbox, ticket_id)]), {}, never_rechecked)


# --- the report -------------------------------------------------------------------------------


def sample_report() -> ApplyReport:
    return ApplyReport(
        started_at="2026-01-15T12:00:00Z", finished_at="2026-01-15T12:00:05Z",
        zendesk_url="https://acme.zendesk.com", plan_checksum="sha256:abc",
        config_digest="sha256:def",
        tickets=(
            TicketOutcome(1, "applied", "bot", ("r",), job_id="V3-1"),
            TicketOutcome(2, "failed", "bot", ("r",), "RecordInvalid",
                          "Status: closed prevents ticket update"),
            TicketOutcome(3, "skipped-stale", "bot", ("r",), "Stale", "no longer selected"),
            TicketOutcome(4, "applied", "jane", ("s",)),
        ),
    )


def test_report_summary_and_counts() -> None:
    report = sample_report()
    assert report.summary() == "Applied: 2 tickets changed, 1 failed, 1 skipped (stale)."
    assert report.counts()["applied"] == 2 and report.counts()["not-attempted"] == 0
    assert report.failed
    data = json.loads(report.to_json())
    assert data["format"] == "zdops-apply-report" and data["version"] == 1
    assert data["tickets"][1] == {
        "ticket_id": 2, "outcome": "failed", "token": "bot", "rules": ["r"],
        "error": "RecordInvalid", "message": "Status: closed prevents ticket update",
        "job_id": None,
    }


def test_report_is_written_whole_and_replaces_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    write_report(sample_report(), target)
    assert json.loads(target.read_text())["counts"]["failed"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left behind


def test_report_in_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    from runner.errors import ZdopsError

    with pytest.raises(ZdopsError, match="cannot write the apply report"):
        write_report(sample_report(), tmp_path / "nowhere" / "report.json")
