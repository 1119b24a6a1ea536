"""Zendesk search syntax: parse a query (with located errors) and match tickets against it.

Two users: the config checker (does a rule's action make its own query false? see
`Query.clauses` and `term_matches`) and the sandbox search (`compile` once, then run the
predicate over every ticket).

How a query reads (Zendesk's Support search reference, and where we had to choose):

- Words are separated by whitespace; `keyword:value`, `keyword<value`, `>`, `<=`, `>=` take no
  spaces around the operator (`updated < 2025-07-04` is an error here: in Zendesk it silently
  becomes three free words). Keywords are case-insensitive.
- `-term` negates. Repeating a keyword with `:` ORs the values (`tags:a tags:b`); every other
  combination ANDs: different keywords, negated terms, comparisons (so `created>2014-08-01
  created<2014-08-05` is a range) and free words. `Query.clauses` is that AND of ORs.
- A quoted value of `tags` needs every tag (`tags:"gold sev1"`); a quoted value elsewhere is one
  value with spaces (`organization:"MD Photo"`, `subject:"exact phrase"`).
- Free words match, case-insensitively, the start of a word of subject + description (`top`
  matches "Toppings", not "Desktop"); a `"quoted phrase"` matches whole words in that order.
  Punctuation separates words and is otherwise ignored. Zendesk also stems ("refunds" ~
  "refund"); we do not, so a query that relies on stemming matches less here, never more.
- `subject:` and `description:` match one whole word (or a phrase, quoted) of that field;
  a trailing `*` makes the last word a prefix (`subject:photo*`). `*` needs a keyword.
- Dates (`created`, `updated`, `solved`, `due_date`): a `YYYY-MM-DD` value is a whole UTC day, so
  `created>2014-08-01 created<2014-08-05` is Aug 2 through Aug 4, `created:2024-01-01` is that
  day, `<=`/`>=` include it. An ISO-8601 date-time is an instant (no offset means UTC; `T24:00`
  is the next midnight). A relative value `N<unit>` (minutes, hours, days, weeks, months, years,
  singular or plural) is the instant N units before `now`, compared like any instant: Zendesk
  documents `created>4hours` as "created in the last four hours", so `updated<7days` reads
  "updated more than 7 days ago". Short units (`4h`, `2d`) are rejected: Zendesk does not
  document them, and a query that works here but silently matches nothing there is the failure
  this module exists to catch.
- `none` (no value) works with assignee, group, organization, tags and via, as documented.
- A bare number is a ticket id. `type:` (ticket, user, organization, group), `order_by:` and
  `sort:` are not filters; they are exposed as `Query.object_type`, `order_by` and `sort`.

A query that cannot be parsed raises `QuerySyntaxError` with a 1-based column and a reason that
says what to write instead. Keywords Zendesk knows but a ticket's JSON cannot answer (comment,
commenter, cc, form, ...) are rejected by name rather than matched wrongly.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from runner.errors import QuerySyntaxError, ResolveError

__all__ = [
    "KNOWN_KEYWORDS",
    "MAX_WORDS",
    "OBJECT_TYPES",
    "ORDER_FIELDS",
    "PRIORITIES",
    "SORT_ORDERS",
    "STATUSES",
    "TICKET_TYPES",
    "Directory",
    "Predicate",
    "Query",
    "StaticDirectory",
    "Term",
    "compile",
    "parse",
    "term_matches",
    "text_matches",
    "text_pattern",
]

STATUSES: tuple[str, ...] = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
TICKET_TYPES: tuple[str, ...] = ("question", "incident", "problem", "task")
OBJECT_TYPES: tuple[str, ...] = ("ticket", "user", "organization", "group")
# order_by value -> canonical sort field; the `_at` forms are what the API's sort_by takes.
ORDER_FIELDS: dict[str, str] = {
    "created": "created",
    "created_at": "created",
    "updated": "updated",
    "updated_at": "updated",
    "commented": "commented",
    "priority": "priority",
    "status": "status",
    "ticket_type": "ticket_type",
}
SORT_ORDERS: tuple[str, ...] = ("asc", "desc")
MAX_WORDS = 64

# keyword -> the ticket attribute it reads (Term.field)
_FIELDS: dict[str, str] = {
    "status": "status",
    "priority": "priority",
    "ticket_type": "type",
    "tags": "tags",
    "assignee": "assignee_id",
    "requester": "requester_id",
    "submitter": "submitter_id",
    "group": "group_id",
    "organization": "organization_id",
    "brand": "brand_id",
    "via": "via",
    "subject": "subject",
    "description": "description",
    "created": "created_at",
    "updated": "updated_at",
    "solved": "solved_at",
    "due_date": "due_at",
    "id": "id",
    "text": "text",
}
_USER_KEYWORDS = frozenset({"assignee", "requester", "submitter"})
_NAMED_KEYWORDS = frozenset({"group", "organization", "brand"})
_DATE_KEYWORDS = frozenset({"created", "updated", "solved", "due_date"})
_NONE_KEYWORDS = frozenset({"assignee", "group", "organization", "tags", "via"})
_WILDCARD_KEYWORDS = frozenset({"subject", "description", "tags"})  # and custom fields
_ORDERED_KEYWORDS = frozenset({"status", "priority"}) | _DATE_KEYWORDS  # and custom fields
_CONTROL_KEYWORDS = frozenset({"type", "order_by", "sort"})
_CUSTOM_PREFIX = "custom_field_"
# Real Zendesk keywords that zdops does not evaluate: most need data a ticket's JSON does not
# carry (comments, form names, attachments); rejecting them by name beats matching by guess.
_UNSUPPORTED_KEYWORDS = frozenset(
    {
        "commenter",
        "cc",
        "comment",
        "form",
        "recipient",
        "has_attachment",
        "custom_status_id",
        "fieldvalue",
        "satisfaction",
        "support_type",
    }
)
KNOWN_KEYWORDS: tuple[str, ...] = (
    *sorted(k for k in _FIELDS if k not in ("id", "text")),
    "custom_field_<id>",
    *sorted(_CONTROL_KEYWORDS),
)

_VIA_ALIASES = {"mail": "email"}  # Zendesk search calls the email channel `mail`

_KEYWORD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(<=|>=|:|<|>)(.*)", re.DOTALL)
_WORD_RE = re.compile(r"[^\W_]+")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE | re.ASCII,
)
_RELATIVE_RE = re.compile(r"(\d+)([A-Za-z]+)", re.ASCII)
_NUMBER_RE = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)
_RELATIVE_UNITS: dict[str, str] = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
    "year": "years",
    "years": "years",
}
_MAX_RELATIVE = 100_000  # beyond this a relative date is a typo, not a query
_MAX_ID_DIGITS = 19  # Zendesk ids are 64-bit; longer digit strings name nothing


@dataclass(frozen=True)
class Term:
    """One filter of a query.

    `keyword` is canonical ("status", "tags", "custom_field_123", "id" for a bare number, "text"
    for a free word or phrase); `value` is lower-cased for enumerations, tags and via, and as
    written otherwise (names, dates, text), without quotes. `quoted` says the value was in double
    quotes (a phrase, or several tags that must all be present). `column` is 1-based in the query.
    """

    keyword: str
    op: str
    value: str
    negated: bool = False
    column: int = 1
    quoted: bool = False

    @property
    def field(self) -> str:
        """The ticket attribute this term reads; "text" is subject + description."""
        if self.keyword.startswith(_CUSTOM_PREFIX):
            return "custom_field:" + self.keyword[len(_CUSTOM_PREFIX) :]
        return _FIELDS[self.keyword]

    @property
    def custom_field_id(self) -> int | None:
        if self.keyword.startswith(_CUSTOM_PREFIX):
            return int(self.keyword[len(_CUSTOM_PREFIX) :])
        return None

    def __str__(self) -> str:
        value = f'"{self.value}"' if self.quoted else self.value
        sign = "-" if self.negated else ""
        if self.keyword == "text" or self.keyword == "id":
            return sign + value
        return f"{sign}{self.keyword}{self.op}{value}"


@dataclass(frozen=True)
class Query:
    """A parsed query: its filters, and the clauses Zendesk evaluates (an AND of ORs)."""

    text: str
    terms: tuple[Term, ...]
    object_type: str | None = None
    order_by: str | None = None
    sort: str | None = None
    clauses: tuple[tuple[Term, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        # a Query built by hand from terms gets the same clauses parse() would give it
        if self.terms and not self.clauses:
            object.__setattr__(self, "clauses", _clauses(self.terms))

    @property
    def fields(self) -> frozenset[str]:
        """Every ticket attribute the query reads."""
        return frozenset(term.field for term in self.terms)


class Directory(Protocol):
    """Name lookups a query needs; each returns every matching id (empty: none matches)."""

    def user_ids(self, value: str) -> frozenset[int]:
        """Users by email (exact, case-insensitive) or by name."""
        ...

    def group_ids(self, value: str) -> frozenset[int]: ...

    def organization_ids(self, value: str) -> frozenset[int]: ...

    def brand_ids(self, value: str) -> frozenset[int]: ...


@dataclass(frozen=True)
class StaticDirectory:
    """A Directory over in-memory tables; names and emails compare case-insensitively.

    `users` maps id -> (name, email); the others map id -> name.
    """

    users: Mapping[int, tuple[str, str | None]] = field(default_factory=dict)
    groups: Mapping[int, str] = field(default_factory=dict)
    organizations: Mapping[int, str] = field(default_factory=dict)
    brands: Mapping[int, str] = field(default_factory=dict)

    def user_ids(self, value: str) -> frozenset[int]:
        wanted = value.casefold()
        return frozenset(
            uid
            for uid, (name, email) in self.users.items()
            if name.casefold() == wanted or (email is not None and email.casefold() == wanted)
        )

    def group_ids(self, value: str) -> frozenset[int]:
        return _ids_named(self.groups, value)

    def organization_ids(self, value: str) -> frozenset[int]:
        return _ids_named(self.organizations, value)

    def brand_ids(self, value: str) -> frozenset[int]:
        return _ids_named(self.brands, value)


def _ids_named(table: Mapping[int, str], value: str) -> frozenset[int]:
    wanted = value.casefold()
    return frozenset(i for i, name in table.items() if name.casefold() == wanted)


# --------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class _Token:
    text: str
    column: int


def _tokenize(text: str) -> list[_Token]:
    """Split on whitespace outside double quotes; count words against Zendesk's limit."""
    tokens: list[_Token] = []
    words = 0
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        while i < n and not text[i].isspace():
            if text[i] == '"':
                close = text.find('"', i + 1)
                if close < 0:
                    raise QuerySyntaxError(
                        'unclosed quote: add the closing " (a phrase or a value with spaces '
                        "must be enclosed in a pair of double quotes)",
                        text,
                        i + 1,
                    )
                i = close + 1
            else:
                i += 1
        raw = text[start:i]
        words += max(1, len(raw.split()))
        if words > MAX_WORDS:
            raise QuerySyntaxError(
                f"the query has more than {MAX_WORDS} words, which Zendesk does not allow: "
                "split it into narrower rules or move some filters to `all`/`any` conditions",
                text,
                start + 1,
            )
        tokens.append(_Token(raw, start + 1))
    return tokens


