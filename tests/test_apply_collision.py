"""The `collision` outcome: a ticket edited again while apply re-checks it after a stale refusal.

The interleaving is built, not hoped for. The run talks to the sandbox's own WSGI app through
an httpx transport of this test (RunOptions.transport), which sees every request in order:

1. the plan reads the ticket (updated_at T0);
2. an agent edits it (T1), so the safe update stamped T0 is refused (UpdateConflict);
3. apply re-reads it (tickets/show_many, T1) and re-evaluates: the same change is still due;
4. right after that re-read has been answered, and before the resend, the transport has the
   agent edit it again (T2): the resend stamped T1 is refused too -> `collision`, left alone.

The sandbox is still served on 127.0.0.1 (fixture `sandbox`) and the config encrypted by the
real sops; only the run's HTTP goes through the transport, to the same in-memory account.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from fixtures_reconcile import Configure, group_id
from fixtures_sandbox import ServedSandbox

from runner.engine.apply import apply_plan, reevaluator
from runner.engine.report import ApplyReport
from runner.engine.run import Run, RunOptions, open_run

SHOW_MANY = "/api/v2/tickets/show_many"
UPDATE_MANY = "/api/v2/tickets/update_many"


class Interleaving(httpx.BaseTransport):
    """httpx.WSGITransport on the sandbox's app, calling `after(request)` once each request
    has been answered, so a test can act between two of the client's requests."""

    def __init__(self, sandbox: ServedSandbox) -> None:
        self.inner = httpx.WSGITransport(app=sandbox.sb.app)
        self.after: Callable[[httpx.Request], None] = lambda request: None
        self.log: list[tuple[str, str, set[int]]] = []  # method, path, tickets named

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.log.append((request.method, request.url.path.removesuffix(".json"),
                         ticket_ids(request)))
        self.after(request)
        return response

    def close(self) -> None:
        self.inner.close()


def ticket_ids(request: httpx.Request) -> set[int]:
    """The tickets a show_many or update_many names: in `ids=`, or in the batch form's body."""
    ids = {int(i) for i in request.url.params.get("ids", "").split(",") if i}
    if request.method == "PUT" and request.content:
        body = json.loads(request.content)
        ids |= {int(t["id"]) for t in body.get("tickets", [])}
    return ids


def apply_in_process(run: Run) -> ApplyReport:
    """What `zdops apply --yes` does once the run is open: plan, then apply that plan."""
    plan = run.plan()
    reevaluate = reevaluator(run.rules, run.resolver, run.context(),
                             query_matches=run.query_matches, source=run.loaded.filename)
    return apply_plan(plan, run.clients, reevaluate)


@pytest.fixture
def transport(sandbox: ServedSandbox) -> Interleaving:
    return Interleaving(sandbox)


def agent_note(sandbox: ServedSandbox, ticket_id: int, note: str) -> str:
    """A human agent's internal note on an open ticket; its new updated_at."""
    edited = sandbox.sb.agent_edit(ticket_id, note)
    assert edited is not None, f"ticket #{ticket_id} is closed"
    return str(edited["updated_at"])


def billing_targets(sandbox: ServedSandbox) -> list[int]:
    found = (sandbox.sb.ticket(i) for i in range(1, sandbox.sb.ticket_count + 1))
    return [t["id"] for t in found if t["status"] != "closed" and "billing" in t["tags"]
            and "billing-routed" not in t["tags"]]


def test_edited_again_during_the_recheck_is_a_collision_and_not_overwritten(
    sandbox: ServedSandbox, configure: Configure, transport: Interleaving
) -> None:
    config = configure()
    targets = billing_targets(sandbox)
    busy, *others = targets
    assert others, "the seed should give the rule several tickets"
    edits: list[str] = []

    def agent_works_on_it(request: httpx.Request) -> None:
        path = request.url.path.removesuffix(".json")
        if path == "/api/v2/search/export" and not edits:
            # the plan has read the ticket: the agent edits it before apply sends anything
            edits.append(agent_note(sandbox, busy, "first edit"))
        elif path == SHOW_MANY and busy in ticket_ids(request) and len(edits) == 1:
            # apply has just re-read it after the refusal: the agent edits it again
            edits.append(agent_note(sandbox, busy, "second edit"))

    transport.after = agent_works_on_it
    with open_run(config.path, RunOptions(transport=transport)) as run:
        report = apply_in_process(run)
    sandbox.sb.wait_for_jobs()

    assert len(edits) == 2, f"the interleaving did not happen: {transport.log}"
    by_id = {t.ticket_id: t for t in report.tickets}
    assert set(by_id) == set(targets)
    outcome = by_id[busy]
    assert (outcome.outcome, outcome.error) == ("collision", "UpdateConflict")
    assert outcome.message and "again while being re-applied" in outcome.message
    assert report.counts()["collision"] == 1
    assert all(by_id[i].outcome == "applied" for i in others)
    assert not report.failed and report.error is None

    # the order of events the outcome claims: sent, refused, re-read, sent again (refused)
    about_busy = [(method, path) for method, path, ids in transport.log if busy in ids]
    assert about_busy == [("PUT", UPDATE_MANY), ("GET", SHOW_MANY), ("PUT", UPDATE_MANY)]

    # never overwritten: the agent's two notes are the ticket's last changes, none by the bot
    ticket = sandbox.sb.ticket(busy)
    assert ticket["group_id"] != group_id(sandbox, "Billing")
    assert "billing-routed" not in ticket["tags"]
    assert ticket["updated_at"] == edits[-1]
    latest = sandbox.sb.audits(busy)[-2:]
    assert [a["author_id"] for a in latest] == [sandbox.agent["id"]] * 2
    assert [e["body"] for a in latest for e in a["events"] if e["type"] == "Comment"] == [
        "first edit", "second edit"]
    assert not [a for a in sandbox.sb.audits(busy) if a["author_id"] == sandbox.bot["id"]]
    for ticket_id in others:
        assert "billing-routed" in sandbox.sb.ticket(ticket_id)["tags"]


def test_edited_once_is_rechecked_and_applied(
    sandbox: ServedSandbox, configure: Configure, transport: Interleaving
) -> None:
    """The control: with only the first edit, the same re-check resends and the change lands,
    so the collision above comes from the second edit and nothing else."""
    config = configure()
    busy = billing_targets(sandbox)[0]
    edited: list[int] = []

    def agent_edits_once(request: httpx.Request) -> None:
        if request.url.path.endswith("/search/export.json") and not edited:
            agent_note(sandbox, busy, "first edit")
            edited.append(busy)

    transport.after = agent_edits_once
    with open_run(config.path, RunOptions(transport=transport)) as run:
        report = apply_in_process(run)
    sandbox.sb.wait_for_jobs()

    outcome = next(t for t in report.tickets if t.ticket_id == busy)
    assert edited and outcome.outcome == "applied"
    assert outcome.message and "re-checked" in outcome.message
    ticket = sandbox.sb.ticket(busy)
    assert ticket["group_id"] == group_id(sandbox, "Billing") and "billing-routed" in ticket["tags"]
    assert report.counts()["collision"] == 0
