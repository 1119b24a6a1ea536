"""search/export.json's walk: export order, cursors that resume it, and a page read lazily.

Zendesk orders an export by created_at descending with the id as tie-break, and its opaque
cursor decodes to that position (`{"field":"created_at","desc":true,"tieBreakField":"id",...}`)
and expires after an hour. Here a ticket page starts at the cursor's position in the store's
fixed export order and tests tickets against the query only until it has page[size] matches
and knows whether one more follows, so a page costs what it reads, not the account's size.

Tickets updated between pages: a ticket's created_at never changes, so its place in the walk
never moves. A ticket the walk has passed is not shown again, whatever happens to it; one ahead
of the cursor is tested as it is when the walk reaches it (shown if it matches then). Tickets
that match throughout the export are each shown exactly once.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from runner.sandbox.paging import decode_cursor, encode_cursor
from runner.sandbox.replies import ApiError, pagination_error
from runner.sandbox.store import Store

CURSOR_LIFETIME = 3600  # seconds, as Zendesk documents for export cursors
Mark = tuple[int, int]  # (created_at, id) of the last record served
R = TypeVar("R")


def encode(mark: Mark, now: float) -> str:
    created, record_id = mark
    return encode_cursor(
        {
            "field": "created_at",
            "desc": True,
            "tieBreakField": "id",
            "tieBreakDesc": True,
            "value": created,
            "tieBreakValue": record_id,
            "expiresAt": int(now) + CURSOR_LIFETIME,
        }
    )


def decode(text: str, now: float) -> Mark:
    """The position a cursor from `encode` holds; 400 for a foreign or expired one."""
    payload = decode_cursor(text)
    if not (
        isinstance(payload, dict)
        and payload.get("field") == "created_at"
        and all(
            isinstance(payload.get(k), int) and not isinstance(payload.get(k), bool)
            for k in ("value", "tieBreakValue", "expiresAt")
        )
    ):
        raise _invalid(f"page[after] {text!r} is not a cursor this endpoint returned")
    if now >= payload["expiresAt"]:
        raise _invalid(
            "page[after] has expired (export cursors last one hour): start the export again "
            "without page[after]"
        )
    return payload["value"], payload["tieBreakValue"]


def _invalid(detail: str) -> ApiError:
    return pagination_error("InvalidPaginationParameter", "Invalid pagination parameter", detail)


def ticket_page(
    store: Store,
    matches: Callable[[dict[str, Any]], bool],
    after: Mark | None,
    size: int,
) -> tuple[list[dict[str, Any]], bool]:
    """Up to `size` matching tickets (stored dicts) after `after`, and whether more follow.

    Caller holds store.lock. The look-ahead that answers has_more stops at the first further
    match, so the next page re-reads at most the stretch between two matches.
    """
    order = store.export_order()
    start = 0
    if after is not None:
        created = store.columns.created
        start = bisect.bisect_right(
            order, -((after[0] << 32) | after[1]), key=lambda i: -((created[i - 1] << 32) | i)
        )
    page: list[dict[str, Any]] = []
    for position in range(start, len(order)):
        data = store.ticket_data(order[position])
        assert data is not None
        if matches(data):
            if len(page) == size:
                return page, True
            page.append(data)
    return page, False


def record_page(
    records: Iterable[R], mark_of: Callable[[R], Mark], after: Mark | None, size: int
) -> tuple[list[R], bool]:
    """The same walk over a few records (users, groups, organizations) sorted per request."""
    ordered = sorted(records, key=lambda r: _descending(mark_of(r)))
    start = 0
    if after is not None:
        keys = [_descending(mark_of(r)) for r in ordered]
        start = bisect.bisect_right(keys, _descending(after))
    return ordered[start : start + size], start + size < len(ordered)


def _descending(mark: Mark) -> Mark:
    return -mark[0], -mark[1]
