"""Tests of runner.query: parsing (with located errors) and matching Zendesk ticket dicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.errors import QuerySyntaxError, ResolveError, ZdopsError
from runner.query import (
    MAX_WORDS,
    Query,
    StaticDirectory,
    Term,
    compile,
    parse,
    term_matches,
    text_pattern,
)

NOW = datetime(2024, 6, 15, 12, 0, 0, tzinfo=UTC)
ME = 7

DIRECTORY = StaticDirectory(
    users={
        1: ("Jane Doe", "jane@example.com"),
        2: ("Bob Stone", "bob@example.com"),
        3: ("Jane Doe", "jane.d@example.org"),
        ME: ("Bot", "bot@acme.com"),
    },
    groups={10: "Billing", 11: "Support Tier 2"},
    organizations={20: "MD Photo", 21: "Acme"},
    brands={30: "Acme Brand"},
)


def ticket(**overrides: Any) -> dict[str, Any]:
    """A ticket shaped as Zendesk returns it, with neutral values unless overridden."""
    base: dict[str, Any] = {
        "id": 4016,
        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": "2024-06-01T09:00:00Z",
        "updated_at": "2024-06-10T09:00:00Z",
        "type": None,
        "subject": "Printer on fire",
        "description": "The smoke is very colorful.",
        "priority": None,
        "status": "open",
        "requester_id": 2,
        "submitter_id": 2,
        "assignee_id": None,
        "organization_id": None,
        "group_id": None,
        "due_at": None,
        "tags": [],
        "custom_fields": [],
        "brand_id": 30,
    }
    base.update(overrides)
    return base


def matches(query: str, *, me: int | None = ME, now: datetime = NOW, **fields: Any) -> bool:
    return compile(parse(query), DIRECTORY, now=now, me=me)(ticket(**fields))


def syntax_error(query: str) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    return caught.value


# ------------------------------------------------------------------------------------------
# Structure of a parsed query


def test_parse_exposes_terms_clauses_and_controls() -> None:
    query = parse(
        'type:ticket status<solved tags:vip tags:gold -tags:billing-routed refund "exact words" '
        "order_by:created sort:asc"
    )
    assert query.object_type == "ticket"
    assert query.order_by == "created"
    assert query.sort == "asc"
    assert [str(term) for term in query.terms] == [
        "status<solved",
        "tags:vip",
        "tags:gold",
        "-tags:billing-routed",
        "refund",
        '"exact words"',
    ]
    assert [[str(term) for term in clause] for clause in query.clauses] == [
        ["status<solved"],
        ["tags:vip", "tags:gold"],
        ["-tags:billing-routed"],
        ["refund"],
        ['"exact words"'],
    ]
    assert query.fields == {"status", "tags", "text"}


def test_term_records_keyword_op_value_negation_and_column() -> None:
    query = parse('status:open  -Tags:VIP organization:"MD Photo" 123')
    assert query.terms == (
        Term("status", ":", "open", False, 1),
        Term("tags", ":", "vip", True, 14),
        Term("organization", ":", "MD Photo", False, 24, quoted=True),
        Term("id", ":", "123", False, 48),
    )


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("status:open", "status"),
        ("priority:high", "priority"),
        ("ticket_type:task", "type"),
        ("tags:a", "tags"),
        ("assignee:1", "assignee_id"),
        ("requester:1", "requester_id"),
        ("submitter:1", "submitter_id"),
        ("group:1", "group_id"),
        ("organization:1", "organization_id"),
        ("brand:1", "brand_id"),
        ("via:web", "via"),
        ("subject:x", "subject"),
        ("description:x", "description"),
        ("created>2024-01-01", "created_at"),
        ("updated>2024-01-01", "updated_at"),
        ("solved>2024-01-01", "solved_at"),
        ("due_date>2024-01-01", "due_at"),
        ("custom_field_360012:x", "custom_field:360012"),
        ("4016", "id"),
        ("word", "text"),
        ('"a phrase"', "text"),
    ],
)
def test_term_field_names_the_ticket_attribute(text: str, field: str) -> None:
    (term,) = parse(text).terms
    assert term.field == field


def test_repeated_comparisons_and_negations_and_words_are_anded() -> None:
    query = parse(
        "created>2014-08-01 created<2014-08-05 -tags:a -tags:b one two 1 2 status:new status:open"
    )
    sizes = [len(clause) for clause in query.clauses]
    assert sizes == [1, 1, 1, 1, 1, 1, 1, 1, 2]


def test_empty_query_has_no_terms_and_selects_everything() -> None:
    query = parse("   ")
    assert query == Query(text="   ", terms=(), clauses=())
    assert compile(query, DIRECTORY, now=NOW)(ticket())


@pytest.mark.parametrize(
    ("text", "order_by", "sort"),
    [
        ("order_by:created", "created", None),
        ("order_by:created_at sort:desc", "created", "desc"),
        ("order_by:updated_at", "updated", None),
        ("ORDER_BY:Priority SORT:ASC", "priority", "asc"),
        ("order_by:commented", "commented", None),
        ("order_by:ticket_type", "ticket_type", None),
        ("order_by:status", "status", None),
    ],
)
def test_order_by_and_sort_are_exposed_not_filters(
    text: str, order_by: str, sort: str | None
) -> None:
    query = parse(text)
    assert (query.order_by, query.sort, query.terms) == (order_by, sort, ())


@pytest.mark.parametrize("kind", ["user", "organization", "group"])
def test_other_object_types_select_no_ticket(kind: str) -> None:
    query = parse(f"type:{kind}")
    assert query.object_type == kind
    assert not compile(query, DIRECTORY, now=NOW)(ticket())


def test_type_ticket_selects_tickets() -> None:
    assert matches("type:ticket")
    assert matches("type:Ticket type:ticket status:open")


# ------------------------------------------------------------------------------------------
# Keywords and operators


@pytest.mark.parametrize(
    ("query", "selected"),
    [
        ("status:open", {"open"}),
        ("status<solved", {"new", "open", "pending", "hold"}),
        ("status<=pending", {"new", "open", "pending"}),
        ("status>hold", {"solved", "closed"}),
        ("status>=solved", {"solved", "closed"}),
        ("-status:closed", {"new", "open", "pending", "hold", "solved"}),
        ("status:new status:hold", {"new", "hold"}),
        ("status>new status<solved", {"open", "pending", "hold"}),
        ("STATUS:Open", {"open"}),
    ],
)
def test_status_is_ordered(query: str, selected: set[str]) -> None:
    statuses = ["new", "open", "pending", "hold", "solved", "closed"]
    assert {s for s in statuses if matches(query, status=s)} == selected


@pytest.mark.parametrize(
    ("query", "selected"),
    [
        ("priority:normal", {"normal"}),
        ("priority>normal", {"high", "urgent"}),
        ("priority>=normal", {"normal", "high", "urgent"}),
        ("priority<high", {"low", "normal"}),
        ("priority<=low", {"low"}),
        ("-priority:urgent", {None, "low", "normal", "high"}),
    ],
)
def test_priority_is_ordered_and_unset_priority_never_compares(
    query: str, selected: set[str | None]
) -> None:
    values: list[str | None] = [None, "low", "normal", "high", "urgent"]
    assert {p for p in values if matches(query, priority=p)} == selected


def test_ticket_type() -> None:
    assert matches("ticket_type:incident", type="incident")
    assert not matches("ticket_type:incident", type="problem")
    assert not matches("ticket_type:incident", type=None)
    assert matches("-ticket_type:task", type=None)


@pytest.mark.parametrize(
    ("query", "tags", "expected"),
    [
        ("tags:vip", ["vip", "x"], True),
        ("tags:vip", ["viper"], False),
        ("tags:VIP", ["vip"], True),
        ("tags:silver tags:bronze", ["bronze"], True),
        ("tags:silver tags:bronze", ["gold"], False),
        ('tags:"gold sev1"', ["gold", "sev1", "x"], True),
        ('tags:"gold sev1"', ["gold"], False),
        ('tags:"gold  sev1" tags:silver', ["silver"], True),
        ("-tags:invoice", ["invoice"], False),
        ("-tags:invoice", [], True),
        ("tags:none", [], True),
        ("tags:none", ["a"], False),
        ("-tags:none", ["a"], True),
        ("tags:vip*", ["vip_gold"], True),
        ("tags:vip*", ["gold_vip"], False),
        ('tags:"gold sev*"', ["gold", "sev2"], True),
        ("tags:is_awesome", ["is_awesome"], True),
    ],
)
def test_tags(query: str, tags: list[str], expected: bool) -> None:
    assert matches(query, tags=tags) is expected


def test_tags_missing_or_null_reads_as_no_tags() -> None:
    assert matches("tags:none", tags=None)
    assert not matches("tags:vip", tags=None)


@pytest.mark.parametrize(
    ("query", "assignee", "expected"),
    [
        ("assignee:1", 1, True),
        ("assignee:1", 2, False),
        ("assignee:jane@example.com", 1, True),
        ("assignee:JANE@EXAMPLE.COM", 1, True),
        ("assignee:jane@example.com", 3, False),
        ('assignee:"Jane Doe"', 1, True),
        ('assignee:"jane doe"', 3, True),
        ('assignee:"Jane Doe"', 2, False),
        ("assignee:me", ME, True),
        ("assignee:me", 1, False),
        ("assignee:none", None, True),
        ("assignee:none", 1, False),
        ("-assignee:none", 1, True),
        ("assignee:nobody@example.com", 1, False),
        ("assignee:1 assignee:2", 2, True),
        ("-assignee:me", None, True),
    ],
)
def test_assignee(query: str, assignee: int | None, expected: bool) -> None:
    assert matches(query, assignee_id=assignee) is expected


def test_requester_and_submitter() -> None:
    assert matches("requester:bob@example.com", requester_id=2)
    assert not matches("requester:jane@example.com", requester_id=2)
    assert matches("submitter:me", submitter_id=ME)
    assert matches('submitter:"Bob Stone"', submitter_id=2)


@pytest.mark.parametrize(
    ("query", "fields", "expected"),
    [
        ("group:Billing", {"group_id": 10}, True),
        ("group:billing", {"group_id": 10}, True),
        ("group:10", {"group_id": 10}, True),
        ('group:"Support Tier 2"', {"group_id": 11}, True),
        ("group:Billing", {"group_id": 11}, False),
        ("group:none", {"group_id": None}, True),
        ("group:Unknown", {"group_id": 10}, False),
        ('organization:"MD Photo"', {"organization_id": 20}, True),
        ("organization:none", {"organization_id": None}, True),
        ("organization:none", {"organization_id": 21}, False),
        ("organization:21", {"organization_id": 21}, True),
        ('brand:"Acme Brand"', {"brand_id": 30}, True),
        ("brand:30", {"brand_id": 31}, False),
    ],
)
def test_group_organization_brand(query: str, fields: dict[str, Any], expected: bool) -> None:
    assert matches(query, **fields) is expected


@pytest.mark.parametrize(
    ("query", "via", "expected"),
    [
        ("via:web", {"channel": "web"}, True),
        ("via:api", {"channel": "web"}, False),
        ("via:mail", {"channel": "email"}, True),
        ("via:email", {"channel": "email"}, True),
        ("via:none", None, True),
        ("via:none", {"channel": None}, True),
        ("via:none", {"channel": "web"}, False),
        ("-via:web", {"channel": "api"}, True),
    ],
)
def test_via(query: str, via: dict[str, Any] | None, expected: bool) -> None:
    assert matches(query, via=via) is expected


@pytest.mark.parametrize(
    ("query", "subject", "expected"),
    [
        ("subject:photo", "Photo shoot", True),
        ("subject:photo", "Photography course", False),
        ("subject:photo*", "Photography course", True),
        ("subject:photo*", "Telephoto lens", False),
        ('subject:"upgrade my"', "Please upgrade my account", True),
        ('subject:"my upgrade"', "Please upgrade my account", False),
        ("-subject:photo", "Photo", False),
        ("subject:refund", None, False),
    ],
)
def test_subject(query: str, subject: str | None, expected: bool) -> None:
    assert matches(query, subject=subject, description="photo upgrade my refund") is expected


def test_description_is_its_own_field() -> None:
    assert matches("description:smoke", subject="x", description="The smoke is")
    assert not matches("description:printer", subject="Printer", description="The smoke")


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("top", "top", True),
        ("top", "Top Ten Trucking", True),
        ("top", "Dessert Toppings, Inc", True),
        ("top", "Tip-Top Mops", True),
        ("top", "Desktop Solutions", False),
        ("top", "One-Stop Publishing", False),
        ("TOP", "top tier", True),
        ("please upgrade", "upgrade now, please", True),
        ("please upgrade", "please wait", False),
        ('"Please upgrade my account"', "Hi! Please, upgrade my account.", True),
        ('"Please upgrade my account"', "please upgrade my accounts", False),
        ('"upgrade my"', "my upgrade", False),
        ("-refund", "refund please", False),
        ("-refund", "printer", True),
        ('-"on fire"', "Printer on fire", False),
        ("e-mail", "my E-Mail bounced", True),
        ("e-mail", "email bounced", False),
        ("café", "Le Café est fermé", True),
    ],
)
def test_free_text_in_subject_or_description(query: str, text: str, expected: bool) -> None:
    assert matches(query, subject=text, description="") is expected
    assert matches(query, subject="", description=text) is expected


def test_free_words_may_come_from_subject_and_description() -> None:
    assert matches("printer colorful", subject="Printer on fire", description="colorful smoke")


def test_free_text_with_missing_fields() -> None:
    assert not matches("printer", subject=None, description=None)
    assert matches("-printer", subject=None, description=None)


def test_bare_number_is_a_ticket_id() -> None:
    assert matches("4016", id=4016)
    assert not matches("4016", id=4017)
    assert matches("-4016", id=4017)
    assert matches("004016", id=4016)


# ------------------------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("query", "created", "expected"),
    [
        # a YYYY-MM-DD value is the whole UTC day
        ("created>2014-08-01", "2014-08-01T23:59:59Z", False),
        ("created>2014-08-01", "2014-08-02T00:00:00Z", True),
        ("created>=2014-08-01", "2014-08-01T00:00:00Z", True),
        ("created>=2014-08-01", "2014-07-31T23:59:59Z", False),
        ("created<2014-08-05", "2014-08-04T23:59:59Z", True),
        ("created<2014-08-05", "2014-08-05T00:00:00Z", False),
        ("created<=2014-08-05", "2014-08-05T23:59:59Z", True),
        ("created<=2014-08-05", "2014-08-06T00:00:00Z", False),
        ("created:2014-08-05", "2014-08-05T12:00:00Z", True),
        ("created:2014-08-05", "2014-08-06T00:00:00Z", False),
        ("created>2014-08-01 created<2014-08-05", "2014-08-03T10:00:00Z", True),
        ("created>2014-08-01 created<2014-08-05", "2014-08-05T10:00:00Z", False),
        # an ISO-8601 date-time is an instant; the offset is honoured
        ("created>2015-09-01T12:00:00-08:00", "2015-09-01T20:00:00Z", False),
        ("created>2015-09-01T12:00:00-08:00", "2015-09-01T20:00:01Z", True),
        ("created>=2015-09-01T12:00:00-08:00", "2015-09-01T20:00:00Z", True),
        ("created<2015-09-01T12:00:00Z", "2015-09-01T11:59:59Z", True),
        ("created<2015-09-01T12:00:00Z", "2015-09-01T12:00:00Z", False),
        ("created<=2015-09-01T12:00:00+0200", "2015-09-01T10:00:00Z", True),
        ("created:2015-09-01T12:00:00Z", "2015-09-01T12:00:00Z", True),
        ("created>2015-09-01T12:00", "2015-09-01T12:00:30Z", True),
        ("created<2014-08-05T24:00:00Z", "2014-08-05T23:59:59Z", True),
        ("created<2014-08-05T24:00:00Z", "2014-08-06T00:00:00Z", False),
        # ticket timestamps in other ISO forms are read too
        ("created>2014-08-01", "2014-08-02T01:00:00+02:00", False),
        ("created>2014-08-01", "2014-08-02T00:00:00.500Z", True),
        ("created>2014-08-01", "garbage", False),
        ("created>2014-08-01", None, False),
        ("-created>2014-08-01", None, True),
    ],
)
def test_absolute_dates(query: str, created: str | None, expected: bool) -> None:
    assert matches(query, created_at=created) is expected


@pytest.mark.parametrize(
    ("query", "updated", "expected"),
    [
        # created>4hours: "created in the last four hours" (Zendesk's own wording)
        ("updated>4hours", NOW - timedelta(hours=3, minutes=59), True),
        ("updated>4hours", NOW - timedelta(hours=4, minutes=1), False),
        # updated<7days: not updated for more than seven days
        ("updated<7days", NOW - timedelta(days=8), True),
        ("updated<7days", NOW - timedelta(days=6), False),
        ("updated<1day", NOW - timedelta(hours=25), True),
        ("updated>30minutes", NOW - timedelta(minutes=29), True),
        ("updated>30minute", NOW - timedelta(minutes=31), False),
        ("updated>2weeks", NOW - timedelta(days=13), True),
        ("updated>2weeks", NOW - timedelta(days=15), False),
        ("updated>1month", datetime(2024, 5, 15, 12, 0, 1, tzinfo=UTC), True),
        ("updated>1month", datetime(2024, 5, 15, 11, 59, 59, tzinfo=UTC), False),
        ("updated>=1year", datetime(2023, 6, 15, 12, 0, 0, tzinfo=UTC), True),
        ("updated>1YEARS", datetime(2023, 6, 15, 11, 0, 0, tzinfo=UTC), False),
        ("updated<=3hours", NOW - timedelta(hours=3), True),
        ("updated<99999years", NOW, False),
    ],
)
def test_relative_dates_count_back_from_now(query: str, updated: datetime, expected: bool) -> None:
    stamp = updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert matches(query, updated_at=stamp) is expected


def test_relative_months_clamp_to_the_end_of_a_short_month() -> None:
    now = datetime(2024, 3, 31, 10, 0, 0, tzinfo=UTC)  # one month back is Feb 29
    assert matches("created>1month", now=now, created_at="2024-02-29T10:00:01Z")
    assert not matches("created>1month", now=now, created_at="2024-02-29T09:59:59Z")


def test_relative_dates_accept_a_clock_in_another_zone_or_naive_utc() -> None:
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    naive = NOW.replace(tzinfo=None)
    for now in (tokyo, naive):
        assert matches("created>1hours", now=now, created_at="2024-06-15T11:30:00Z")
        assert not matches("created>1hours", now=now, created_at="2024-06-15T10:30:00Z")


def test_solved_and_due_date() -> None:
    assert matches("solved>2024-06-01", solved_at="2024-06-02T00:00:00Z")
    assert not matches("solved>2024-06-01")  # no solved_at: solved terms are false
    assert matches("due_date<2024-07-01", due_at="2024-06-30T23:00:00Z")
    assert not matches("due_date<2024-07-01", due_at=None)


# ------------------------------------------------------------------------------------------
# Custom fields


def fields(value: Any, field_id: int = 360012) -> list[dict[str, Any]]:
    return [{"id": 1, "value": "other"}, {"id": field_id, "value": value}]


@pytest.mark.parametrize(
    ("query", "value", "expected"),
    [
        ("custom_field_360012:ord-1", "ORD-1", True),
        ("custom_field_360012:ord-1", "ORD-2", False),
        ('custom_field_360012:"two words"', "two words", True),
        ("custom_field_360012:ord*", "ORD-77", True),
        ("custom_field_360012:gold", ["silver", "gold"], True),
        ("custom_field_360012:gold", ["silver"], False),
        ("custom_field_360012:true", True, True),
        ("custom_field_360012:false", True, False),
        ("custom_field_360012:5", 5, True),
        ("custom_field_360012:5", "5.0", True),
        ("custom_field_360012>5", "7", True),
        ("custom_field_360012>5", 5, False),
        ("custom_field_360012>=5", 5.0, True),
        ("custom_field_360012<-1.5", -2, True),
        ("custom_field_360012<=0", "n/a", False),
        ("custom_field_360012>2024-01-31", "2024-02-01", True),
        ("custom_field_360012>2024-01-31", "2024-01-31", False),
        ("custom_field_360012<=2024-01-31", "2024-01-31", True),
        ("custom_field_360012:2024-01-31", "2024-01-31", True),
        ("custom_field_360012:x", None, False),
        ("-custom_field_360012:x", None, True),
        ("custom_field_360012>5", True, False),
    ],
)
def test_custom_fields(query: str, value: Any, expected: bool) -> None:
    assert matches(query, custom_fields=fields(value)) is expected


def test_custom_field_absent_from_ticket() -> None:
    assert not matches("custom_field_99:x", custom_fields=fields("x"))
    assert not matches("custom_field_99:x", custom_fields=None)


# ------------------------------------------------------------------------------------------
# Compile and term_matches


def test_typical_rule_query() -> None:
    query = "status<solved tags:vip -tags:billing-routed refund"
    assert matches(query, status="open", tags=["vip"], subject="Refund request")
    assert not matches(query, status="solved", tags=["vip"], subject="Refund request")
    assert not matches(query, status="open", tags=["vip", "billing-routed"], subject="Refund")
    assert not matches(query, status="open", tags=[], subject="Refund request")
    assert not matches(query, status="open", tags=["vip"], subject="Printer")


def test_names_resolve_once_at_compile_time() -> None:
    calls: list[str] = []

    class CountingDirectory(StaticDirectory):
        def group_ids(self, value: str) -> frozenset[int]:
            calls.append(value)
            return super().group_ids(value)

    directory = CountingDirectory(groups={10: "Billing"})
    predicate = compile(parse("group:Billing"), directory, now=NOW)
    results = [predicate(ticket(group_id=gid)) for gid in (10, 11, 10, None)]
    assert results == [True, False, True, False]
    assert calls == ["Billing"]


def test_me_without_a_caller_is_a_resolve_error() -> None:
    with pytest.raises(ResolveError, match="'me'"):
        compile(parse("assignee:me"), DIRECTORY, now=NOW)


def test_term_matches_reads_a_partial_ticket() -> None:
    query = parse("status<solved -tags:billing-routed group:Billing")
    status, routed, group = query.terms
    after_actions = {"status": "solved", "tags": ["billing-routed"], "group_id": 10}
    assert not term_matches(status, after_actions, DIRECTORY, now=NOW)
    assert not term_matches(routed, after_actions, DIRECTORY, now=NOW)
    assert term_matches(group, after_actions, DIRECTORY, now=NOW)
    assert term_matches(status, {"status": "open"}, DIRECTORY, now=NOW)
    assert term_matches(parse("refund").terms[0], {"subject": "Refund"}, DIRECTORY, now=NOW)
    assert term_matches(parse("assignee:me").terms[0], {"assignee_id": 5}, DIRECTORY, now=NOW, me=5)


def test_text_pattern_needs_a_word() -> None:
    assert text_pattern("photo*", prefix=True).search("Photography")
    with pytest.raises(ValueError, match="no letters or digits"):
        text_pattern("--", prefix=True)


# ------------------------------------------------------------------------------------------
# Errors: where, and what to write instead


@pytest.mark.parametrize(
    ("query", "column", "fragment"),
    [
        ('status:open "unclosed phrase', 13, "unclosed quote"),
        ('organization:"MD Photo', 14, "unclosed quote"),
        ("status:", 1, "status: has no value"),
        ("tags:vip   -status: open", 13, "no space"),
        ('tags:""', 6, "empty value"),
        ("status:opne", 8, "use one of new, open, pending, hold, solved, closed"),
        ("priority>medium", 10, "use one of low, normal, high, urgent"),
        ("ticket_type:bug", 13, "use one of question, incident, problem, task"),
        ("tags>x", 1, "tags has no order"),
        ("-assignee<5", 2, "assignee has no order"),
        ("created>2024-13-01", 9, "bad date"),
        ("created>2024-02-30", 9, "day is out of range"),
        ("created>01/02/2024", 9, "write YYYY-MM-DD"),
        ("created>2024-01-01T25:00Z", 9, "bad date"),
        ("created>2024-01-01T10:00+25:00", 9, "bad UTC offset"),
        ("updated<7fortnights", 9, "unknown time unit 'fortnights'"),
        ("created>4h", 9, "write 4hours"),
        ("created>2d", 9, "write 2days"),
        ("created:4hours", 1, "relative time needs < or >"),
        ("created>999999years", 9, "too far back"),
        ("created>none", 9, "`none` works only with"),
        ("status:open colour:red", 13, "unknown keyword 'colour'"),
        ("re:refund", 1, '"re:refund"'),
        ("custom_field_abc:1", 1, "numeric field id"),
        ("custom_field_1>big", 16, "needs a number or a YYYY-MM-DD date"),
        ("custom_field_1<2024-02-30", 16, "bad date"),
        ("custom_field_1>ab*", 16, "needs ':'"),
        ("comment:hello", 1, "does not support the Zendesk keyword 'comment'"),
        ("status:open photo*", 18, "needs a keyword"),
        ("subject:ph*to", 9, "must end a word"),
        ("group:Bill*", 7, "does not take a '*' wildcard"),
        ("updated < 2025-07-04", 9, "no keyword before it"),
        ("updated <2025-07-04", 9, "no keyword before it"),
        ("updated< 2025-07-04", 1, "has no value"),
        ("updated> ", 1, "has no value"),
        ("status :open", 8, "no keyword before it"),
        ("status:open OR status:pending", 13, "no OR operator"),
        ("tags:a AND tags:b", 8, "no AND operator"),
        ("- tags:a", 1, "lone '-'"),
        ("--tags:a", 1, "double '-'"),
        ("&&", 1, "no letters or digits"),
        ('""', 1, "no letters or digits"),
        ('"a"b', 4, "after a closing quote"),
        ('tags:a"b"', 7, "must enclose the whole value"),
        ("-type:ticket", 2, "cannot be negated"),
        ("type>ticket", 1, "takes ':'"),
        ("type:article", 6, "unknown type 'article'"),
        ("type:user type:ticket", 11, "one object type"),
        ("order_by:size", 10, "cannot order by 'size'"),
        ("order_by:created order_by:status", 18, "order_by given twice"),
        ("sort:up", 6, "sort:asc or sort:desc"),
        ("sort:asc sort:desc", 10, "sort given twice"),
        ("priority:none", 10, "`none` works only with assignee, group, organization, tags, via"),
        ("group:me", 7, "`me` works with assignee"),
        ("x " * MAX_WORDS + "y", 2 * MAX_WORDS + 1, "more than 64 words"),
        ('"' + "w " * MAX_WORDS + 'w"', 1, "more than 64 words"),
    ],
)
def test_errors_say_where_and_what_to_write(query: str, column: int, fragment: str) -> None:
    error = syntax_error(query)
    assert fragment in error.reason
    assert error.column == column
    assert error.query == query
    assert isinstance(error, ZdopsError)
    assert f"column {column}" in str(error)


def test_unknown_keyword_lists_the_known_ones() -> None:
    reason = syntax_error("colour:red").reason
    for keyword in ("status", "tags", "custom_field_<id>", "due_date", "order_by"):
        assert keyword in reason


def test_sixty_four_words_are_allowed() -> None:
    assert len(parse("x " * MAX_WORDS).terms) == MAX_WORDS


# ------------------------------------------------------------------------------------------
# Properties

_QUERY_ALPHABET = st.sampled_from(
    [*'abcstu:<>=-*" \t09_', "status", "tags", "created", "none", "me", "hours", "é"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_QUERY_ALPHABET, max_size=30).map("".join))
def test_parse_raises_only_query_syntax_errors(text: str) -> None:
    try:
        query = parse(text)
    except QuerySyntaxError as error:
        assert 1 <= error.column <= len(text) + 1
        assert error.reason
        return
    # whatever parses also compiles and runs on a ticket
    compile(query, DIRECTORY, now=NOW, me=ME)(ticket())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parse_survives_arbitrary_text(text: str) -> None:
    try:
        parse(text)
    except QuerySyntaxError as error:
        assert 1 <= error.column <= len(text) + 1


_TERMS = st.sampled_from(
    [
        "status<solved",
        "-tags:vip",
        'tags:"gold sev1"',
        'organization:"MD Photo"',
        "created>2024-01-01",
        "updated<7days",
        "custom_field_5:x*",
        "refund",
        '"exact phrase"',
        "4016",
        "-assignee:none",
        "via:mail",
        "subject:photo*",
    ]
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_TERMS, max_size=8))
def test_terms_print_back_to_an_equivalent_query(parts: list[str]) -> None:
    query = parse(" ".join(parts))
    again = parse(" ".join(str(term) for term in query.terms))
    strip = [(t.keyword, t.op, t.value, t.negated, t.quoted) for t in query.terms]
    assert strip == [(t.keyword, t.op, t.value, t.negated, t.quoted) for t in again.terms]


def test_query_built_from_terms_gets_the_clauses_parse_gives() -> None:
    parsed = parse("tags:a tags:b -tags:c")
    built = Query(text=parsed.text, terms=parsed.terms)
    assert built.clauses == parsed.clauses
    assert [len(clause) for clause in built.clauses] == [2, 1]


def test_very_long_numbers_are_handled_not_crashed_on() -> None:
    huge = "9" * 5000
    assert not matches(huge, id=4016)
    assert matches(f"-{huge}", id=4016)
    assert not matches(f"assignee:{huge}", assignee_id=1)
    assert syntax_error(f"created>{huge}hours").reason.startswith(f"'{huge}hours' is too far")
    assert "numeric field id" in syntax_error(f"custom_field_{huge}:x").reason
    assert matches(f"custom_field_5<{huge}", custom_fields=fields(3, field_id=5))


# ------------------------------------------------------------------------------------------
# Commas: Zendesk tags never hold one, and no enumeration value does


@pytest.mark.parametrize(
    ("query", "column"), [("status:open tags:vip,gold", 21), ('tags:"a,b"', 6)]
)
def test_a_comma_in_a_tag_is_an_error_not_a_term_that_matches_nothing(
    query: str, column: int
) -> None:
    error = syntax_error(query)
    assert error.column == column
    assert error.reason.startswith("a tag has no commas, so tags:")
    assert "repeat the keyword for any of them (tags:a tags:b)" in error.reason


def test_a_comma_list_of_statuses_suggests_repeating_the_keyword() -> None:
    error = syntax_error("status:open,pending")
    assert error.column == 8
    assert error.reason == (
        "unknown status 'open,pending': use one of new, open, pending, hold, solved, closed "
        "(to match any of several, repeat the keyword: status:open status:...)"
    )
