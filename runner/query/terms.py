"""A parsed query as data: `Term` (one filter) and `Query` (its terms, grouped as Zendesk does)."""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.query.keywords import CUSTOM_PREFIX, FIELDS


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
        if self.keyword.startswith(CUSTOM_PREFIX):
            return "custom_field:" + self.keyword[len(CUSTOM_PREFIX) :]
        return FIELDS[self.keyword]

    @property
    def custom_field_id(self) -> int | None:
        if self.keyword.startswith(CUSTOM_PREFIX):
            return int(self.keyword[len(CUSTOM_PREFIX) :])
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
            object.__setattr__(self, "clauses", clauses(self.terms))

    @property
    def fields(self) -> frozenset[str]:
        """Every ticket attribute the query reads."""
        return frozenset(term.field for term in self.terms)


def clauses(terms: tuple[Term, ...]) -> tuple[tuple[Term, ...], ...]:
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
