"""Walking Zendesk's lists: cursor paging, search export, and offset only where it must.

Each walker takes a `get_json(url, params)` callable (the client's), so paging knows nothing
about auth, retries or pacing. The next page is requested with `page[after]=<after_cursor>` on
the same path; a `links.next` / `next_page` URL is followed only on the client's own origin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runner.errors import ZendeskError

JSON = dict[str, Any]
Params = Mapping[str, str | int]
GetJson = Callable[[str, Params | None], JSON]

_TYPE_TERM = re.compile(r'(?<!\S)type:("[^"]*"|\S+)')


def _items(body: JSON, key: str, where: str) -> list[JSON]:
    items = body.get(key)
    if not isinstance(items, list):
        raise ZendeskError(
            f"Zendesk's answer to GET {where} has no {key!r} list (keys: {sorted(body)[:8]}).",
            method="GET", endpoint=where,
            hint="The URL may point to something that is not Zendesk's API.",
        )
    return items


def iter_cursor(get_json: GetJson, path: str, key: str, *, params: Params | None = None,
                page_size: int = 100) -> Iterator[JSON]:
    """Every item of a cursor-paged list; falls back to `next_page` if the endpoint has none."""
    base: dict[str, str | int] = {**(params or {}), "page[size]": page_size}
    url: str = path
    query: Params | None = base
    seen: set[str] = set()
    while True:
        body = get_json(url, query)
        yield from _items(body, key, path)
        meta = body.get("meta")
        if isinstance(meta, dict):
            if not meta.get("has_more"):
                return
            after = meta.get("after_cursor")
            if after:
                if after in seen:
                    raise ZendeskError(
                        f"Zendesk repeated the cursor of GET {path}; stopping instead of "
                        "looping.", method="GET", endpoint=path)
                seen.add(str(after))
                url, query = path, {**base, "page[after]": str(after)}
                continue
            links = body.get("links")
            following = links.get("next") if isinstance(links, dict) else None
        else:
            following = body.get("next_page")
        if not following:
            return
        if following in seen:
            raise ZendeskError(f"Zendesk repeated the next page of GET {path}; stopping.",
                               method="GET", endpoint=path)
        seen.add(str(following))
        url, query = str(following), None


def iter_offset(get_json: GetJson, path: str, key: str, *, params: Params | None = None,
                per_page: int = 100) -> Iterator[JSON]:
    """Every item of an offset-only list (users/search), following `next_page`."""
    url: str = path
    query: Params | None = {**(params or {}), "per_page": per_page}
    seen: set[str] = set()
    while True:
        body = get_json(url, query)
        yield from _items(body, key, path)
        following = body.get("next_page")
        if not following or following in seen:
            return
        seen.add(str(following))
        url, query = str(following), None


def strip_type(query: str) -> str:
    """The query without `type:` terms: search export takes the type from `filter[type]`."""
    return " ".join(_TYPE_TERM.sub(" ", query).split())


def search_export(get_json: GetJson, query: str, *, object_type: str = "ticket",
                  page_size: int = 1000) -> Iterator[JSON]:
    """Every search result, with no 1,000-result ceiling (the export cursor lives 1 hour)."""
    params = {"query": strip_type(query), "filter[type]": object_type}
    return iter_cursor(get_json, "/api/v2/search/export.json", "results", params=params,
                       page_size=page_size)
