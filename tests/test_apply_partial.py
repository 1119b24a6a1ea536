"""A ticket that needs two updates (a public reply and an internal note) and gets only the first.

Zendesk takes one comment per update, so such a ticket is changed in two steps, and the second
can fail after the first has landed. Each step carries its own rules' tags with its comment, so
the next run selects the ticket again for the note's rule only: the note is added then, and the
reply is never posted twice. (Found by the chaos suite: when every tag went with the first
update, the note's rule no longer selected the ticket and the note was lost for good.)
"""

from __future__ import annotations

import json

import httpx
from fixtures_reconcile import REPLY_AND_NOTE_RULE, Configure, rules_yaml
from fixtures_sandbox import ServedSandbox

from runner.engine.apply import apply_plan, reevaluator
from runner.engine.report import ApplyReport
from runner.engine.run import RunOptions, open_run

REJECTED = {
    "error": "RecordInvalid",
    "description": "Record validation errors",
    "details": {"base": [{"description": "Comment: rejected by the test"}]},
}


class RefuseNotes(httpx.BaseTransport):
    """The sandbox's own app, except that every internal note sent alone is refused (422)."""

    def __init__(self, sandbox: ServedSandbox) -> None:
        self.inner = httpx.WSGITransport(app=sandbox.sb.app)
        self.refused: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removesuffix(".json")
        if request.method == "PUT" and path.startswith("/api/v2/tickets/") and request.content:
            comment = json.loads(request.content).get("ticket", {}).get("comment") or {}
            if comment.get("public") is False:
                self.refused.append(int(path.rsplit("/", 1)[1]))
                return httpx.Response(422, json=REJECTED, request=request)
        return self.inner.handle_request(request)


def apply_once(path: object, transport: httpx.BaseTransport | None = None) -> ApplyReport:
    with open_run(path, RunOptions(transport=transport)) as run:  # type: ignore[arg-type]
        plan = run.plan()
        reevaluate = reevaluator(run.rules, run.resolver, run.context(),
                                 query_matches=run.query_matches, source=run.loaded.filename)
        return apply_plan(plan, run.clients, reevaluate)


def bot_comments(sandbox: ServedSandbox, ticket_id: int) -> list[tuple[str, bool]]:
    return [(e["body"], e["public"]) for a in sandbox.sb.audits(ticket_id)
            if a["author_id"] == sandbox.bot["id"]
            for e in a["events"] if e["type"] == "Comment"]


def test_a_note_refused_after_the_reply_landed_is_added_by_the_next_run_and_nothing_twice(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    config = configure(rules_yaml(REPLY_AND_NOTE_RULE))
    refusing = RefuseNotes(sandbox)
    first = apply_once(config.path, refusing)
    sandbox.sb.wait_for_jobs()
    assert refusing.refused, "the rules should give some tickets a reply and a note"
    outcomes = {t.ticket_id: (t.outcome, t.error) for t in first.tickets}
    assert {outcomes[i] for i in refusing.refused} == {("failed", "PartiallyApplied")}
    messages = {t.message for t in first.tickets if t.ticket_id in refusing.refused}
    assert all(m and "rejected by the test" in m and "next `zdops plan`" in m
               for m in messages), messages
    for ticket_id in refusing.refused:
        tags = sandbox.sb.ticket(ticket_id)["tags"]
        # the reply's rule is done (its tag went with the reply); the note's rule is not
        assert "refund-answered" in tags and "refund-noted" not in tags, tags
        reply = f"We received your refund request #{ticket_id}."
        assert bot_comments(sandbox, ticket_id) == [(reply, True)]

    second = apply_once(config.path)
    sandbox.sb.wait_for_jobs()
    assert {t.ticket_id for t in second.tickets} == set(refusing.refused)
    assert all(t.outcome == "applied" for t in second.tickets)
    for ticket_id in refusing.refused:
        reply = f"We received your refund request #{ticket_id}."
        assert bot_comments(sandbox, ticket_id) == [
            (reply, True), ("Answered by note-answered.", False)]
        assert {"refund-answered", "refund-noted"} <= set(sandbox.sb.ticket(ticket_id)["tags"])
    assert not apply_once(config.path).tickets  # converged


def test_the_note_travels_with_its_own_rules_fields_and_tags() -> None:
    from runner.engine.plan import CommentChange, FieldChange, TagOwner, TicketChange

    change = TicketChange(
        ticket_id=7, subject=None, updated_at="2026-01-01T00:00:00Z", token="bot",
        rules=("reply", "note", "route"),
        fields=(FieldChange("priority", "normal", "high", "reply"),
                FieldChange("group", 1, 2, "note"),
                FieldChange("status", "new", "open", "route")),
        tags_added=("answered", "noted", "routed"), tags_removed=("triage",),
        tags_before=("triage", "vip"),
        comments=(CommentChange("Hello", True, "reply"), CommentChange("Seen", False, "note")),
        tag_rules=(TagOwner("answered", "reply"), TagOwner("noted", "note"),
                   TagOwner("routed", "route"), TagOwner("triage", "note")),
    )
    stamp = {"safe_update": True, "updated_stamp": "2026-01-01T00:00:00Z"}
    assert change.update_bodies() == [
        {"priority": "high", "status": "open", "additional_tags": ["answered", "routed"],
         "comment": {"body": "Hello", "public": True}, **stamp},
        {"group_id": 2, "additional_tags": ["noted"], "remove_tags": ["triage"],
         "comment": {"body": "Seen", "public": False}},
    ]
    assert [b.get("tags") for b in change.update_bodies(tags_mode="full")] == [
        ["triage", "vip", "answered", "routed"], ["vip", "answered", "routed", "noted"]]