@dataclass
class _Parsed:
    terms: list[Term] = field(default_factory=list)
    object_type: str | None = None
    order_by: str | None = None
    sort: str | None = None


def parse(text: str) -> Query:
    """Parse a Zendesk search query; raise QuerySyntaxError (with its column) if it is bad."""
    parsed = _Parsed()
    for token in _tokenize(text):
        _parse_token(token, text, parsed)
    terms = tuple(parsed.terms)
    return Query(
        text=text,
        terms=terms,
        object_type=parsed.object_type,
        order_by=parsed.order_by,
        sort=parsed.sort,
        clauses=_clauses(terms),
    )


def _clauses(terms: tuple[Term, ...]) -> tuple[tuple[Term, ...], ...]:
    """Group terms as Zendesk does: positive `keyword:value` repeats OR, all else ANDs."""
    groups: list[list[Term]] = []
    by_keyword: dict[str, list[Term]] = {}
    for term in terms:
        joins = not term.negated and term.op == ":" and term.keyword not in ("text", "id")
        if joins and term.keyword in by_keyword:
            by_keyword[term.keyword].append(term)
            continue
        group = [term]
        groups.append(group)
        if joins:
            by_keyword[term.keyword] = group
    return tuple(tuple(group) for group in groups)


def _parse_token(token: _Token, text: str, parsed: _Parsed) -> None:
    raw, column = token.text, token.column
    negated = False
    body, body_col = raw, column
    if raw == "-":
        raise QuerySyntaxError(
            "a lone '-' negates nothing: put it right before the term, e.g. -tags:invoice",
            text,
            column,
        )
    if raw.startswith("-"):
        negated, body, body_col = True, raw[1:], column + 1
        if body.startswith("-"):
            raise QuerySyntaxError(
                "double '-': one '-' before a term negates it, e.g. -status:closed",
                text,
                column,
            )
    if body.startswith('"'):
        phrase = _unquote(body, text, body_col)
        _check_text(phrase, text, body_col, quoted=True)
        parsed.terms.append(Term("text", ":", phrase, negated, column, quoted=True))
        return
    if body[0] in "<>:":
        raise QuerySyntaxError(
            f"operator {body[0]!r} has no keyword before it: write keyword, operator and value "
            "with no spaces, e.g. updated<2025-07-04 or status:open",
            text,
            body_col,
        )
    match = _KEYWORD_RE.fullmatch(body)
    if match is None:
        _parse_free_word(body, negated, column, body_col, text, parsed)
        return
    keyword_raw, op, value_raw = match.group(1), match.group(2), match.group(3)
    keyword = keyword_raw.lower()
    value_col = body_col + len(keyword_raw) + len(op)
    if value_raw == "":
        raise QuerySyntaxError(
            f"{keyword_raw}{op} has no value: write the value right after {op!r} with no "
            f"space, e.g. {_example(keyword)}",
            text,
            body_col,
        )
    quoted = value_raw.startswith('"')
    if quoted:
        value = _unquote(value_raw, text, value_col).strip()
        if not value:
            raise QuerySyntaxError(
                f'{keyword_raw}{op}"" has an empty value: put the value between the quotes, '
                f"e.g. {_example(keyword)}",
                text,
                value_col,
            )
    elif '"' in value_raw:
        raise QuerySyntaxError(
            'a double quote must enclose the whole value, e.g. organization:"MD Photo"',
            text,
            value_col + value_raw.index('"'),
        )
    else:
        value = value_raw
    where = _Where(text, body_col, value_col, keyword_raw, op)

    if keyword in _CONTROL_KEYWORDS:
        _parse_control(keyword, value, negated, where, parsed)
        return
    if keyword in _UNSUPPORTED_KEYWORDS:
        raise QuerySyntaxError(
            f"zdops does not support the Zendesk keyword {keyword_raw!r} (it cannot check it "
            "against a ticket as the API returns it): remove it from the query, or express the "
            "filter as an `all`/`any` condition of the rule",
            text,
            body_col,
        )
    if keyword.startswith(_CUSTOM_PREFIX):
        value = _check_custom_field(keyword, value, quoted, where)
    elif keyword not in _FIELDS or keyword in ("id", "text"):
        as_text = "" if '"' in body else f'; to search for the text, quote it: "{body}"'
        raise QuerySyntaxError(
            f"unknown keyword {keyword_raw!r} (Zendesk would silently match nothing): use one "
            f"of {', '.join(KNOWN_KEYWORDS)}{as_text}",
            text,
            body_col,
        )
    else:
        value = _check_value(keyword, value, quoted, where)
    parsed.terms.append(Term(keyword, op, value, negated, column, quoted))


