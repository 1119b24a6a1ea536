"""The plan renderers: golden terminal text, markdown for GitHub within its size limit, JSON."""

from __future__ import annotations

import json
from typing import Any

from engine_builders import make_plan

from runner.engine.plan import (
    CommentChange,
    FieldChange,
    Identity,
    Override,
    Plan,
    RuleSummary,
    TicketChange,
)
from runner.render.plan_json import render_json
from runner.render.plan_markdown import GITHUB_COMMENT_LIMIT, render_markdown
from runner.render.plan_text import render_text

BOT = Identity(
    token="automation-bot", name="Automation Bot", email="bot@acme.com", role="agent", primary=True
)
JANE = Identity(token="jane", name="Jane Admin", email="jane@acme.com", role="admin", primary=False)


def change(ticket_id: int, subject: str, **extra: Any) -> TicketChange:
    return TicketChange(
        ticket_id=ticket_id,
        subject=subject,
        updated_at="2024-05-30T08:00:00Z",
        token="automation-bot",
        rules=("route-vip-refunds",),
        **extra,
    )


SMALL = make_plan(
    identity=BOT,
    run_as=(JANE,),
    rules=(
        RuleSummary("route-vip-refunds", "automation-bot", 41, 41, 2, 39),
        RuleSummary("escalate", "jane", 12, 5, 0, 5),
        RuleSummary(
            "close-all",
            "automation-bot",
            9000,
            9000,
            0,
            0,
            would_change=9000,
            blocked="would change 9000 tickets, more than its limit of 500.",
        ),
    ),
    changes=(
        change(
            1042,
            "Refund for order 5531",
            fields=(
                FieldChange("priority", "normal", "high", "route-vip-refunds"),
                FieldChange(
                    "group",
                    10,
                    11,
                    "route-vip-refunds",
                    before_label="Support",
                    after_label="Billing",
                ),
            ),
            tags_added=("billing-routed",),
            tags_removed=("needs-triage",),
            comments=(
                CommentChange(
                    "Routed to Billing by route-vip-refunds.", False, "route-vip-refunds"
                ),
            ),
        ),
        change(
            1043,
            "Evil \x1b[31msubject\nsecond line",
            fields=(
                FieldChange("assignee", 5, None, "route-vip-refunds", before_label="ann@acme.com"),
                FieldChange(
                    "custom_fields.502",
                    None,
                    "plan_gold",
                    "route-vip-refunds",
                    label="Plan",
                    after_label="Gold plan",
                ),
            ),
            comments=(CommentChange("Hello\nthere", True, "route-vip-refunds"),),
            overrides=(Override("priority", "route-vip-refunds", "high", "later", "low"),),
        ),
    ),
)

GOLDEN = (
    """\
Zendesk  https://acme.zendesk.com
Acting as  Automation Bot <bot@acme.com> (agent) — token "automation-bot", primary

rule route-vip-refunds — 2 of 41 matching tickets change
  ~ #1042 Refund for order 5531
      priority  normal -> high
      group     Support -> Billing
      tags      +billing-routed -needs-triage
      + internal note "Routed to Billing by route-vip-refunds."
  ~ #1043 Evil ?[31msubject?second line
      assignee  ann@acme.com -> (none)
      Plan      (none) -> Gold plan
      + public reply "Hello there"
      ! priority: rule later (low) overrides rule route-vip-refunds (high)

rule escalate — 0 of 5 matching tickets change (12 read)
  as Jane Admin <jane@acme.com> (admin) — token "jane", run_as

rule close-all — 0 of 9000 matching tickets change
  ! plans no change: it would change 9000 tickets, more than its limit of 500.
Plan: 2 tickets to change by 1 rule; 44 already as desired; 1 rule plans none """
    "(over a limit or the budget).\n"
)


def test_text_matches_the_design_format() -> None:
    assert render_text(SMALL) == GOLDEN


def test_text_colour_only_when_asked() -> None:
    assert "\x1b[" not in render_text(SMALL)
    coloured = render_text(SMALL, color=True)
    assert "\x1b[32m+billing-routed\x1b[0m" in coloured
    # the escape sequence typed into a subject is still neutralised
    assert "Evil \x1b[31m" not in coloured


