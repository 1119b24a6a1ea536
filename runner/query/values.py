"""Parse-time checks of a keyword's value: canonicalise it, or raise a located QuerySyntaxError.

Dates are checked here without a clock (a relative date is only resolved when matching).
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.errors import QuerySyntaxError
from runner.query.dates import (
    DATE_RE,
    MAX_RELATIVE,
    RELATIVE_RE,
    RELATIVE_UNITS,
    absolute_bounds,
)
from runner.query.keywords import (
    CUSTOM_PREFIX,
    DATE_KEYWORDS,
    MAX_ID_DIGITS,
    NAMED_KEYWORDS,
    NONE_KEYWORDS,
    NUMBER_RE,
    ORDERED_KEYWORDS,
    PRIORITIES,
    STATUSES,
    TICKET_TYPES,
    USER_KEYWORDS,
    VIA_ALIASES,
    WILDCARD_KEYWORDS,
)
from runner.query.text import WORD_RE


@dataclass(frozen=True)
class Where:
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


def check_value(keyword: str, value: str, quoted: bool, where: Where) -> str:
    """Validate (and canonicalise) the value of a built-in keyword."""
    op = where.op
    if op != ":" and keyword not in ORDERED_KEYWORDS:
        ordered = ", ".join(sorted(ORDERED_KEYWORDS)) + ", custom_field_<id>"
        raise where.at_keyword(
            f"{where.keyword_raw} has no order, so {op!r} cannot compare it: write "
            f"{where.keyword_raw}:{value} (only {ordered} take <, >, <=, >=)"
        )
    lowered = value.lower()
    if "*" in value:
        if keyword not in WILDCARD_KEYWORDS:
            raise where.at_value(
                f"{where.keyword_raw} does not take a '*' wildcard (only subject, description, "
                "tags and custom_field_<id> do): write the whole value"
            )
        _check_wildcard(value, where)
    if lowered == "none" and not quoted:
        if keyword not in NONE_KEYWORDS:
            raise where.at_value(
                f"{where.keyword_raw}:none is not a Zendesk search: `none` works only with "
                f"{', '.join(sorted(NONE_KEYWORDS))}"
            )
        return "none"
    if keyword in ("status", "priority", "ticket_type"):
        allowed = {
            "status": STATUSES,
            "priority": PRIORITIES,
            "ticket_type": TICKET_TYPES,
        }
        if lowered not in allowed[keyword]:
            first = lowered.split(",")[0]
            hint = (
                f" (to match any of several, repeat the keyword: {keyword}:{first} {keyword}:...)"
                if "," in lowered
                else ""
            )
            raise where.at_value(
                f"unknown {keyword} {value!r}: use one of {', '.join(allowed[keyword])}{hint}"
            )
        return lowered
    if keyword == "tags":
        if "," in value:
            # Zendesk tags never hold a comma: the term would quietly match nothing.
            comma = where.value_col + (0 if quoted else value.index(","))
            raise QuerySyntaxError(
                f"a tag has no commas, so {where.keyword_raw}:{value} matches nothing: repeat "
                "the keyword for any of them (tags:a tags:b), or quote them for all of them "
                '(tags:"a b")',
                where.text,
                comma,
            )
        return " ".join(lowered.split()) if quoted else lowered
    if keyword == "via":
        return VIA_ALIASES.get(lowered, lowered)
    if keyword in USER_KEYWORDS:
        return "me" if lowered == "me" and not quoted else value
    if keyword in NAMED_KEYWORDS:
        if lowered == "me" and not quoted:
            raise where.at_value(
                f"{where.keyword_raw}:me is not a Zendesk search: `me` works with assignee, "
                "requester and submitter"
            )
        return value
    if keyword in DATE_KEYWORDS:
        _check_date(value, where)
        return value
    if keyword in ("subject", "description"):
        check_text(value.rstrip("*"), where.text, where.value_col, quoted=quoted)
        return value
    raise AssertionError(f"keyword {keyword!r} has no value check")  # FIELDS and this agree


def _check_wildcard(value: str, where: Where) -> None:
    for part in value.split():
        star = part.find("*")
        if star >= 0 and (star != len(part) - 1 or star == 0):
            raise where.at_value(
                f"the '*' wildcard must end a word that has letters before it, e.g. "
                f"{where.keyword_raw}:photo* (got {part!r})"
            )


def check_custom_field(keyword: str, value: str, quoted: bool, where: Where) -> str:
    field_id = keyword[len(CUSTOM_PREFIX) :]
    if not field_id.isdigit() or not field_id.isascii() or len(field_id) > MAX_ID_DIGITS:
        raise where.at_keyword(
            f"{where.keyword_raw} needs a numeric field id after custom_field_, e.g. "
            "custom_field_360001234567:value (find ids with GET /api/v2/ticket_fields.json)"
        )
    if "*" in value:
        if where.op != ":":
            raise where.at_value(f"a '*' wildcard needs ':', not {where.op!r}")
        _check_wildcard(value, where)
    if where.op != ":" and NUMBER_RE.fullmatch(value) is None:
        if DATE_RE.fullmatch(value) is None:
            raise where.at_value(
                f"{where.keyword_raw}{where.op}{value} compares, so it needs a number or a "
                "YYYY-MM-DD date; use ':' to match a text value"
            )
        _check_date(value, where)
    return value


def check_text(value: str, text: str, column: int, *, quoted: bool) -> None:
    if not quoted and "*" in value:
        raise QuerySyntaxError(
            f"a '*' wildcard needs a keyword (Zendesk does not search bare wildcards): write "
            f"e.g. subject:{value}",
            text,
            column + value.index("*"),
        )
    if WORD_RE.search(value) is None:
        what = "the phrase" if quoted else repr(value)
        raise QuerySyntaxError(
            f"{what} has no letters or digits, and Zendesk ignores punctuation: remove it",
            text,
            column,
        )


def _check_date(value: str, where: Where) -> None:
    """Reject a date value that date_bounds could not read; the clock is not needed yet."""
    relative = RELATIVE_RE.fullmatch(value)
    if relative is not None:
        amount, unit = relative.group(1), relative.group(2).lower()
        if unit not in RELATIVE_UNITS:
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
        if len(amount) > len(str(MAX_RELATIVE)) or int(amount) > MAX_RELATIVE:
            raise where.at_value(
                f"{value!r} is too far back: use at most {MAX_RELATIVE} of a unit, or a "
                "YYYY-MM-DD date"
            )
        return
    try:
        absolute_bounds(value)
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
