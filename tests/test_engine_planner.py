"""The planner on in-memory tickets: overlap, overrides, limits, closed tickets, idempotence."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from engine_builders import BOT, CONFIG_DIGEST, NAMES, NOW, ZENDESK_URL

from runner.config.models import Rule
from runner.engine.plan import Identity, Plan, TicketChange
from runner.engine.planner import PlanContext, build_plan
from runner.engine.resolve import Resolver
from runner.engine.rules import RuleLike
from runner.errors import ResolveError
from runner.render.plan_text import render_text

JANE = Identity(token="jane", name="Jane", email="jane@acme.test", role="admin", primary=False)
CONTEXT = PlanContext(
    zendesk_url=ZENDESK_URL,
    identity=BOT,
    config_digest=CONFIG_DIGEST,
    now=NOW,
    run_as={"jane": JANE},
)


def ticket(ticket_id: int, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": ticket_id,
        "status": "open",
        "priority": "normal",
        "subject": f"Ticket {ticket_id}",
        "tags": [],
        "group_id": 10,
        "assignee_id": None,
        "requester_id": 200,
        "updated_at": "2024-05-30T08:00:00Z",
        "custom_fields": [],
    }
    base.update(values)
    return base


def rule(name: str, actions: dict[str, Any], *conditions: dict[str, Any], **extra: Any) -> Rule:
    return Rule.model_validate(
        {
            "name": name,
            "when": {"query": "status<solved", "all": list(conditions)},
            "actions": actions,
            **extra,
        }
    )


def plan(rules: list[Rule], tickets: list[dict[str, Any]], **options: Any) -> Plan:
    def tickets_for(_: RuleLike) -> Iterable[dict[str, Any]]:
        return [copy.deepcopy(t) for t in tickets]

    return build_plan(rules, tickets_for, Resolver(NAMES), CONTEXT, **options)


def zendesk_update(tickets: list[dict[str, Any]], change: TicketChange) -> None:
    """What Zendesk does with the update bodies (enough of it to re-plan afterwards)."""
    target = next(t for t in tickets if t["id"] == change.ticket_id)
    for body in change.update_bodies():
        for key, value in body.items():
            if key == "additional_tags":
                target["tags"] += [t for t in value if t not in target["tags"]]
            elif key == "remove_tags":
                target["tags"] = [t for t in target["tags"] if t not in value]
            elif key == "custom_fields":
                fields = {f["id"]: f for f in target["custom_fields"]}
                fields.update({f["id"]: f for f in value})
                target["custom_fields"] = list(fields.values())
            elif key not in ("comment", "safe_update", "updated_stamp"):
                target[key] = value
        target["updated_at"] = "2024-06-01T12:00:00Z"


ROUTE = rule(
    "route-vip",
    {
        "priority": "high",
        "group": "Billing",
        "tags": {"add": ["routed"], "remove": ["triage"]},
        "comment": {"body": "Routed by {{rule.name}}.", "public": False},
    },
    {"field": "tags", "operator": "includes", "value": "vip"},
    {"field": "tags", "operator": "not_includes", "value": "routed"},
)


def test_a_rule_plans_only_real_differences() -> None:
    tickets = [ticket(1, tags=["vip", "triage"]), ticket(2, tags=["vip", "routed"]), ticket(3)]
    result = plan([ROUTE], tickets)
    [summary] = result.rules
    assert (summary.read, summary.matched, summary.changing, summary.unchanged) == (3, 1, 1, 0)
    [change] = result.changes
    assert change.ticket_id == 1 and change.updated_at == "2024-05-30T08:00:00Z"
    assert {f.field: (f.before, f.after) for f in change.fields} == {
        "priority": ("normal", "high"),
        "group": (10, 11),
    }
    assert change.field_change("group").before_label == "Support"  # type: ignore[union-attr]
    assert (change.tags_added, change.tags_removed) == (("routed",), ("triage",))
    assert change.comments[0].body == "Routed by route-vip."


def test_rules_already_true_count_as_already_as_desired() -> None:
    high = rule("high", {"priority": "high"})
    result = plan([high], [ticket(1, priority="high"), ticket(2)])
    assert (result.rules[0].changing, result.rules[0].unchanged) == (1, 1)
    assert result.already_as_desired == 1


def test_closed_tickets_are_never_selected() -> None:
    result = plan([rule("any", {"priority": "high"})], [ticket(1, status="closed")])
    assert result.rules[0].read == 1 and result.rules[0].matched == 0 and not result.changes


def test_later_rules_see_earlier_effects_and_merge_into_one_change() -> None:
    escalate = rule(
        "escalate",
        {"priority": "urgent", "tags": {"add": ["escalated"]}},
        {"field": "group", "operator": "is", "value": "Billing"},
    )
    result = plan([ROUTE, escalate], [ticket(1, tags=["vip"]), ticket(2, group_id=11)])
    assert [c.ticket_id for c in result.changes] == [1, 2]
    first = result.changes[0]
    assert first.rules == ("route-vip", "escalate")
    assert first.field_change("priority").after == "urgent"  # type: ignore[union-attr]
    assert first.field_change("priority").rule == "escalate"  # type: ignore[union-attr]
    assert first.tags_added == ("routed", "escalated")
    [override] = first.overrides
    assert (override.field, override.earlier_rule, override.earlier_value) == (
        "priority",
        "route-vip",
        "high",
    )
    assert (override.later_rule, override.later_value) == ("escalate", "urgent")
    assert len(first.update_bodies()) == 1


def test_a_tag_one_rule_adds_and_another_removes_is_an_override() -> None:
    add = rule("add", {"tags": {"add": ["x"]}})
    remove = rule("remove", {"tags": {"remove": ["x"]}, "priority": "low"})
    [change] = plan([add, remove], [ticket(1)]).changes
    assert change.tags_added == () and [o.field for o in change.overrides] == ["tag:x"]


def test_a_rule_over_its_limit_plans_none_and_later_rules_do_not_see_it() -> None:
    limited = rule("limited", {"priority": "high"}, limit=2)
    after = rule(
        "after",
        {"tags": {"add": ["seen"]}},
        {"field": "priority", "operator": "is", "value": "high"},
    )
    result = plan([limited, after], [ticket(i) for i in range(1, 4)])
    blocked = result.rules[0]
    assert blocked.changing == 0 and blocked.would_change == 3 and blocked.blocked
    assert "limit of 2" in blocked.blocked and "--limit-override 3" in blocked.blocked
    assert not result.changes
    overridden = plan([limited], [ticket(i) for i in range(1, 4)], limit_override=3)
    assert overridden.rules[0].changing == 3 and not overridden.rules[0].blocked


def test_the_default_limit_applies_to_rules_without_one() -> None:
    result = plan([rule("r", {"priority": "high"})], [ticket(i) for i in range(5)], default_limit=4)
    assert result.rules[0].blocked and result.rules[0].would_change == 5


def test_the_run_wide_budget_blocks_the_rule_that_would_exceed_it() -> None:
    first = rule(
        "first", {"priority": "high"}, {"field": "subject", "operator": "is", "value": "Ticket 1"}
    )
    second = rule("second", {"tags": {"add": ["t"]}})
    result = plan([first, second], [ticket(1), ticket(2)], max_changes=1)
    assert result.rules[0].changing == 1
    assert result.rules[1].changing == 0 and "--max-changes 2" in (result.rules[1].blocked or "")


def test_disabled_rules_do_not_run() -> None:
    result = plan([rule("off", {"priority": "high"}, enabled=False)], [ticket(1)])
    assert result.rules == () and result.changes == ()


def test_applying_the_plan_then_replanning_gives_nothing() -> None:
    escalate = rule(
        "escalate",
        {"priority": "urgent", "custom_fields": {"Plan": "Gold plan"}, "assignee": None},
        {"field": "group", "operator": "is", "value": "Billing"},
    )
    tickets = [
        ticket(i, tags=["vip", "triage"] if i % 2 else [], assignee_id=5) for i in range(1, 21)
    ]
    first = plan([ROUTE, escalate], tickets)
    assert first.ticket_count == 10
    for change in first.changes:
        zendesk_update(tickets, change)
    second = plan([ROUTE, escalate], tickets)
    assert second.changes == ()
    assert second.rules[1].unchanged == 10


def test_query_matches_lets_later_rules_see_tickets_earlier_rules_move() -> None:
    solve = rule(
        "solve", {"status": "solved"}, {"field": "tags", "operator": "includes", "value": "done"}
    )
    thank = rule("thank", {"comment": {"body": "Thanks!", "public": True}})
    thank.when.query = "status:solved"

    def matches(query: str, t: Any) -> bool:
        return query != "status:solved" or t["status"] == "solved"

    tickets = [ticket(1, tags=["done"])]
    searched: dict[str, list[dict[str, Any]]] = {"solve": tickets, "thank": []}
    result = build_plan(
        [solve, thank], lambda r: searched[r.name], Resolver(NAMES), CONTEXT, query_matches=matches
    )
    [change] = result.changes
    assert change.rules == ("solve", "thank") and change.comments[0].public


def test_a_run_as_rule_records_its_identity() -> None:
    result = plan([rule("as-jane", {"priority": "low"}, run_as="jane")], [ticket(1)])
    assert result.rules[0].token == "jane" and result.changes[0].token == "jane"
    assert result.run_as == (JANE,)


def test_names_fail_before_any_ticket_is_read() -> None:
    read: list[int] = []

    def tickets_for(_: RuleLike) -> Iterator[dict[str, Any]]:
        read.append(1)
        yield ticket(1)

    bad = rule("bad", {"group": "Nowhere"})
    with pytest.raises(ResolveError, match=r"rule \"bad\".*Nowhere"):
        build_plan([ROUTE, bad], tickets_for, Resolver(NAMES), CONTEXT)
    assert read == []


def test_tickets_are_streamed_and_only_changed_ones_are_kept() -> None:
    kept: list[int] = []

    def stream(_: RuleLike) -> Iterator[dict[str, Any]]:
        for i in range(1, 20_001):
            yield ticket(i, tags=["vip"] if i % 1000 == 0 else [])
            kept.append(i)

    result = build_plan([ROUTE], stream, Resolver(NAMES), CONTEXT)
    assert len(kept) == 20_000 and result.rules[0].read == 20_000
    assert [c.ticket_id for c in result.changes] == list(range(1000, 20_001, 1000))


def test_before_is_the_ticket_as_read_for_a_field_a_later_rule_changes_first() -> None:
    # The first rule changes the status, a custom field and the tags; the second changes
    # other fields of the same ticket (another custom field among them). Every "before" must be
    # the ticket as read, never the first rule's simulation, and the page's dicts (handed to
    # both rules as the same objects, as a search page would be) must come out untouched.
    first = rule(
        "first",
        {
            "status": "pending",
            "custom_fields": {"Order number": "B-2"},
            "tags": {"add": ["seen"]},
        },
    )
    second = rule(
        "second",
        {
            "priority": "high",
            "group": "Billing",
            "custom_fields": {"Plan": "Gold plan", "Products": ["Voice"]},
            "tags": {"remove": ["vip"]},
        },
    )
    as_read = [
        ticket(
            1,
            tags=["vip"],
            custom_fields=[
                {"id": 501, "value": "A-1"},
                {"id": 502, "value": "plan_silver"},
                {"id": 506, "value": ["p_chat"]},
            ],
        )
    ]
    snapshot = copy.deepcopy(as_read)

    result = build_plan([first, second], lambda _: as_read, Resolver(NAMES), CONTEXT)

    [change] = result.changes
    assert change.rules == ("first", "second")
    assert {f.field: (f.before, f.after, f.rule) for f in change.fields} == {
        "status": ("open", "pending", "first"),
        "custom_fields.501": ("A-1", "B-2", "first"),
        "priority": ("normal", "high", "second"),
        "group": (10, 11, "second"),
        "custom_fields.502": ("plan_silver", "plan_gold", "second"),
        "custom_fields.506": (["p_chat"], ["p_voice"], "second"),
    }
    assert change.field_change("custom_fields.502").before_label == "Silver plan"  # type: ignore[union-attr]
    assert change.tags_before == ("vip",)
    # the options the second rule picks put their tags on (runner.engine.tagfields)
    assert (change.tags_added, change.tags_removed) == (("seen", "plan_gold", "p_voice"), ("vip",))
    assert change.overrides == ()
    assert as_read == snapshot


def test_changes_are_in_ticket_id_order_whatever_order_search_returned() -> None:
    high = rule("high", {"priority": "high"})
    shuffled = plan([high], [ticket(i) for i in (53, 7, 86, 22, 3)])
    ordered = plan([high], [ticket(i) for i in (3, 7, 22, 53, 86)])
    assert [c.ticket_id for c in shuffled.changes] == [3, 7, 22, 53, 86]
    assert shuffled == ordered and shuffled.checksum == ordered.checksum


def test_a_later_rule_overriding_a_value_already_on_the_ticket_is_reported() -> None:
    # `keep-high` changes nothing on ticket 1 (already high), yet `lower` undoes what it wants:
    # the two rules disagree, and the plan must say so.
    keep_high = rule("keep-high", {"priority": "high", "tags": {"add": ["kept"]}})
    lower = rule("lower", {"priority": "low"})
    [change] = plan([keep_high, lower], [ticket(1, priority="high", tags=["kept"])]).changes
    assert change.field_change("priority").after == "low"  # type: ignore[union-attr]
    [override] = change.overrides
    assert (override.field, override.earlier_rule, override.earlier_value) == (
        "priority",
        "keep-high",
        "high",
    )
    assert (override.later_rule, override.later_value) == ("lower", "low")


def test_a_tag_removed_that_an_earlier_rule_wants_is_reported_even_if_already_there() -> None:
    keep = rule("keep", {"tags": {"add": ["x"]}})
    drop = rule("drop", {"tags": {"remove": ["x"]}})
    [change] = plan([keep, drop], [ticket(1, tags=["x"])]).changes
    assert change.tags_removed == ("x",)
    assert [(o.field, o.earlier_rule, o.later_rule) for o in change.overrides] == [
        ("tag:x", "keep", "drop")
    ]


def test_agreeing_rules_and_a_blocked_earlier_rule_report_no_override() -> None:
    also_high = rule("also-high", {"priority": "high"})
    high = rule("high", {"priority": "high"})
    assert plan([also_high, high], [ticket(1)]).changes[0].overrides == ()
    blocked = rule("blocked", {"priority": "urgent"}, limit=1)
    result = plan([blocked, high], [ticket(1, priority="urgent"), ticket(2), ticket(3)])
    assert result.rules[0].blocked
    assert all(c.overrides == () for c in result.changes)


def test_requester_names_in_comments_are_looked_up_100_at_a_time() -> None:
    from runner.engine.resolve import InMemoryNames

    class Counting(InMemoryNames):
        def __init__(self) -> None:
            super().__init__(
                users=[{"id": 1000 + i, "name": f"Customer {i}"} for i in range(250)]
            )
            self.single = self.batched = 0

        def find(self, kind: Any, record_id: int) -> Any:
            self.single += 1
            return super().find(kind, record_id)

        def find_many(self, kind: Any, record_ids: Any) -> Any:
            self.batched += 1
            assert len(record_ids) <= 100
            return super().find_many(kind, record_ids)

    names = Counting()
    greet = rule(
        "greet",
        {"tags": {"add": ["greeted"]},
         "comment": {"body": "Hi {{ticket.requester.name}}", "public": True}},
        {"field": "tags", "operator": "not_includes", "value": "greeted"},
    )
    tickets = [ticket(i, requester_id=1000 + i) for i in range(250)]
    tickets.append(ticket(999, tags=["greeted"], requester_id=5))  # not selected: not looked up
    result = build_plan([greet], lambda _: iter(tickets), Resolver(names), CONTEXT)
    assert result.ticket_count == 250
    assert result.changes[7].comments[0].body == "Hi Customer 7"
    assert (names.single, names.batched) == (0, 3)


@pytest.mark.parametrize("group_id", [10, 11], ids=["earlier-changed-it", "already-there"])
def test_an_override_carries_the_names_a_reviewer_reads(group_id: int) -> None:
    to_billing = rule("to-billing", {"group": "Billing", "tags": {"add": ["seen"]}})
    to_support = rule("to-support", {"group": "Support", "priority": "high"})
    result = plan([to_billing, to_support], [ticket(1, group_id=group_id)])
    [override] = result.changes[0].overrides
    assert (override.earlier_value, override.earlier_label) == (11, "Billing")
    assert (override.later_value, override.later_label) == (10, "Support")
    text = render_text(result, color=False)
    assert "! group: rule to-support (Support) overrides rule to-billing (Billing)" in text
    # the labels survive a saved plan
    assert Plan.from_json(result.to_json()) == result
