"""Every condition field and operator on Zendesk-shaped tickets, with the awkward cases."""

from __future__ import annotations

from typing import Any

import pytest
from engine_builders import NAMES, NOW

from runner.config.models import Condition, When
from runner.engine.conditions import compile_condition, compile_when
from runner.engine.resolve import InMemoryNames, Resolver
from runner.errors import ConfigError, ResolveError

TICKET: dict[str, Any] = {
    "id": 1042,
    "status": "open",
    "priority": "normal",
    "type": "question",
    "subject": "Refund for order 5531",
    "description": "Please REFUND me",
    "tags": ["vip", "needs-triage"],
    "assignee_id": None,
    "group_id": 10,
    "requester_id": 200,
    "organization_id": 300,
    "brand_id": 400,
    "via": {"channel": "email", "source": {}},
    "created_at": "2024-05-01T12:00:00Z",
    "updated_at": "2024-06-01T10:30:00Z",
    "custom_fields": [
        {"id": 501, "value": "A-77"},
        {"id": 502, "value": "plan_gold"},
        {"id": 503, "value": True},
        {"id": 504, "value": "2024-05-20"},
        {"id": 505, "value": "42"},
        {"id": 506, "value": ["p_chat"]},
        {"id": 507, "value": "19.5"},
    ],
}

# A ticket with every optional value null or missing.
BARE: dict[str, Any] = {
    "id": 7,
    "status": "new",
    "priority": None,
    "tags": None,
    "custom_fields": [{"id": 503, "value": None}],
}


def check(field: str, operator: str, value: Any = None, ticket: dict[str, Any] = TICKET) -> bool:
    condition = Condition(field=field, operator=operator, value=value)  # type: ignore[arg-type]
    return compile_condition("r", condition, Resolver(NAMES), NOW)(ticket)


CASES = [
    # ordered enumerations
    ("status", "is", "open", True),
    ("status", "is_not", "open", False),
    ("status", "less_than", "pending", True),
    ("status", "less_than", "open", False),
    ("status", "greater_than", "new", True),
    ("status", "greater_than", "solved", False),
    ("priority", "is", "normal", True),
    ("priority", "less_than", "high", True),
    ("priority", "greater_than", "low", True),
    ("priority", "greater_than", "normal", False),
    ("type", "is", "question", True),
    ("type", "is_not", "incident", True),
    # text
    ("subject", "contains", "REFUND", True),
    ("subject", "not_contains", "invoice", True),
    ("subject", "is", "Refund for order 5531", True),
    ("subject", "is", "refund for order 5531", False),
    ("subject", "matches", r"order \d+", True),
    ("subject", "matches", r"^order", False),
    ("subject", "matches", r"(?i)^refund", True),
    ("description", "contains", "refund", True),
    # tags
    ("tags", "includes", "vip", True),
    ("tags", "includes", ["gold", "vip"], True),
    ("tags", "includes", "gold", False),
    ("tags", "not_includes", ["gold", "silver"], True),
    ("tags", "not_includes", ["gold", "vip"], False),
    ("tags", "present", None, True),
    # references: names, emails, ids, null
    ("group", "is", "Support", True),
    ("group", "is", "billing", False),
    ("group", "is", 10, True),
    ("group", "is_not", "Billing", True),
    ("assignee", "is", None, True),
    ("assignee", "not_present", None, True),
    ("assignee", "is_not", "ann@acme.test", True),
    ("requester", "is", "carl@example.test", True),
    ("requester", "is", 200, True),
    ("organization", "is", "Acme", True),
    ("brand", "is", "Acme Brand", True),
    ("via", "is", "email", True),
    ("via", "is_not", "web", True),
    # timestamps against the fixed clock
    ("created_at", "older_than", "14d", True),
    ("created_at", "older_than", "60d", False),
    ("created_at", "newer_than", "60d", True),
    ("updated_at", "newer_than", "91m", True),
    ("updated_at", "newer_than", "60m", False),
    ("updated_at", "older_than", "1h", True),
    ("updated_at", "older_than", "2h", False),
    ("updated_at", "older_than", "1w", False),
    # custom fields by title and by id, each type
    ("custom_fields.Order number", "is", "A-77", True),
    ("custom_fields.501", "contains", "a-7", True),
    ("custom_fields.order number", "matches", r"^A-\d+$", True),
    ("custom_fields.Plan", "is", "Gold plan", True),
    ("custom_fields.Plan", "is", "plan_gold", True),
    ("custom_fields.Plan", "is_not", "Silver plan", True),
    ("custom_fields.VIP", "is", True, True),
    ("custom_fields.VIP", "is", False, False),
    ("custom_fields.Renewal", "less_than", "2024-06-01", True),
    ("custom_fields.Renewal", "greater_than", "2024-06-01", False),
    ("custom_fields.Renewal", "older_than", "7d", True),
    ("custom_fields.Renewal", "is", "2024-05-20", True),
    ("custom_fields.Seats", "greater_than", 40, True),
    ("custom_fields.Seats", "is", 42, True),
    ("custom_fields.Seats", "less_than", 42, False),
    ("custom_fields.Amount", "greater_than", 19.4, True),
    ("custom_fields.Products", "includes", "Chat", True),
    ("custom_fields.Products", "includes", ["p_voice"], False),
    ("custom_fields.Products", "not_includes", "Voice", True),
]


