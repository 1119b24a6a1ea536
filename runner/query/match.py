"""Matching: compile a `Query` into a predicate over ticket dicts, or test one `Term`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runner.errors import ResolveError
from runner.query.custom import custom_single, custom_value
from runner.query.dates import date_bounds, interval_test, ticket_stamp
from runner.query.directory import Directory
from runner.query.keywords import (
    CUSTOM_PREFIX,
    DATE_KEYWORDS,
    MAX_ID_DIGITS,
    NAMED_KEYWORDS,
    PRIORITIES,
    STATUSES,
    USER_KEYWORDS,
)
from runner.query.terms import Query, Term
from runner.query.text import text_matches, text_pattern

Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class _Context:
    directory: Directory
    now: datetime
    me: int | None


def _never(ticket: Mapping[str, Any]) -> bool:
    return False


def _always(ticket: Mapping[str, Any]) -> bool:
    return True


def compile(
    query: Query,
    directory: Directory,
    *,
    now: datetime,
    me: int | None = None,
) -> Predicate:
    """A predicate for tickets (Zendesk JSON dicts) that says whether `query` selects them.

    Names resolve through `directory` here, once (an unknown name matches no ticket, as in
    Zendesk); `me` is the caller's user id (ResolveError if the query says `me` without it);
    `now` anchors relative dates. A query for users, organizations or groups (`type:user`)
    selects no ticket; an empty query selects every ticket.
    """
    if query.object_type not in (None, "ticket"):
        return _never
    context = _Context(directory, now, me)
    costed: list[tuple[int, Predicate]] = []
    for clause in query.clauses:
        checks = [_compile_term(term, context) for term in clause]
        cost = max(_cost(term) for term in clause)
        costed.append((cost, checks[0] if len(checks) == 1 else _any_of(checks)))
    # cheap, selective checks first: most tickets fail on status or tags before any text work
    return _all_of([check for _, check in sorted(costed, key=lambda pair: pair[0])])


def term_matches(
    term: Term,
    ticket: Mapping[str, Any],
    directory: Directory,
    *,
    now: datetime,
    me: int | None = None,
) -> bool:
    """Whether one term (negation included) holds for a ticket, which may be partial.

    An attribute missing from `ticket` reads as Zendesk's empty value (null, no tags), so a
    static check should ask only about terms whose `field` it has set.
    """
    return _compile_term(term, _Context(directory, now, me))(ticket)


def _cost(term: Term) -> int:
    if term.keyword in ("status", "priority", "ticket_type", "id", "via"):
        return 0
    if term.keyword in USER_KEYWORDS or term.keyword in NAMED_KEYWORDS:
        return 0
    if term.keyword == "tags":
        return 1
    if term.keyword in DATE_KEYWORDS:
        return 2
    if term.keyword.startswith(CUSTOM_PREFIX):
        return 3
    return 4


def _all_of(checks: list[Predicate]) -> Predicate:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda ticket: first(ticket) and second(ticket)
    frozen = tuple(checks)

    def every(ticket: Mapping[str, Any]) -> bool:
        # a plain loop: this runs per ticket, and a generator in all() costs a third more
        for check in frozen:  # noqa: SIM110
            if not check(ticket):
                return False
        return True

    return every


def _any_of(checks: list[Predicate]) -> Predicate:
    frozen = tuple(checks)

    def some(ticket: Mapping[str, Any]) -> bool:
        for check in frozen:  # noqa: SIM110 - per-ticket loop, as in _all_of
            if check(ticket):
                return True
        return False

    return some


def _compile_term(term: Term, context: _Context) -> Predicate:
    check = _positive_check(term, context)
    if term.negated:
        return lambda ticket: not check(ticket)
    return check


def _positive_check(term: Term, context: _Context) -> Predicate:
    keyword, value, op = term.keyword, term.value, term.op
    if keyword == "status" or keyword == "priority":
        order = STATUSES if keyword == "status" else PRIORITIES
        allowed = _ordered_subset(order, value, op)
        return lambda ticket: ticket.get(keyword) in allowed
    if keyword == "ticket_type":
        return lambda ticket: ticket.get("type") == value
    if keyword == "tags":
        return _tags_check(term)
    if keyword == "via":
        return _via_check(value)
    if keyword in USER_KEYWORDS or keyword in NAMED_KEYWORDS:
        return _id_check(term, context)
    if keyword in DATE_KEYWORDS:
        return _date_check(term.field, value, op, context.now)
    if keyword in ("subject", "description"):
        return _field_text_check(term)
    if keyword == "id":
        wanted = _as_id(value)
        return lambda ticket: wanted is not None and ticket.get("id") == wanted
    if keyword == "text":
        # a free word is a word-start prefix, a phrase whole words in order; a free word that
        # punctuation splits ("e-mail") reads as a phrase whose last word is a prefix
        pattern = text_pattern(value, prefix=not term.quoted)
        return lambda ticket: text_matches(pattern, ticket)
    if keyword.startswith(CUSTOM_PREFIX):
        return _custom_check(term)
    raise AssertionError(f"keyword {keyword!r} has no matcher")  # parse admits no other


def _ordered_subset(order: tuple[str, ...], value: str, op: str) -> frozenset[str]:
    rank = order.index(value)
    pick: dict[str, Callable[[int], bool]] = {
        ":": lambda i: i == rank,
        "<": lambda i: i < rank,
        "<=": lambda i: i <= rank,
        ">": lambda i: i > rank,
        ">=": lambda i: i >= rank,
    }
    return frozenset(name for i, name in enumerate(order) if pick[op](i))


def _tags_check(term: Term) -> Predicate:
    if term.value == "none" and not term.quoted:
        return lambda ticket: not ticket.get("tags")
    exact = tuple(tag for tag in term.value.split() if not tag.endswith("*"))
    prefixes = tuple(tag[:-1] for tag in term.value.split() if tag.endswith("*"))
    if len(exact) == 1 and not prefixes:
        only = exact[0]
        return lambda ticket: only in (ticket.get("tags") or ())

    def has_all(ticket: Mapping[str, Any]) -> bool:
        tags = ticket.get("tags") or ()
        return all(tag in tags for tag in exact) and all(
            any(tag.startswith(prefix) for tag in tags) for prefix in prefixes
        )

    return has_all


def _via_check(value: str) -> Predicate:
    def channel(ticket: Mapping[str, Any]) -> str | None:
        via = ticket.get("via")
        found = via.get("channel") if isinstance(via, Mapping) else None
        return found.lower() if isinstance(found, str) and found else None

    if value == "none":
        return lambda ticket: channel(ticket) is None
    return lambda ticket: channel(ticket) == value


def _id_check(term: Term, context: _Context) -> Predicate:
    attribute = term.field
    value = term.value
    if value == "none" and not term.quoted:
        return lambda ticket: ticket.get(attribute) is None
    ids: frozenset[int]
    if value == "me" and not term.quoted and term.keyword in USER_KEYWORDS:
        if context.me is None:
            raise ResolveError(
                f"the query term {term} needs to know who 'me' is, and no caller was given: "
                "pass the id of the user the token acts as"
            )
        ids = frozenset({context.me})
    elif value.isascii() and value.isdigit():
        as_id = _as_id(value)
        ids = frozenset() if as_id is None else frozenset({as_id})
    else:
        lookup = {
            "assignee": context.directory.user_ids,
            "requester": context.directory.user_ids,
            "submitter": context.directory.user_ids,
            "group": context.directory.group_ids,
            "organization": context.directory.organization_ids,
            "brand": context.directory.brand_ids,
        }[term.keyword]
        ids = frozenset(lookup(value))
    if len(ids) == 1:
        (only,) = ids
        return lambda ticket: ticket.get(attribute) == only
    return lambda ticket: ticket.get(attribute) in ids


def _as_id(digits: str) -> int | None:
    # int() refuses very long digit strings, and no id is that long anyway
    return int(digits) if len(digits.lstrip("0")) <= MAX_ID_DIGITS else None


def _date_check(attribute: str, value: str, op: str, now: datetime) -> Predicate:
    lo, hi = date_bounds(value, now)
    test = interval_test(op, lo, hi)

    def check(ticket: Mapping[str, Any]) -> bool:
        stamp = ticket_stamp(ticket.get(attribute))
        return stamp is not None and test(stamp)

    return check


def _field_text_check(term: Term) -> Predicate:
    attribute = term.keyword
    pattern = text_pattern(term.value, prefix=term.value.endswith("*"))

    def check(ticket: Mapping[str, Any]) -> bool:
        found = ticket.get(attribute)
        return isinstance(found, str) and pattern.search(found) is not None

    return check


def _custom_check(term: Term) -> Predicate:
    field_id = term.custom_field_id
    assert field_id is not None
    single = custom_single(term.value, term.op)

    def check(ticket: Mapping[str, Any]) -> bool:
        found = custom_value(ticket, field_id)
        if isinstance(found, list):  # multiselect: any option
            return any(single(item) for item in found)
        return found is not None and single(found)

    return check