@dataclass(frozen=True)
class _Where:
    """Where a keyword term sits in the query, for its error messages."""

    text: str
    keyword_col: int
    value_col: int
    keyword_raw: str
    op: str

    def at_keyword(self, reason: str) -> QuerySyntaxError:
        return QuerySyntaxError(reason, self.text, self.keyword_col)

    def at_value(self, reason: str) -> QuerySyntaxError:
        return QuerySyntaxError(reason, self.text, self.value_col)


def _unquote(quoted: str, text: str, column: int) -> str:
    """The inside of a token that must be exactly one "quoted" string."""
    close = quoted.find('"', 1)
    if close != len(quoted) - 1:
        raise QuerySyntaxError(
            "text right after a closing quote: leave a space after the quoted phrase, or put "
            "everything inside the quotes",
            text,
            column + close + 1,
        )
    return quoted[1:-1]


def _example(keyword: str) -> str:
    examples = {
        "status": "status:open",
        "priority": "priority:high",
        "ticket_type": "ticket_type:incident",
        "tags": "tags:vip",
        "type": "type:ticket",
        "order_by": "order_by:created",
        "sort": "sort:asc",
        "organization": 'organization:"MD Photo"',
        "group": "group:Billing",
        "subject": "subject:refund",
        "via": "via:web",
    }
    if keyword in _USER_KEYWORDS:
        return f"{keyword}:jane@example.com"
    if keyword in _DATE_KEYWORDS:
        return f"{keyword}>2024-01-31"
    return examples.get(keyword, f"{keyword}:value")


