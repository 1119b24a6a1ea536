"""Tokenizer and parser: query text -> `Query`, or `QuerySyntaxError` at a 1-based column.

Each token is one term; the value of a keyword term is checked (and canonicalised) by
`runner.query.values`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runner.errors import QuerySyntaxError
from runner.query.keywords import (
    CONTROL_KEYWORDS,
    CUSTOM_PREFIX,
    DATE_KEYWORDS,
    FIELDS,
    KNOWN_KEYWORDS,
    OBJECT_TYPES,
    ORDER_FIELDS,
    SORT_ORDERS,
    UNSUPPORTED_KEYWORDS,
    USER_KEYWORDS,
)
from runner.query.terms import Query, Term, clauses
from runner.query.values import Where, check_custom_field, check_text, check_value

MAX_WORDS = 64
_KEYWORD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(<=|>=|:|<|>)(.*)", re.DOTALL)


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
        clauses=clauses(terms),
    )


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
        check_text(phrase, text, body_col, quoted=True)
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
    where = Where(text, body_col, value_col, keyword_raw, op)

    if keyword in CONTROL_KEYWORDS:
        _parse_control(keyword, value, negated, where, parsed)
        return
    if keyword in UNSUPPORTED_KEYWORDS:
        raise QuerySyntaxError(
            f"zdops does not support the Zendesk keyword {keyword_raw!r} (it cannot check it "
            "against a ticket as the API returns it): remove it from the query, or express the "
            "filter as an `all`/`any` condition of the rule",
            text,
            body_col,
        )
    if keyword.startswith(CUSTOM_PREFIX):
        value = check_custom_field(keyword, value, quoted, where)
    elif keyword not in FIELDS or keyword in ("id", "text"):
        as_text = "" if '"' in body else f'; to search for the text, quote it: "{body}"'
        raise QuerySyntaxError(
            f"unknown keyword {keyword_raw!r} (Zendesk would silently match nothing): use one "
            f"of {', '.join(KNOWN_KEYWORDS)}{as_text}",
            text,
            body_col,
        )
    else:
        value = check_value(keyword, value, quoted, where)
    parsed.terms.append(Term(keyword, op, value, negated, column, quoted))


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
    if keyword in USER_KEYWORDS:
        return f"{keyword}:jane@example.com"
    if keyword in DATE_KEYWORDS:
        return f"{keyword}>2024-01-31"
    return examples.get(keyword, f"{keyword}:value")


def _parse_control(keyword: str, value: str, negated: bool, where: Where, parsed: _Parsed) -> None:
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
    check_text(word, text, body_col, quoted=False)
    parsed.terms.append(Term("text", ":", word, negated, column))
