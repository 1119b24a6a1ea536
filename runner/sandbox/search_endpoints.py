"""search.json (offset, 1,000-result cap), search/count.json and search/export.json (cursor)."""

from __future__ import annotations

import bisect
from typing import Any

from runner.sandbox import search
from runner.sandbox.paging import decode_cursor, encode_cursor, int_arg, page_size, url
from runner.sandbox.replies import Reply, invalid_attribute, json_reply
from runner.sandbox.request import Request
from runner.sandbox.shapes import group_json, organization_json, ticket_json, user_json

RESULT_LIMIT = 1000
EXPORT_TYPES = ("ticket", "user", "organization", "group")


def _result(request: Request, kind: str, record: Any) -> dict[str, Any]:
    base = request.base_url
    if kind == "ticket":
        request.sandbox.store.recently_read.append(record)
        data = request.sandbox.store.ticket_data(record)
        assert data is not None
        out = ticket_json(data, base)
    elif kind == "user":
        out = user_json(record, base)
    elif kind == "group":
        out = group_json(record, base)
    else:
        out = organization_json(record, base)
    out["result_type"] = kind
    return out


def _matches(request: Request, filter_type: str | None = None) -> tuple[str, list[Any]]:
    """The kind searched and every match (ticket ids, or records); caller holds the lock."""
    parsed = search.parse(request.arg("query"))
    kind = search.object_type(parsed, filter_type)
    if kind != "ticket":
        return kind, search.named_records(request.sandbox.store, parsed, kind)
    sort_by = request.arg("sort_by")
    if sort_by is not None and sort_by not in search.SORT_FIELDS:
        raise invalid_attribute(f"sort_by must be one of {', '.join(search.SORT_FIELDS)}")
    me = request.caller.user.id if request.caller.user else None
    return kind, search.ticket_ids(
        request.sandbox.store, parsed, me, sort_by, request.arg("sort_order")
    )


def search_json(request: Request) -> Reply:
    request.agent()
    if request.arg("page[size]") is not None or request.arg("page[after]") is not None:
        raise invalid_attribute(
            "You passed an invalid value for the page attribute. Invalid parameter: page must "
            "be an integer from api/v2/search/index"
        )
    page = int_arg(request.query, "page", 1, endpoint="api/v2/search/index")
    per_page = min(int_arg(request.query, "per_page", 100, endpoint="api/v2/search/index"), 100)
    if page * per_page > RESULT_LIMIT:
        raise search.limit_exceeded()
    store = request.sandbox.store
    with store.lock:
        kind, found = _matches(request)
        start = (page - 1) * per_page
        results = [_result(request, kind, r) for r in found[start : start + per_page]]
    path = "/api/v2/search.json"
    more = start + per_page < len(found) and (page + 1) * per_page <= RESULT_LIMIT
    return json_reply(
        200,
        {
            "results": results,
            "facets": None,
            "next_page": url(request.base_url, path, request.query, {"page": page + 1})
            if more
            else None,
            "previous_page": url(request.base_url, path, request.query, {"page": page - 1})
            if page > 1
            else None,
            "count": len(found),
        },
    )


def search_count(request: Request) -> Reply:
    request.agent()
    with request.sandbox.store.lock:
        _, found = _matches(request)
    return json_reply(200, {"count": len(found)})


def search_export(request: Request) -> Reply:
    request.agent()
    filter_type = request.arg("filter[type]")
    if filter_type not in EXPORT_TYPES:
        raise invalid_attribute(
            "You passed an invalid value for the filter[type] attribute. filter[type] is "
            f"required and must be one of {', '.join(EXPORT_TYPES)}"
        )
    size = page_size(request.query, maximum=1000)
    store = request.sandbox.store
    after = request.arg("page[after]")
    with store.lock:
        kind, found = _matches(request, filter_type)
        # Export is ordered by created_at descending, ties by id: a stable walk whatever changes.
        if kind == "ticket":
            keyed = sorted(((-store.created_ts(i), -i), i) for i in found)
        else:
            keyed = sorted(((-r.created, -r.id), r) for r in found)
        start = 0
        if after:
            mark = decode_cursor(after)
            if not (
                isinstance(mark, list) and len(mark) == 2 and all(isinstance(m, int) for m in mark)
            ):
                raise invalid_attribute(
                    f"page[after] {after!r} is not a cursor this endpoint returned"
                )
            start = bisect.bisect_right([k for k, _ in keyed], tuple(mark))
        chunk = keyed[start : start + size]
        results = [_result(request, kind, r) for _, r in chunk]
    has_more = start + size < len(keyed)
    after_cursor = encode_cursor(list(chunk[-1][0])) if chunk else None
    return json_reply(
        200,
        {
            "results": results,
            "facets": None,
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": None},
            "links": {
                "prev": None,
                "next": url(
                    request.base_url,
                    "/api/v2/search/export.json",
                    request.query,
                    {"page[after]": after_cursor},
                )
                if has_more
                else None,
            },
        },
    )