def _parse_control(keyword: str, value: str, negated: bool, where: _Where, parsed: _Parsed) -> None:
    if negated:
        raise where.at_keyword(
            f"'-{where.keyword_raw}' cannot be negated: {keyword} is not a filter; remove the '-'"
        )
    if where.op != ":":
        raise where.at_keyword(
            f"{where.keyword_raw} takes ':' not {where.op!r}, e.g. {_example(keyword)}"
        )
    lowered = value.lower()
    if keyword == "type":
        if lowered not in OBJECT_TYPES:
            raise where.at_value(f"unknown type {value!r}: use one of {', '.join(OBJECT_TYPES)}")
        if parsed.object_type not in (None, lowered):
            raise where.at_keyword(
                f"type:{parsed.object_type} and type:{lowered} in one query: a search has one "
                "object type; keep one"
            )
        parsed.object_type = lowered
    elif keyword == "order_by":
        if lowered not in ORDER_FIELDS:
            raise where.at_value(
                f"cannot order by {value!r}: use one of "
                f"{', '.join(k for k in ORDER_FIELDS if not k.endswith('_at'))}"
            )
        if parsed.order_by is not None:
            raise where.at_keyword("order_by given twice: keep one")
        parsed.order_by = ORDER_FIELDS[lowered]
    else:
        if lowered not in SORT_ORDERS:
            raise where.at_value(f"unknown sort {value!r}: use sort:asc or sort:desc")
        if parsed.sort is not None:
            raise where.at_keyword("sort given twice: keep one")
        parsed.sort = lowered