@pytest.mark.parametrize(("field", "operator", "value", "expected"), CASES)
def test_condition_on_a_full_ticket(field: str, operator: str, value: Any, expected: bool) -> None:
    assert check(field, operator, value) is expected


NULL_CASES = [
    ("priority", "is", "normal", False),
    ("priority", "is_not", "normal", True),
    ("priority", "less_than", "urgent", False),
    ("priority", "greater_than", "low", False),
    ("priority", "not_present", None, True),
    ("type", "is", None, True),
    ("subject", "contains", "x", False),
    ("subject", "not_contains", "x", True),
    ("subject", "matches", "x", False),
    ("subject", "not_present", None, True),
    ("tags", "includes", "vip", False),
    ("tags", "not_includes", "vip", True),
    ("tags", "not_present", None, True),
    ("group", "is", None, True),
    ("group", "is_not", "Support", True),
    ("via", "is", "email", False),
    ("created_at", "older_than", "1d", False),
    ("created_at", "newer_than", "1d", False),
    ("custom_fields.Order number", "not_present", None, True),
    ("custom_fields.Order number", "contains", "A", False),
    ("custom_fields.Plan", "is", "Gold plan", False),
    ("custom_fields.Plan", "is_not", "Gold plan", True),
    ("custom_fields.VIP", "is", False, True),
    ("custom_fields.Renewal", "less_than", "2030-01-01", False),
    ("custom_fields.Seats", "greater_than", 0, False),
    ("custom_fields.Seats", "is_not", 3, True),
    ("custom_fields.Products", "includes", "Chat", False),
    ("custom_fields.Products", "not_includes", "Chat", True),
]


@pytest.mark.parametrize(("field", "operator", "value", "expected"), NULL_CASES)
def test_null_and_missing_values_never_crash(
    field: str, operator: str, value: Any, expected: bool
) -> None:
    assert check(field, operator, value, BARE) is expected


def test_timestamps_compare_across_time_zones() -> None:
    # 10:30Z is 12:30 in Paris: written with an offset it is the same instant.
    ticket = {**TICKET, "updated_at": "2024-06-01T12:30:00+02:00"}
    assert check("updated_at", "newer_than", "91m", ticket)
    assert not check("updated_at", "newer_than", "60m", ticket)
    # A timestamp without an offset is UTC, as Zendesk sends them.
    naive = {**TICKET, "updated_at": "2024-06-01T10:30:00"}
    assert check("updated_at", "older_than", "89m", naive)
    assert check("custom_fields.Renewal", "less_than", "2024-05-20T01:00:00+00:00")
    assert not check("custom_fields.Renewal", "less_than", "2024-05-20T01:00:00+02:00")