def test_text_of_an_empty_plan() -> None:
    empty = make_plan([RuleSummary("r", "automation-bot", 3, 3, 0, 3)], identity=BOT)
    assert render_text(empty).endswith("Plan: no changes; 3 already as desired.\n")


def test_markdown_has_counts_and_links_but_no_ticket_content_by_default() -> None:
    text = render_markdown(SMALL)
    assert "| route\\-vip\\-refunds |" not in text  # names stay legible
    assert "| route-vip-refunds | 41 | 41 | 2 | 39 |" in text
    assert "| priority | 1 |" in text and "| internal note | 1 |" in text
    assert "[#1042](https://acme.zendesk.com/agent/tickets/1042)" in text
    assert "plans none: would change 9000 tickets" in text
    for private in ("Refund for order", "Routed to Billing", "Hello", "Evil"):
        assert private not in text
    detailed = render_markdown(SMALL, details=True)
    assert "Refund for order 5531" in detailed and "Routed to Billing" in detailed
    assert "\x1b" not in detailed


def test_markdown_stays_under_githubs_limit_for_100000_changes() -> None:
    changes = tuple(
        TicketChange(
            ticket_id=i,
            subject=f"Subject {i}",
            updated_at="t",
            token="automation-bot",
            rules=(f"rule-{i % 300}",),
            tags_added=(f"tag-{i % 5000}",),
            comments=(CommentChange("x" * 200, bool(i % 2), f"rule-{i % 300}"),),
        )
        for i in range(100_000)
    )
    rules = tuple(
        RuleSummary(f"rule-{n}", "automation-bot", 10**6, 400, 334, 66, blocked=None)
        for n in range(300)
    )
    big = make_plan(rules, changes, identity=BOT)
    for details in (False, True):
        text = render_markdown(big, details=details)
        assert len(text) <= GITHUB_COMMENT_LIMIT
        assert "100000 tickets to change by 300 rules" in text
    assert "+323 more" in render_markdown(big, max_chars=10**9)


def test_json_is_the_versioned_envelope() -> None:
    data = json.loads(render_json(SMALL))
    assert data["format"] == "zdops-plan" and data["version"] == 1
    assert Plan.from_json(render_json(SMALL)) == SMALL


def test_a_rules_note_shows_in_text_and_markdown() -> None:
    note = "has no query, so it reads every open ticket"
    noted = make_plan([RuleSummary("sweep", "automation-bot", 3, 3, 0, 3, note=note)], identity=BOT)
    assert f"  note: this rule {note}\n" in render_text(noted)
    assert f"| sweep | 3 | 3 | 0 | 3 | {note} |" in render_markdown(noted)


def test_markdown_says_which_rule_overrides_which() -> None:
    text = render_markdown(SMALL)
    assert "| Overridden | Earlier rule | Later rule (wins) | Tickets |" in text
    assert "| priority | route-vip-refunds | later | 1 |" in text
    assert "Overridden" not in render_markdown(make_plan(SMALL.rules, SMALL.changes[:1]))


def test_markdown_caps_its_tables_so_the_ticket_lists_survive() -> None:
    changes = tuple(
        TicketChange(
            ticket_id=i, subject=None, updated_at="t", token="automation-bot",
            rules=("tagger",), tags_added=(f"unique-tag-{i}-" + "x" * 40,),
        )
        for i in range(3000)
    )
    text = render_markdown(
        make_plan([RuleSummary("tagger", "automation-bot", 3000, 3000, 3000, 0)], changes)
    )
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "| +2950 more actions (in the JSON plan) | |" in text
    assert "**tagger**: [#0]" in text and "+2990 more" in text


def test_a_plan_with_a_blocked_rule_never_reads_as_in_sync() -> None:
    held = make_plan(
        [RuleSummary("sweep", "automation-bot", 9, 9, 0, 0, would_change=9, blocked="limit")],
        identity=BOT,
    )
    assert render_text(held).endswith(
        "Plan: no changes; 0 already as desired; 1 rule plans none (over a limit or the budget).\n"
    )
    assert render_markdown(held).startswith(
        "### zdops plan: no changes (0 already as desired; 1 rule plans none (over a limit or "
        "the budget))\n"
    )