def _check_value(keyword: str, value: str, quoted: bool, where: _Where) -> str:
    """Validate (and canonicalise) the value of a built-in keyword."""
    op = where.op
    if op != ":" and keyword not in _ORDERED_KEYWORDS:
        ordered = ", ".join(sorted(_ORDERED_KEYWORDS)) + ", custom_field_<id>"
        raise where.at_keyword(
            f"{where.keyword_raw} has no order, so {op!r} cannot compare it: write "
            f"{where.keyword_raw}:{value} (only {ordered} take <, >, <=, >=)"
        )
    lowered = value.lower()
    if "*" in value:
        if keyword not in _WILDCARD_KEYWORDS:
            raise where.at_value(
                f"{where.keyword_raw} does not take a '*' wildcard (only subject, description, "
                "tags and custom_field_<id> do): write the whole value"
            )
        _check_wildcard(value, where)
    if lowered == "none" and not quoted:
        if keyword not in _NONE_KEYWORDS:
            raise where.at_value(
                f"{where.keyword_raw}:none is not a Zendesk search: `none` works only with "
                f"{', '.join(sorted(_NONE_KEYWORDS))}"
            )
        return "none"
    if keyword in ("status", "priority", "ticket_type"):
        allowed = {"status": STATUSES, "priority": PRIORITIES, "ticket_type": TICKET_TYPES}
        if lowered not in allowed[keyword]:
            raise where.at_value(
                f"unknown {keyword} {value!r}: use one of {', '.join(allowed[keyword])}"
            )
        return lowered
    if keyword == "tags":
        return " ".join(lowered.split()) if quoted else lowered
    if keyword == "via":
        return _VIA_ALIASES.get(lowered, lowered)
    if keyword in _USER_KEYWORDS:
        return "me" if lowered == "me" and not quoted else value
    if keyword in _NAMED_KEYWORDS:
        if lowered == "me" and not quoted:
            raise where.at_value(
                f"{where.keyword_raw}:me is not a Zendesk search: `me` works with assignee, "
                "requester and submitter"
            )
        return value
    if keyword in _DATE_KEYWORDS:
        _check_date(value, where)
        return value
    if keyword in ("subject", "description"):
        _check_text(value.rstrip("*"), where.text, where.value_col, quoted=quoted)
        return value
    raise AssertionError(f"keyword {keyword!r} has no value check")  # _FIELDS and this agree


def _check_wildcard(value: str, where: _Where) -> None:
    for part in value.split():
        star = part.find("*")
        if star >= 0 and (star != len(part) - 1 or star == 0):
            raise where.at_value(
                f"the '*' wildcard must end a word that has letters before it, e.g. "
                f"{where.keyword_raw}:photo* (got {part!r})"
            )


