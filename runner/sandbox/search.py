"""Search over the account with runner.query: tickets by the full syntax, users/groups/orgs by name.

Results are ordered as the caller asks (`sort_by`/`sort_order`, or `order_by:`/`sort:` in the
query); Zendesk's default "relevance" is emulated as most recently updated first, which is
stable and what a relevance sort mostly gives for ticket queries. A query `runner.query` cannot
parse gets Zendesk's search error: 422 `{"error": "invalid", ...}`, the answer real Zendesk
gives a malformed query (zenpy issue 397: `due_date:"<1 day"` is a 422).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from runner import query as zquery
from runner.errors import QuerySyntaxError, ResolveError
from runner.sandbox.models import PRIORITIES, TYPES
from runner.sandbox.replies import ApiError
from runner.sandbox.store import Store

SEARCH_CACHE_SIZE = 16
SORT_FIELDS = ("updated_at", "created_at", "priority", "status", "ticket_type")
ORDER_BY = {
    "created": "created_at",
    "updated": "updated_at",
    "priority": "priority",
    "status": "status",
    "ticket_type": "ticket_type",
    "commented": "updated_at",
}


def search_error(reason: str) -> ApiError:
    return ApiError(422, {"error": "invalid", "description": f"Invalid search: {reason}"})


def limit_exceeded() -> ApiError:
    return ApiError(
        422,
        {
            "error": "invalid",
            "description": "Invalid search: Requested response size was greater than Search "
            "Response Limits",
        },
    )


class AccountDirectory:
    """runner.query's Directory over the sandbox account."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def user_ids(self, value: str) -> frozenset[int]:
        wanted = value.casefold()
        return frozenset(
            u.id
            for u in self._store.users
            if u.name.casefold() == wanted or u.email.casefold() == wanted
        )

    def group_ids(self, value: str) -> frozenset[int]:
        wanted = value.casefold()
        return frozenset(g.id for g in self._store.groups if g.name.casefold() == wanted)

    def organization_ids(self, value: str) -> frozenset[int]:
        wanted = value.casefold()
        return frozenset(o.id for o in self._store.organizations if o.name.casefold() == wanted)

    def brand_ids(self, value: str) -> frozenset[int]:
        wanted = value.casefold()
        return frozenset(b.id for b in self._store.brands if b.name.casefold() == wanted)


def parse(text: str | None) -> zquery.Query:
    if text is None or not text.strip():
        raise search_error("the query parameter is required")
    try:
        return zquery.parse(text)
    except QuerySyntaxError as error:
        raise search_error(f"{error.reason} (at column {error.column})") from None


def object_type(parsed: zquery.Query, filter_type: str | None = None) -> str:
    return filter_type or parsed.object_type or "ticket"


def ticket_matcher(
    store: Store, parsed: zquery.Query, me: int | None
) -> Callable[[dict[str, Any]], bool]:
    """Whether a stored ticket matches `parsed` now; caller holds store.lock.

    Stored tickets carry no solved_at (the store keeps it aside), so a query that reads it gets
    a view with it added; other queries test the stored dict as it is.
    """
    try:
        matches = zquery.compile(parsed, AccountDirectory(store), now=store.clock.datetime(), me=me)
    except (ResolveError, QuerySyntaxError) as error:
        raise search_error(str(error)) from None
    if "solved_at" not in parsed.fields:
        return matches

    def with_solved_at(ticket: dict[str, Any]) -> bool:
        return matches({**ticket, "solved_at": store.solved_at(ticket["id"])})

    return with_solved_at


def ticket_ids(
    store: Store,
    parsed: zquery.Query,
    me: int | None,
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> list[int]:
    """Ids of matching tickets, in the requested order; caller holds store.lock.

    A client pages through one query, so the full answer is cached until a ticket changes or
    the minute turns (relative dates move with the clock).
    """
    key = (parsed.text, me, sort_by, sort_order, store.version, int(store.clock() // 60))
    cached = store.search_cache.get(key)
    if cached is not None:
        return cached
    matches = ticket_matcher(store, parsed, me)
    found = [ticket["id"] for ticket in store.iter_tickets() if matches(ticket)]
    field = sort_by or (ORDER_BY.get(parsed.order_by) if parsed.order_by else None)
    descending = (sort_order or parsed.sort or "desc") != "asc"
    ordered = _ordered(store, found, field or "updated_at", descending)
    if len(store.search_cache) >= SEARCH_CACHE_SIZE:
        store.search_cache.pop(next(iter(store.search_cache)))
    store.search_cache[key] = ordered
    return ordered


def _ordered(store: Store, ids: list[int], field: str, descending: bool) -> list[int]:
    key: Callable[[int], Any]
    if field == "created_at":
        key = store.created_ts
    elif field == "status":
        key = store.status_index
    elif field in ("priority", "ticket_type"):
        name, order = ("priority", PRIORITIES) if field == "priority" else ("type", TYPES)

        def key(ticket_id: int) -> int:
            data = store.ticket_data(ticket_id)
            assert data is not None
            return order.index(data[name])
    else:
        key = store.updated_ts
    return sorted(ids, key=lambda i: (key(i), i), reverse=descending)


def name_matches(word: str, *texts: str) -> bool:
    """Whether `word`, read as a free word of a ticket query, occurs in one of `texts`.

    Free words match names as they match a subject (`runner.query.text_pattern`): at the start
    of a word, case-insensitively, with punctuation separating words ("jane@ex" finds
    "jane@example.com"). A word with no letters or digits names no one.
    """
    pattern = _word_pattern(word)
    return pattern is not None and any(pattern.search(text) is not None for text in texts)


@functools.lru_cache(maxsize=256)
def _word_pattern(word: str) -> re.Pattern[str] | None:
    # users/search tests every user against the same few words: build each pattern once
    try:
        return zquery.text_pattern(word, prefix=True)
    except ValueError:
        return None


def named_records(store: Store, parsed: zquery.Query, kind: str) -> list[Any]:
    """Users, groups or organizations whose name (or email) the query's free text selects.

    Each free word or "phrase" matches a name as it matches a ticket's subject (word-start
    prefix; a phrase whole words in order; case-insensitive) and `-word` excludes; other terms
    do not apply to these records.
    """
    checks = [
        (zquery.text_pattern(t.value, prefix=not t.quoted), t.negated)
        for t in parsed.terms
        if t.keyword == "text"
    ]
    records: list[Any]
    if kind == "user":
        records = list(store.users)
    elif kind == "group":
        records = list(store.groups)
    else:
        records = list(store.organizations)

    def hits(record: Any) -> bool:
        texts = (record.name, getattr(record, "email", ""))
        return all(
            any(pattern.search(text) is not None for text in texts) != negated
            for pattern, negated in checks
        )

    return [r for r in records if hits(r)]
