"""Zendesk's two paging styles: offset (page/per_page) and cursor (page[size]/page[after])."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from runner.sandbox.replies import ApiError, invalid_attribute, pagination_error

OFFSET_DEPTH_LIMIT = 10_000


def int_arg(query: dict[str, list[str]], name: str, default: int, *, endpoint: str) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[0])
    except ValueError:
        raise invalid_attribute(
            f"You passed an invalid value for the {name} attribute. Invalid parameter: "
            f"{name} must be an integer from {endpoint}"
        ) from None
    if value < 1:
        raise invalid_attribute(
            f"You passed an invalid value for the {name} attribute. Invalid parameter: "
            f"{name} must be a positive integer from {endpoint}"
        )
    return value


def url(base_url: str, path: str, query: dict[str, list[str]], changes: dict[str, Any]) -> str:
    """`path` with `query`, some keys changed (None removes one)."""
    merged = {k: v[0] for k, v in query.items() if v}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return f"{base_url}{path}?{urlencode(merged)}"


def offset_page(
    items: Sequence[Any],
    query: dict[str, list[str]],
    *,
    base_url: str,
    path: str,
    endpoint: str,
    max_per_page: int = 100,
    depth_limit: int | None = OFFSET_DEPTH_LIMIT,
) -> tuple[list[Any], dict[str, Any]]:
    """One offset page of `items` and the `next_page`/`previous_page`/`count` keys."""
    page = int_arg(query, "page", 1, endpoint=endpoint)
    per_page = min(int_arg(query, "per_page", 100, endpoint=endpoint), max_per_page)
    if depth_limit is not None and page * per_page > depth_limit:
        raise pagination_error(
            "InvalidPaginationDepth",
            "Pagination requests using Offset Pagination are limited to the first "
            f"{depth_limit} records",
            "Use cursor-based pagination (page[size] and page[after]) to go further.",
        )
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    more = start + per_page < len(items)
    meta = {
        "next_page": url(base_url, path, query, {"page": page + 1}) if more else None,
        "previous_page": url(base_url, path, query, {"page": page - 1}) if page > 1 else None,
        "count": len(items),
    }
    return chunk, meta


def encode_cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_cursor(text: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(text.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad_cursor(text) from None


def _bad_cursor(text: str) -> ApiError:
    return pagination_error(
        "InvalidPaginationParameter",
        "Invalid pagination parameter",
        f"page[after]/page[before] {text!r} is not a cursor this endpoint returned",
    )


def page_size(query: dict[str, list[str]], *, maximum: int, default: int = 100) -> int:
    raw = query.get("page[size]", [str(default)])[0]
    try:
        size = int(raw)
    except ValueError:
        size = -1
    if size < 1 or size > maximum:
        raise pagination_error(
            "InvalidPaginationParameter",
            "Invalid pagination parameter",
            f"page[size] must be an integer from 1 to {maximum}, got {raw!r}",
        )
    return size


def cursor_page(
    keys: Sequence[Any],
    query: dict[str, list[str]],
    *,
    base_url: str,
    path: str,
    maximum: int = 100,
) -> tuple[range, dict[str, Any]]:
    """A cursor page over positions of `keys` (sorted, unique); `meta` and `links` keys.

    A cursor holds the key of the last (or first) item served, so a page stays correct when
    items before it are inserted or removed between requests.
    """
    size = page_size(query, maximum=maximum)
    after = query.get("page[after]", [None])[0]
    before = query.get("page[before]", [None])[0]
    keyed = keys  # bisect needs only len() and indexing, so a range serves id order for free
    try:
        if after:
            start = bisect.bisect_right(keyed, _key(decode_cursor(after)))
            stop = min(start + size, len(keyed))
        elif before:
            stop = bisect.bisect_left(keyed, _key(decode_cursor(before)))
            start = max(stop - size, 0)
        else:
            start, stop = 0, min(size, len(keyed))
    except TypeError:  # a cursor from another endpoint or sort order
        raise _bad_cursor(after or before or "") from None
    positions = range(start, stop)
    has_more = stop < len(keyed) if not before else start > 0
    after_cursor = encode_cursor(keyed[stop - 1]) if stop > start else None
    before_cursor = encode_cursor(keyed[start]) if stop > start else None
    next_link = (
        url(base_url, path, query, {"page[after]": after_cursor, "page[before]": None})
        if after_cursor and stop < len(keyed)
        else None
    )
    prev_link = (
        url(base_url, path, query, {"page[before]": before_cursor, "page[after]": None})
        if before_cursor and start > 0
        else None
    )
    return positions, {
        "meta": {
            "has_more": has_more,
            "after_cursor": after_cursor,
            "before_cursor": before_cursor,
        },
        "links": {"prev": prev_link, "next": next_link},
    }


def _key(value: Any) -> Any:
    return tuple(_key(v) for v in value) if isinstance(value, list) else value