def _check_custom_field(keyword: str, value: str, quoted: bool, where: _Where) -> str:
    field_id = keyword[len(_CUSTOM_PREFIX) :]
    if not field_id.isdigit() or not field_id.isascii() or len(field_id) > _MAX_ID_DIGITS:
        raise where.at_keyword(
            f"{where.keyword_raw} needs a numeric field id after custom_field_, e.g. "
            "custom_field_360001234567:value (find ids with GET /api/v2/ticket_fields.json)"
        )
    if "*" in value:
        if where.op != ":":
            raise where.at_value(f"a '*' wildcard needs ':', not {where.op!r}")
        _check_wildcard(value, where)
    if where.op != ":" and _NUMBER_RE.fullmatch(value) is None:
        if _DATE_RE.fullmatch(value) is None:
            raise where.at_value(
                f"{where.keyword_raw}{where.op}{value} compares, so it needs a number or a "
                "YYYY-MM-DD date; use ':' to match a text value"
            )
        _check_date(value, where)
    return value


def _check_text(value: str, text: str, column: int, *, quoted: bool) -> None:
    if not quoted and "*" in value:
        raise QuerySyntaxError(
            f"a '*' wildcard needs a keyword (Zendesk does not search bare wildcards): write "
            f"e.g. subject:{value}",
            text,
            column + value.index("*"),
        )
    if _WORD_RE.search(value) is None:
        what = "the phrase" if quoted else repr(value)
        raise QuerySyntaxError(
            f"{what} has no letters or digits, and Zendesk ignores punctuation: remove it",
            text,
            column,
        )


def _parse_free_word(
    word: str, negated: bool, column: int, body_col: int, text: str, parsed: _Parsed
) -> None:
    if word in ("OR", "AND", "NOT"):
        raise QuerySyntaxError(
            f"Zendesk search has no {word} operator (it would search for the word "
            f"{word.lower()!r}): repeat a keyword to OR it (status:open status:pending), and "
            "put '-' before a term to exclude it",
            text,
            body_col,
        )
    if word[-1] in "<>:" or word.endswith(("<=", ">=")):
        bare = word.rstrip("<>=:")
        raise QuerySyntaxError(
            f"{word!r} is not a keyword with an operator: write keyword, operator and value with "
            f"no spaces, e.g. {bare or 'status'}:value",
            text,
            body_col,
        )
    if word.isascii() and word.isdigit():
        parsed.terms.append(Term("id", ":", word.lstrip("0") or "0", negated, column))
        return
    _check_text(word, text, body_col, quoted=False)
    parsed.terms.append(Term("text", ":", word, negated, column))


def _check_date(value: str, where: _Where) -> None:
    """Reject a date value that _date_bounds could not read; the clock is not needed yet."""
    relative = _RELATIVE_RE.fullmatch(value)
    if relative is not None:
        amount, unit = relative.group(1), relative.group(2).lower()
        if unit not in _RELATIVE_UNITS:
            hint = _short_unit_hint(amount, unit)
            raise where.at_value(
                f"unknown time unit {relative.group(2)!r} in {value!r}: use minutes, hours, "
                f"days, weeks, months or years{hint}"
            )
        if where.op == ":":
            raise where.at_keyword(
                f"{where.keyword_raw}:{value} has no meaning: a relative time needs < or >, "
                f"e.g. {where.keyword_raw}>{value} (within the last {amount} {unit}) or "
                f"{where.keyword_raw}<{value} (longer ago than that)"
            )
        if len(amount) > len(str(_MAX_RELATIVE)) or int(amount) > _MAX_RELATIVE:
            raise where.at_value(
                f"{value!r} is too far back: use at most {_MAX_RELATIVE} of a unit, or a "
                "YYYY-MM-DD date"
            )
        return
    try:
        _absolute_bounds(value)
    except (ValueError, OverflowError) as error:
        raise where.at_value(
            f"bad date {value!r} ({error}): write YYYY-MM-DD, an ISO-8601 date-time such as "
            "2015-09-01T12:00:00-08:00, or a relative time such as 4hours"
        ) from None


def _short_unit_hint(amount: str, unit: str) -> str:
    longer = {
        "m": "minutes",
        "min": "minutes",
        "h": "hours",
        "hr": "hours",
        "hrs": "hours",
        "d": "days",
        "w": "weeks",
        "mo": "months",
        "y": "years",
        "yr": "years",
    }
    if unit in longer:
        return f" (write {amount}{longer[unit]}; Zendesk does not document short units)"
    return ""


