"""Dropdown, multiselect and checkbox fields follow the ticket's tags in the plan, as in Zendesk.

Setting such a field puts its option's tag on and takes the field's other options' tags off;
removing an option's tag (tags remove, or tags set without it) clears the field, adding one
picks that option. The plan shows both halves, and later rules see them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from engine_builders import NAMES, ticket_field
from test_engine_planner import CONTEXT, rule, ticket, zendesk_update

from runner.config.models import Rule
from runner.engine.plan import Plan, TicketChange
from runner.engine.planner import build_plan
from runner.engine.resolve import InMemoryNames, Resolver
from runner.engine.rules import RuleLike

PLAN, PRODUCTS, FLAGGED = 502, 506, 508
FLAG_NAMES = InMemoryNames(
    groups=[{"id": 10, "name": "Support"}],
    ticket_fields=[*NAMES.ticket_fields(), ticket_field(FLAGGED, "checkbox", "Flagged",
                                                        tag="flagged")],
)


def make(rules: list[Rule], tickets: list[dict[str, Any]],
         names: InMemoryNames = NAMES) -> Plan:
    def tickets_for(_: RuleLike) -> Iterable[dict[str, Any]]:
        return [copy.deepcopy(t) for t in tickets]

    return build_plan(rules, tickets_for, Resolver(names), CONTEXT)


def with_plan(value: str | None, *tags: str, ticket_id: int = 1) -> dict[str, Any]:
    return ticket(ticket_id, tags=list(tags), custom_fields=[{"id": PLAN, "value": value}])


def only(plan: Plan) -> TicketChange:
    assert len(plan.changes) == 1, plan.changes
    return plan.changes[0]


def field(change: TicketChange, field_id: int) -> tuple[Any, Any, str]:
    found = change.field_change(f"custom_fields.{field_id}")
    assert found is not None, change.fields
    return found.before, found.after, found.rule


def test_setting_a_dropdown_moves_its_tags_and_a_later_rule_sees_them() -> None:
    rules = [
        rule("gold", {"custom_fields": {"Plan": "Gold plan"}}),
        rule("gold-seen", {"tags": {"add": ["gold-seen"]}},
             {"field": "tags", "operator": "includes", "value": "plan_gold"}),
    ]
    change = only(make(rules, [with_plan("plan_silver", "plan_silver", "vip")]))
    assert field(change, PLAN) == ("plan_silver", "plan_gold", "gold")
    assert change.tags_added == ("plan_gold", "gold-seen")
    assert change.tags_removed == ("plan_silver",)
    assert [summary.changing for summary in make(rules, [with_plan(
        "plan_silver", "plan_silver")]).rules] == [1, 1]
    # the whole list sent in update_many's batch form agrees with the value sent with it
    body = change.update_body(tags_mode="full")
    assert body["tags"] == ["vip", "plan_gold", "gold-seen"]
    assert body["custom_fields"] == [{"id": PLAN, "value": "plan_gold"}]


def test_clearing_a_dropdown_takes_its_tag_off() -> None:
    change = only(make([rule("clear", {"custom_fields": {"Plan": None}})],
                       [with_plan("plan_gold", "plan_gold", "vip")]))
    assert field(change, PLAN) == ("plan_gold", None, "clear")
    assert change.tags_removed == ("plan_gold",) and change.tags_added == ()


def test_removing_a_dropdown_options_tag_shows_the_field_cleared() -> None:
    change = only(make([rule("untag", {"tags": {"remove": ["plan_gold"]}})],
                       [with_plan("plan_gold", "plan_gold", "vip")]))
    assert field(change, PLAN) == ("plan_gold", None, "untag")
    assert change.tags_removed == ("plan_gold",)
    body = change.update_body()
    assert body["remove_tags"] == ["plan_gold"]
    assert body["custom_fields"] == [{"id": PLAN, "value": None}]


def test_tags_set_without_the_options_tag_clears_the_dropdown_and_with_it_keeps_it() -> None:
    cleared = only(make([rule("reset", {"tags": {"set": ["vip"]}})],
                        [with_plan("plan_gold", "plan_gold", "old")]))
    assert field(cleared, PLAN) == ("plan_gold", None, "reset")
    assert set(cleared.tags_removed) == {"plan_gold", "old"}
    kept = only(make([rule("reset", {"tags": {"set": ["vip", "plan_gold"]}})],
                     [with_plan("plan_gold", "plan_gold", "old")]))
    assert kept.fields == () and kept.tags_removed == ("old",)


def test_adding_an_options_tag_picks_that_option_and_drops_the_other() -> None:
    change = only(make([rule("tag-gold", {"tags": {"add": ["plan_gold"]}})],
                       [with_plan("plan_silver", "plan_silver")]))
    assert field(change, PLAN) == ("plan_silver", "plan_gold", "tag-gold")
    assert change.tags_added == ("plan_gold",) and change.tags_removed == ("plan_silver",)


def test_a_later_rule_removing_an_earlier_rules_option_tag_overrides_it() -> None:
    rules = [rule("gold", {"custom_fields": {"Plan": "Gold plan"}}),
             rule("untag", {"tags": {"remove": ["plan_gold"]}})]
    change = only(make(rules, [with_plan("plan_silver", "plan_silver")]))
    assert field(change, PLAN) == ("plan_silver", None, "untag")
    assert change.tags_added == () and change.tags_removed == ("plan_silver",)
    assert [(o.earlier_rule, o.later_rule) for o in change.overrides
            if o.field == "Plan"] == [("gold", "untag")]


def test_a_rule_setting_a_dropdown_and_removing_its_tag_keeps_the_value_and_settles() -> None:
    actions = {"custom_fields": {"Plan": "Gold plan"}, "tags": {"remove": ["plan_gold"]}}
    assert make([rule("odd", actions)], [with_plan("plan_gold", "plan_gold")]).changes == ()
    change = only(make([rule("odd", actions)], [with_plan("plan_silver", "plan_silver")]))
    assert field(change, PLAN)[1] == "plan_gold" and change.tags_added == ("plan_gold",)


def test_multiselect_options_follow_their_tags_one_by_one() -> None:
    def products(*values: str) -> dict[str, Any]:
        return ticket(1, tags=[*values, "vip"],
                      custom_fields=[{"id": PRODUCTS, "value": list(values)}])

    dropped = only(make([rule("no-chat", {"tags": {"remove": ["p_chat"]}})],
                        [products("p_chat", "p_voice")]))
    assert field(dropped, PRODUCTS)[1] == ["p_voice"]
    assert dropped.tags_removed == ("p_chat",)
    chosen = only(make([rule("chat-only", {"custom_fields": {"Products": ["Chat"]}})],
                       [products("p_voice")]))
    assert field(chosen, PRODUCTS) == (["p_voice"], ["p_chat"], "chat-only")
    assert chosen.tags_added == ("p_chat",) and chosen.tags_removed == ("p_voice",)


def test_a_checkbox_follows_its_tag() -> None:
    def flagged(value: bool, *tags: str) -> dict[str, Any]:
        return ticket(1, tags=list(tags), custom_fields=[{"id": FLAGGED, "value": value}])

    ticked = only(make([rule("flag", {"custom_fields": {"Flagged": True}})],
                       [flagged(False)], FLAG_NAMES))
    assert field(ticked, FLAGGED)[1] is True and ticked.tags_added == ("flagged",)
    unticked = only(make([rule("unflag", {"tags": {"remove": ["flagged"]}})],
                         [flagged(True, "flagged")], FLAG_NAMES))
    assert field(unticked, FLAGGED) == (True, False, "unflag")


def test_other_tags_and_fields_are_left_alone() -> None:
    # a tag no field owns, on a ticket whose dropdown disagrees with its tags: nothing invented
    change = only(make([rule("tag", {"tags": {"add": ["seen"]}})],
                       [with_plan("plan_gold", "vip")]))
    assert change.fields == () and change.tags_added == ("seen",) and change.tags_removed == ()


def test_a_second_plan_after_applying_finds_nothing() -> None:
    rules = [rule("gold", {"custom_fields": {"Plan": "Gold plan"}}),
             rule("no-chat", {"tags": {"remove": ["p_chat"]}})]
    tickets = [ticket(1, tags=["plan_silver", "p_chat"], custom_fields=[
        {"id": PLAN, "value": "plan_silver"}, {"id": PRODUCTS, "value": ["p_chat"]}])]
    first = make(rules, tickets)
    zendesk_update(tickets, only(first))
    assert make(rules, tickets).changes == ()
    assert tickets[0]["tags"] == ["plan_gold"]
    assert {f["id"]: f["value"] for f in tickets[0]["custom_fields"]} == {
        PLAN: "plan_gold", PRODUCTS: None}
