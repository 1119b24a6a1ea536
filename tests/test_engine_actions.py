"""Every action on a simulated ticket, and the comment template language."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from engine_builders import NAMES

from runner.config.models import Actions
from runner.engine.actions import compile_actions
from runner.engine.resolve import Resolver
from runner.engine.templates import render
from runner.errors import ConfigError, ResolveError

TICKET: dict[str, Any] = {
    "id": 1042,
    "status": "open",
    "priority": "normal",
    "type": None,
    "subject": "Refund for order 5531",
    "tags": ["vip", "needs-triage"],
    "assignee_id": 100,
    "group_id": 10,
    "requester_id": 200,
    "custom_fields": [
        {"id": 501, "value": "A-77"},
        {"id": 505, "value": "42"},
        {"id": 503, "value": None},
        {"id": 506, "value": ["p_voice", "p_chat"]},
    ],
}


def apply(actions: dict[str, Any], ticket: dict[str, Any] = TICKET) -> Any:
    resolver = Resolver(NAMES)
    compiled = compile_actions("route", Actions.model_validate(actions), resolver)
    return compiled.apply(ticket, resolver.user_name)


def changed_fields(effects: Any) -> dict[str, Any]:
    return {f.field: f.value for f in effects.fields}


def test_scalar_fields_change_only_when_they_differ() -> None:
    effects = apply({"status": "pending", "priority": "normal", "type": "incident"})
    assert changed_fields(effects) == {"status": "pending", "type": "incident"}
    assert effects.ticket["status"] == "pending"
    assert TICKET["status"] == "open"  # the ticket given is never modified


def test_applying_copies_only_what_it_writes_and_never_changes_the_given_ticket() -> None:
    given = copy.deepcopy(TICKET)
    resolver = Resolver(NAMES)
    actions = {
        "tags": {"add": ["routed"]},
        "custom_fields": {"Seats": 7, "Products": ["Chat"]},
    }
    compiled = compile_actions("route", Actions.model_validate(actions), resolver)
    first = compiled.apply(given, resolver.user_name).ticket
    second = compiled.apply(copy.deepcopy(TICKET), resolver.user_name).ticket
    assert given == TICKET  # nothing the ticket holds was changed in place
    # the multiselect's option puts its tag on, as Zendesk does (runner.engine.tagfields)
    assert first["tags"] == ["vip", "needs-triage", "routed", "p_chat"]
    assert first["tags"] is not given["tags"]
    assert first["custom_fields"] is not given["custom_fields"]
    entries = {e["id"]: e for e in first["custom_fields"]}
    assert entries[505] == {"id": 505, "value": 7}
    # the entries no action touched are shared, not copied
    assert entries[501] is given["custom_fields"][0]
    # each ticket gets its own multiselect list, not the compiled rule's one
    products = next(e for e in second["custom_fields"] if e["id"] == 506)["value"]
    assert entries[506]["value"] == products == ["p_chat"]
    assert entries[506]["value"] is not products
    # a value no action writes stays the same object
    assert first["subject"] is given["subject"]


def test_group_and_assignee_by_name_email_id_and_null() -> None:
    effects = apply({"group": "Billing", "assignee": "ann@acme.test"})
    assert changed_fields(effects) == {"group": 11}
    assert effects.fields[0].value_label == "Billing"
    assert changed_fields(apply({"group": 11})) == {"group": 11}
    assert changed_fields(apply({"assignee": None})) == {"assignee": None}
    # absent is not null: leaving assignee out leaves it alone
    assert apply({"priority": "high"}).ticket["assignee_id"] == 100


def test_tags_add_remove_set() -> None:
    effects = apply({"tags": {"add": ["billing-routed", "vip"], "remove": ["needs-triage", "x"]}})
    assert effects.tags_added == ["billing-routed"]
    assert effects.tags_removed == ["needs-triage"]
    assert effects.ticket["tags"] == ["vip", "billing-routed"]
    replaced = apply({"tags": {"set": ["a", "vip"]}})
    assert replaced.tags_added == ["a"]
    assert replaced.tags_removed == ["needs-triage"]
    assert not apply({"tags": {"add": ["vip"], "remove": ["absent"]}}).changed


def test_custom_fields_of_every_type_compare_as_zendesk_stores_them() -> None:
    same = apply(
        {
            "custom_fields": {
                "Order number": "A-77",
                "Seats": 42,
                "VIP": False,
                "Products": ["Chat", "Voice"],
            }
        }
    )
    assert not same.changed  # "42" is 42, null is unchecked, multiselect order does not matter
    effects = apply(
        {
            "custom_fields": {
                "Plan": "Gold plan",
                "VIP": True,
                "Renewal": "2025-01-31",
                "505": 7,
                "Order number": None,
                "Products": ["p_chat"],
            }
        }
    )
    assert changed_fields(effects) == {
        "custom_fields.502": "plan_gold",
        "custom_fields.503": True,
        "custom_fields.504": "2025-01-31",
        "custom_fields.505": 7,
        "custom_fields.501": None,
        "custom_fields.506": ["p_chat"],
    }
    plan_change = next(f for f in effects.fields if f.field == "custom_fields.502")
    assert (plan_change.label, plan_change.value_label) == ("Plan", "Gold plan")
    values = {e["id"]: e["value"] for e in effects.ticket["custom_fields"]}
    assert values[502] == "plan_gold" and values[501] is None


@pytest.mark.parametrize(
    ("actions", "error", "message"),
    [
        ({"group": "Finance"}, ResolveError, "Finance"),
        ({"assignee": "nobody@acme.test"}, ResolveError, "nobody@acme.test"),
        ({"custom_fields": {"Colour": "red"}}, ResolveError, "Colour"),
        ({"custom_fields": {"Plan": "Platinum"}}, ResolveError, "Platinum"),
        ({"custom_fields": {"VIP": "yes"}}, ConfigError, "true or false"),
        ({"custom_fields": {"Renewal": "next week"}}, ConfigError, "YYYY-MM-DD"),
        ({"custom_fields": {"Seats": 2.5}}, ConfigError, "whole number"),
        ({"comment": {"body": "Hi {{ticket.requester.email}}"}}, ConfigError, "requester.email"),
        ({"comment": {"body": "{{ ticket.__class__ }}"}}, ConfigError, "__class__"),
    ],
)
def test_bad_actions_name_the_rule_and_the_problem(
    actions: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        apply(actions)
    assert message in str(caught.value)
    assert "route" in str(caught.value)


def test_comment_with_every_placeholder() -> None:
    body = "#{{ticket.id}} {{ ticket.subject }} for {{ticket.requester.name}} by {{rule.name}}"
    effects = apply({"comment": {"body": body, "public": True}})
    assert effects.comment is not None
    assert effects.comment.body == "#1042 Refund for order 5531 for Carl Customer by route"
    assert effects.comment.public is True
    assert effects.changed


def test_template_values_are_never_expanded_again() -> None:
    ticket = {**TICKET, "subject": "{{rule.name}} {{ticket.id}}"}
    effects = apply({"comment": {"body": "Re: {{ticket.subject}}"}}, ticket)
    assert effects.comment is not None
    assert effects.comment.body == "Re: {{rule.name}} {{ticket.id}}"


def test_render_leaves_unknown_placeholders_alone() -> None:
    assert render("{{ticket.secret}} {{rule.name}}", {"rule.name": "r"}) == "{{ticket.secret}} r"
    assert render("{{ticket.requester.name}}!", {}) == "!"  # unknown requester: empty, no crash


def test_tags_are_compared_and_written_as_zendesk_stores_them_in_lower_case() -> None:
    # Zendesk stores "VIP-Noted" as "vip-noted": written as typed, the rule would find its tag
    # missing on every run and post its comment again each time.
    noted = {**TICKET, "tags": ["vip", "vip-noted"]}
    effects = apply({"tags": {"add": ["VIP-Noted"], "remove": ["VIP"]}}, noted)
    assert (effects.tags_added, effects.tags_removed) == ([], ["vip"])
    replaced = apply({"tags": {"set": ["Gold", "gold", "VIP"]}})
    assert replaced.ticket["tags"] == ["gold", "vip"]


def test_an_end_user_as_assignee_is_an_error_naming_rule_and_user() -> None:
    from runner.engine.resolve import InMemoryNames

    names = InMemoryNames(
        users=[
            {"id": 100, "email": "ann@acme.test", "role": "agent"},
            {"id": 200, "email": "carl@example.test", "role": "end-user"},
        ]
    )
    resolver = Resolver(names)
    refused = r"rule \"route\": the assignee ('carl@example.test'|200) is an end-user"
    for key in ("carl@example.test", 200):
        with pytest.raises(ResolveError, match=refused):
            compile_actions("route", Actions.model_validate({"assignee": key}), resolver)
    agent = compile_actions(
        "route", Actions.model_validate({"assignee": "ann@acme.test"}), resolver
    )
    assert agent.sets[0].value == 100