# --------------------------------------------------------------------------------------------
# Dates: every date value becomes a half-open UTC interval [lo, hi) of "YYYY-MM-DDTHH:MM:SSZ"
# strings, which compare correctly as strings: Zendesk sends timestamps in exactly that form,
# so the per-ticket work is a string comparison.

_ONE_SECOND = timedelta(seconds=1)


def _stamp(moment: datetime) -> str:
    # by hand: strftime does not zero-pad years before 1000 on every platform
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def _absolute_bounds(value: str) -> tuple[str, str]:
    """[lo, hi) of a YYYY-MM-DD day or an ISO-8601 instant; ValueError says what is wrong."""
    if _DATE_RE.fullmatch(value):
        day = date.fromisoformat(value)
        start = datetime(day.year, day.month, day.day)
        end = start + timedelta(days=1) if day < date.max else datetime.max
        return _stamp(start), _stamp(end)
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        raise ValueError("not a date")
    day = date.fromisoformat(match.group(1))
    hour, minute = int(match.group(2)), int(match.group(3))
    second = int(match.group(4) or 0)
    if hour == 24 and minute == 0 and second == 0:
        moment = datetime(day.year, day.month, day.day) + timedelta(days=1)
    else:
        moment = datetime(day.year, day.month, day.day, hour, minute, second)
    offset = match.group(5)
    if offset and offset.upper() != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise ValueError("bad UTC offset")
        moment -= sign * timedelta(hours=hours, minutes=minutes)
    return _stamp(moment), _stamp(moment + _ONE_SECOND)


def _relative_moment(amount: int, unit: str, now: datetime) -> datetime:
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    now = now.replace(microsecond=0)
    try:
        if unit == "months" or unit == "years":
            months = amount * (12 if unit == "years" else 1)
            total = now.year * 12 + (now.month - 1) - months
            year, month = divmod(total, 12)
            last_day = calendar.monthrange(year, month + 1)[1]
            return now.replace(year=year, month=month + 1, day=min(now.day, last_day))
        return now - timedelta(**{unit: amount})
    except (OverflowError, ValueError):
        return datetime.min  # further back than any ticket


def _date_bounds(value: str, now: datetime) -> tuple[str, str]:
    relative = _RELATIVE_RE.fullmatch(value)
    if relative is not None:
        unit = _RELATIVE_UNITS[relative.group(2).lower()]
        moment = _relative_moment(int(relative.group(1)), unit, now)
        return _stamp(moment), _stamp(moment + _ONE_SECOND)
    return _absolute_bounds(value)


def _ticket_stamp(value: Any) -> str | None:
    """A ticket timestamp in the form of _stamp, or None when absent or unreadable."""
    if isinstance(value, str):
        if len(value) == 20 and value[10] == "T" and value[19] == "Z":
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return _stamp(moment)
    return None


# --------------------------------------------------------------------------------------------
# Text: a word is a run of letters and digits; everything else separates words. A regex per
# term, searched in the raw field with IGNORECASE, costs a couple of microseconds per ticket
# and needs no per-ticket index.

_WORD_END = r"(?![^\W_])"


def text_pattern(value: str, *, prefix: bool) -> re.Pattern[str]:
    """The regex a text value compiles to: its words in order, the last a prefix if `prefix`.

    `text_pattern("top", prefix=True)` finds "Toppings" and "Tip-Top" but not "Desktop".
    """
    words = [re.escape(word) for word in _WORD_RE.findall(value)]
    if not words:
        raise ValueError(f"{value!r} has no letters or digits to search for")
    # The word-start test goes after the first word, not before it: a pattern that starts
    # with a literal is searched for that literal first, which is about twice as fast.
    first = f"{words[0]}(?<![^\\W_]{words[0]})"
    body = r"[\W_]+".join([first, *words[1:]])
    return re.compile(body + ("" if prefix else _WORD_END), re.IGNORECASE)


def text_matches(pattern: re.Pattern[str], ticket: Mapping[str, Any]) -> bool:
    """Whether a free-text pattern occurs in the ticket's subject or description."""
    subject = ticket.get("subject")
    if isinstance(subject, str) and pattern.search(subject) is not None:
        return True
    description = ticket.get("description")
    return isinstance(description, str) and pattern.search(description) is not None


