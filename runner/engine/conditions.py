"""Client-side conditions (`when.all` / `when.any`) compiled once per run into ticket predicates.

Compiling resolves every name (group, user, field title, option) and parses every regex, date and
duration up front, so a bad rule fails before any ticket is read, and evaluating a condition on a
ticket is only dict look-ups and comparisons.

Semantics worth knowing (also in the README):
- `matches` is a Python regular expression searched anywhere in the text (`re.search`, not a full
  match); anchor it with ^...$ to match the whole value. Use `(?i)` for case-insensitivity.
  Python's re cannot be timed out, so patterns that can backtrack without end are refused
  (`runner.config.regex_safety`) and only the first MATCH_TEXT_LIMIT (10,000) characters of a
  value are searched: `$` anchors at that cut on a longer text.
- `contains` / `not_contains` are case-insensitive substring tests; `is` / `is_not` compare exactly.
- A null or missing value never matches is/less_than/greater_than/includes/contains/matches/
  older_than/newer_than against a real value, and always matches the negative operators
  (`is_not`, `not_includes`, `not_contains`); `is: null` matches a null (for assignee: unassigned).
- `includes` holds when the ticket has at least one of the listed tags (or options of a
  multiselect field); `not_includes` when it has none of them.
- older_than/newer_than compare a timestamp with the run clock `now` minus a duration (90m, 72h,
  14d, 2w); a date field counts from midnight UTC of that date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from runner.config.fields import (
    CUSTOM_FIELD_PREFIX,
    FieldSpec,
    Kind,
    field_names,
    field_spec,
    parse_duration,
    zendesk_tag,
)
from runner.config.regex_safety import MATCH_TEXT_LIMIT, backtracking_risk
from runner.engine.resolve import Resolver, TicketField
from runner.engine.rules import ConditionLike, WhenLike, rule_error
from runner.engine.values import (
    custom_field_value,
    is_empty,
    parse_timestamp,
    ticket_tags,
    via_channel,
)

Ticket = Mapping[str, Any]
Predicate = Callable[[Ticket], bool]
Getter = Callable[[Ticket], Any]

PRESENCE = ("present", "not_present")
TEXT_OPERATORS = ("is", "is_not", "contains", "not_contains", "matches", *PRESENCE)
TIME_OPERATORS = ("less_than", "greater_than", "older_than", "newer_than", *PRESENCE)

# Built-in fields take the operators of runner.config.fields (what validate accepts). A custom
# field's type is only known once Zendesk is asked, so the operators per type live here.
CUSTOM_OPERATORS: dict[str, tuple[str, ...]] = {
    "text": TEXT_OPERATORS,
    "textarea": TEXT_OPERATORS,
    "regexp": TEXT_OPERATORS,
    "partialcreditcard": TEXT_OPERATORS,
    "tagger": ("is", "is_not", *PRESENCE),
    "multiselect": ("includes", "not_includes", *PRESENCE),
    "checkbox": ("is", "is_not"),
    "date": ("is", "is_not", *TIME_OPERATORS),
    "integer": ("is", "is_not", "less_than", "greater_than", *PRESENCE),
    "decimal": ("is", "is_not", "less_than", "greater_than", *PRESENCE),
    "lookup": ("is", "is_not", *PRESENCE),
}

_REFERENCES = (Kind.USER, Kind.GROUP, Kind.ORGANIZATION, Kind.BRAND)


class _Compiler:
    def __init__(
        self, rule: str, path: str, resolver: Resolver, now: datetime, source: str
    ) -> None:
        self.rule = rule
        self.path = path
        self.resolver = resolver
        self.now = now
        self.source = source

    def fail(self, message: str) -> Exception:
        return rule_error(self.rule, self.path, message, source=self.source)

    def compile(self, condition: ConditionLike) -> Predicate:
        field, operator, value = condition.field, condition.operator, condition.value
        spec = field_spec(field)
        if spec is None:
            raise self.fail(
                f"unknown condition field {field!r}; use one of {', '.join(field_names())}"
            )
        if spec.kind is Kind.CUSTOM:
            key: int | str = field.removeprefix(CUSTOM_FIELD_PREFIX)
            return self._custom(self.resolver.field(self.rule, key), operator, value)
        self._check_operator(field, operator, spec.operators)
        getter = _getter(spec)
        if operator in PRESENCE:
            return _presence(getter, operator)
        if spec.kind is Kind.ORDERED:
            return self._ordered(getter, operator, value, spec.values, field)
        if spec.kind is Kind.ENUM:
            if value is not None and value not in spec.values:
                raise self.fail(
                    f"{field} must be one of {', '.join(spec.values)} or null, not {value!r}"
                )
            return _equality(getter, operator, value)
        if spec.kind is Kind.VIA:
            return _equality(getter, operator, value)
        if spec.kind is Kind.TEXT:
            return self._text(getter, operator, value)
        if spec.kind is Kind.TAGS:
            tags = frozenset(zendesk_tag(t) for t in self._tag_list(value))
            return _includes(getter, operator, tags)
        if spec.kind in _REFERENCES:
            wanted = None if value is None else self._reference(spec, value)
            return _equality(getter, operator, wanted)
        return self._time(getter, operator, value)

    def _check_operator(self, field: str, operator: str, allowed: Sequence[str]) -> None:
        if operator not in allowed:
            raise self.fail(
                f"operator {operator!r} does not apply to {field}; use one of: {', '.join(allowed)}"
            )

    def _reference(self, spec: FieldSpec, value: Any) -> int:
        if not isinstance(value, int | str) or isinstance(value, bool):
            raise self.fail(f"{spec.name} takes a name, email or numeric id, not {value!r}")
        return self.resolver.resolve_id(spec.kind.value, self.rule, value)  # type: ignore[arg-type]

    def _ordered(
        self, getter: Getter, operator: str, value: Any, order: Sequence[str], field: str
    ) -> Predicate:
        if value not in order:
            raise self.fail(f"{field} must be one of {', '.join(order)}, not {value!r}")
        if operator in ("is", "is_not"):
            return _equality(getter, operator, value)
        rank = {name: i for i, name in enumerate(order)}
        wanted = rank[value]
        # a value outside the order ranks as `wanted` itself: neither less nor greater
        if operator == "less_than":
            return lambda t: rank.get(getter(t), wanted) < wanted
        return lambda t: rank.get(getter(t), wanted) > wanted

    def _text(self, getter: Getter, operator: str, value: Any) -> Predicate:
        if operator in ("is", "is_not"):
            return _equality(getter, operator, value)
        if not isinstance(value, str):
            raise self.fail(f"{operator} takes a text value, not {value!r}")
        if operator == "matches":
            try:
                pattern = re.compile(value)
            except re.error as error:
                raise self.fail(f"invalid regular expression {value!r}: {error}") from None
            # Validate refuses these too; a rule that reaches the engine another way must not
            # be able to hang a run either.
            risk = backtracking_risk(value)
            if risk:
                raise self.fail(f"the regular expression {value!r} is refused because {risk}")
            return lambda t: pattern.search(_text_of(getter(t))[:MATCH_TEXT_LIMIT]) is not None
        needle = value.casefold()
        if operator == "contains":
            return lambda t: needle in _text_of(getter(t)).casefold()
        return lambda t: needle not in _text_of(getter(t)).casefold()

    def _tag_list(self, value: Any) -> frozenset[str]:
        items = value.split() if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not items:
            raise self.fail(f"includes/not_includes take a tag or a list of tags, not {value!r}")
        return frozenset(str(item) for item in items)

    def _time(self, getter: Getter, operator: str, value: Any) -> Predicate:
        if operator in ("older_than", "newer_than"):
            try:
                duration = parse_duration(value if isinstance(value, str) else repr(value))
            except ValueError as error:
                raise self.fail(f"{operator}: {error}") from None
            cutoff = self.now - duration
            if operator == "older_than":
                return lambda t: _before(parse_timestamp(getter(t)), cutoff)
            return lambda t: _before(cutoff, parse_timestamp(getter(t)))
        moment = parse_timestamp(value)
        if moment is None:
            raise self.fail(
                f"{operator} takes a date (2024-05-31) or an ISO-8601 time "
                f"(2024-05-31T12:00:00+02:00), not {value!r}"
            )
        if operator == "less_than":
            return lambda t: _before(parse_timestamp(getter(t)), moment)
        if operator == "greater_than":
            return lambda t: _before(moment, parse_timestamp(getter(t)))
        # is / is_not on a date field: the same calendar day
        day = moment.date()
        if operator == "is":
            return lambda t: _day_of(getter(t)) == day
        return lambda t: _day_of(getter(t)) != day

    def _custom(self, field: TicketField, operator: str, value: Any) -> Predicate:
        allowed = CUSTOM_OPERATORS.get(field.type)
        if allowed is None:
            raise self.fail(
                f'conditions on the {field.type} field "{field.title}" are not supported'
            )
        self._check_operator(f'the {field.type} field "{field.title}"', operator, allowed)

        def getter(ticket: Ticket) -> Any:
            return custom_field_value(ticket, field.id)

        if operator in PRESENCE:
            return _presence(getter, operator)
        kind = field.type
        if kind in ("text", "textarea", "regexp", "partialcreditcard"):
            return self._text(getter, operator, value)
        if kind == "tagger":
            wanted = None if value is None else self.resolver.option_value(self.rule, field, value)
            return _equality(getter, operator, wanted)
        if kind == "multiselect":
            tags = self._tag_list(value)
            options = frozenset(self.resolver.option_value(self.rule, field, t) for t in tags)
            return _includes(lambda t: getter(t) or [], operator, options)
        if kind == "checkbox":
            if not isinstance(value, bool):
                raise self.fail(f'the checkbox "{field.title}" takes true or false, not {value!r}')
            # Zendesk reports an untouched checkbox as null: that is unchecked.
            return _equality(lambda t: bool(getter(t)), operator, value)
        if kind == "date":
            return self._time(getter, operator, value)
        if kind in ("integer", "decimal"):
            number = _number(value)
            if number is None:
                raise self.fail(
                    f'the {kind} field "{field.title}" compares with a number, not {value!r}'
                )
            return _numeric(getter, operator, number)
        return _equality(getter, operator, value)


def _getter(spec: FieldSpec) -> Getter:
    if spec.kind is Kind.VIA:
        return via_channel
    if spec.kind is Kind.TAGS:
        return ticket_tags
    key = spec.attribute
    return lambda t: t.get(key)


def _presence(getter: Getter, operator: str) -> Predicate:
    if operator == "present":
        return lambda t: not is_empty(getter(t))
    return lambda t: is_empty(getter(t))


def _equality(getter: Getter, operator: str, wanted: Any) -> Predicate:
    if operator == "is":
        return lambda t: getter(t) == wanted
    return lambda t: getter(t) != wanted


def _includes(getter: Getter, operator: str, wanted: frozenset[str]) -> Predicate:
    if operator == "includes":
        return lambda t: not wanted.isdisjoint(map(str, getter(t)))
    return lambda t: wanted.isdisjoint(map(str, getter(t)))


def _numeric(getter: Getter, operator: str, wanted: float) -> Predicate:
    def compare(ticket: Ticket) -> bool:
        have = _number(getter(ticket))
        if operator == "is_not":
            return have != wanted
        if have is None:
            return False
        if operator == "is":
            return have == wanted
        return have < wanted if operator == "less_than" else have > wanted

    return compare


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _text_of(value: Any) -> str:
    return "" if value is None else str(value)


def _before(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and a < b


def _day_of(value: Any) -> date | None:
    moment = parse_timestamp(value)
    return None if moment is None else moment.date()


def compile_condition(
    rule: str,
    condition: ConditionLike,
    resolver: Resolver,
    now: datetime,
    *,
    path: str = "when",
    source: str = "config",
) -> Predicate:
    """One condition -> a predicate over ticket dicts. Raises ConfigError/ResolveError."""
    return _Compiler(rule, path, resolver, now, source).compile(condition)


def compile_when(
    rule: str, when: WhenLike, resolver: Resolver, now: datetime, *, source: str = "config"
) -> Predicate:
    """`all` must all hold and, when `any` is not empty, at least one of `any` must hold."""
    every = [
        compile_condition(rule, c, resolver, now, path=f"when.all[{i}]", source=source)
        for i, c in enumerate(when.all or ())
    ]
    some = [
        compile_condition(rule, c, resolver, now, path=f"when.any[{i}]", source=source)
        for i, c in enumerate(when.any or ())
    ]

    # a plain loop over `all`: this runs for every ticket each rule reads, and a generator
    # per call for all() costs more than most conditions do
    def selects(ticket: Ticket) -> bool:
        for predicate in every:
            if not predicate(ticket):
                return False
        return not some or any(p(ticket) for p in some)

    return selects