def test_a_malformed_timestamp_on_a_ticket_matches_nothing() -> None:
    ticket = {**TICKET, "created_at": "last tuesday"}
    assert not check("created_at", "older_than", "1d", ticket)
    assert not check("created_at", "newer_than", "1d", ticket)


def test_all_and_any() -> None:
    resolver = Resolver(NAMES)
    when = When(
        query="status<solved",
        all=[Condition(field="tags", operator="includes", value="vip")],
        any=[
            Condition(field="priority", operator="is", value="urgent"),
            Condition(field="group", operator="is", value="Support"),
        ],
    )
    selects = compile_when("r", when, resolver, NOW)
    assert selects(TICKET)
    assert not selects({**TICKET, "group_id": 11})
    assert not selects({**TICKET, "tags": []})
    assert compile_when("r", When(query="x"), resolver, NOW)(BARE)


@pytest.mark.parametrize(
    ("field", "operator", "value", "message"),
    [
        ("status", "includes", "open", "does not apply to status"),
        ("status", "is", "opened", "must be one of new, open"),
        ("subject", "matches", "(unclosed", "invalid regular expression"),
        ("created_at", "older_than", "3 days", "not a duration"),
        ("custom_fields.VIP", "is", "yes", "takes true or false"),
        ("custom_fields.Seats", "greater_than", "many", "compares with a number"),
        ("custom_fields.Plan", "contains", "gold", "does not apply"),
        ("tags", "includes", [], "tag or a list of tags"),
    ],
)
def test_bad_conditions_are_config_errors_naming_the_rule(
    field: str, operator: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        check(field, operator, value)
    assert message in str(caught.value)
    assert "rules[r].when" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("group", "Finance", "Finance"),
        ("assignee", "nobody@acme.test", "nobody@acme.test"),
        ("organization", 999, "999"),
        ("custom_fields.Colour", "red", "Colour"),
        ("custom_fields.Plan", "Platinum", "Platinum"),
    ],
)
def test_unknown_names_are_resolve_errors_naming_rule_and_name(
    field: str, value: Any, name: str
) -> None:
    with pytest.raises(ResolveError) as caught:
        check(field, "is", value)
    assert 'rule "r"' in str(caught.value)
    assert name in str(caught.value)


def test_names_are_resolved_once_per_run() -> None:
    names = InMemoryNames(groups=[{"id": 10, "name": "Support"}])
    resolver = Resolver(names)
    for _ in range(5):
        condition = Condition(field="group", operator="is", value="Support")
        compile_condition("r", condition, resolver, NOW)
    assert names.calls == 1


def test_an_ambiguous_name_is_an_error_not_a_guess() -> None:
    names = InMemoryNames(
        groups=[
            {"id": 1, "name": "Tier 1"},
            {"id": 2, "name": "tier 1"},
            {"id": 3, "name": "TIER 1"},
        ]
    )
    resolver = Resolver(names)
    assert resolver.resolve_id("group", "r", "Tier 1") == 1  # exact spelling wins
    with pytest.raises(ResolveError, match="ambiguous"):
        resolver.resolve_id("group", "r", "tIER 1")


def test_values_outside_the_order_and_non_text_tags() -> None:
    # a priority Zendesk may add later ranks neither below nor above any known one
    odd = {**TICKET, "priority": "critical", "tags": [2024, "vip"]}
    assert not check("priority", "less_than", "urgent", odd)
    assert not check("priority", "greater_than", "low", odd)
    assert check("priority", "is_not", "urgent", odd)
    # tags compare as text whatever JSON type they came as
    assert check("tags", "includes", "2024", odd)
    assert not check("tags", "not_includes", ["2024", "gold"], odd)
    assert check("tags", "present", None, odd)


def test_tag_conditions_ignore_the_case_a_rule_writes_them_in() -> None:
    assert check("tags", "includes", ["VIP"]) is True
    assert check("tags", "not_includes", "Needs-Triage") is False