# --------------------------------------------------------------------------------------------
# Matching

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
    if term.keyword in _USER_KEYWORDS or term.keyword in _NAMED_KEYWORDS:
        return 0
    if term.keyword == "tags":
        return 1
    if term.keyword in _DATE_KEYWORDS:
        return 2
    if term.keyword.startswith(_CUSTOM_PREFIX):
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
    if keyword in _USER_KEYWORDS or keyword in _NAMED_KEYWORDS:
        return _id_check(term, context)
    if keyword in _DATE_KEYWORDS:
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
    if keyword.startswith(_CUSTOM_PREFIX):
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
    if value == "me" and not term.quoted and term.keyword in _USER_KEYWORDS:
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
    return int(digits) if len(digits.lstrip("0")) <= _MAX_ID_DIGITS else None


def _date_check(attribute: str, value: str, op: str, now: datetime) -> Predicate:
    lo, hi = _date_bounds(value, now)
    test = _interval_test(op, lo, hi)

    def check(ticket: Mapping[str, Any]) -> bool:
        stamp = _ticket_stamp(ticket.get(attribute))
        return stamp is not None and test(stamp)

    return check


def _interval_test(op: str, lo: str, hi: str) -> Callable[[str], bool]:
    """The comparison `op` against a value that covers [lo, hi) (a day or one second)."""
    if op == ":":
        return lambda x: lo <= x < hi
    if op == ">":
        return lambda x: x >= hi
    if op == ">=":
        return lambda x: x >= lo
    if op == "<":
        return lambda x: x < lo
    return lambda x: x < hi  # "<="


def _field_text_check(term: Term) -> Predicate:
    attribute = term.keyword
    pattern = text_pattern(term.value, prefix=term.value.endswith("*"))

    def check(ticket: Mapping[str, Any]) -> bool:
        found = ticket.get(attribute)
        return isinstance(found, str) and pattern.search(found) is not None

    return check


def _custom_value(ticket: Mapping[str, Any], field_id: int) -> Any:
    for entry in ticket.get("custom_fields") or ():
        if isinstance(entry, Mapping) and entry.get("id") == field_id:
            return entry.get("value")
    return None


def _custom_check(term: Term) -> Predicate:
    field_id = term.custom_field_id
    assert field_id is not None
    single = _custom_single(term.value, term.op)

    def check(ticket: Mapping[str, Any]) -> bool:
        found = _custom_value(ticket, field_id)
        if isinstance(found, list):  # multiselect: any option
            return any(single(item) for item in found)
        return found is not None and single(found)

    return check


def _custom_single(value: str, op: str) -> Callable[[Any], bool]:
    """Match one custom field value: text equality or prefix, or an ordered comparison."""
    wanted = value.lower()
    if op == ":":
        if wanted.endswith("*"):
            prefix = wanted[:-1]
            return lambda found: _custom_text(found).startswith(prefix)
        number = _as_number(wanted)
        if number is not None:
            return lambda found: _as_number(found) == number or _custom_text(found) == wanted
        return lambda found: _custom_text(found) == wanted
    number = _as_number(wanted)
    if number is not None:
        compare = _number_test(op, number)
        return lambda found: (n := _as_number(found)) is not None and compare(n)
    # a date: custom date fields hold "YYYY-MM-DD", so compare days as strings
    test = _interval_test(op, wanted, _next_day(wanted))
    return lambda found: (
        isinstance(found, str) and _DATE_RE.fullmatch(found) is not None and test(found)
    )


def _next_day(day: str) -> str:
    parsed = date.fromisoformat(day)
    return (parsed + timedelta(days=1)).isoformat() if parsed < date.max else "9999-99-99"


def _custom_text(found: Any) -> str:
    if isinstance(found, bool):
        return "true" if found else "false"
    return str(found).lower()


def _as_number(found: Any) -> float | None:
    if isinstance(found, bool):
        return None
    if isinstance(found, int | float):
        return float(found)
    if isinstance(found, str) and _NUMBER_RE.fullmatch(found.strip()):
        return float(found)
    return None


def _number_test(op: str, number: float) -> Callable[[float], bool]:
    tests: dict[str, Callable[[float], bool]] = {
        "<": lambda n: n < number,
        "<=": lambda n: n <= number,
        ">": lambda n: n > number,
        ">=": lambda n: n >= number,
    }
    return tests[op]
