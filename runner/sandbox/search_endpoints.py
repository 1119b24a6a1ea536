"""search.json (offset, 1,000-result cap), search/count.json and search/export.json (cursor)."""

from __future__ import annotations

from typing import Any

from runner.sandbox import export, search
from runner.sandbox.paging import int_arg, page_size, url
from runner.sandbox.replies import Reply, invalid_attribute, json_reply
from runner.sandbox.request import Request
from runner.sandbox.shapes import group_json, organization_json, ticket_json, user_json

RESULT_LIMIT = 1000
EXPORT_TYPES = ("ticket", "user", "organization", "group")


def _result(request: Request, kind: str, record: Any) -> dict[str, Any]:
    base = request.base_url
    if kind == "ticket":
        data = request.sandbox.store.ticket_data(record)
        assert data is not None
        return _ticket_result(request, data)
    if kind == "user":
        out = user_json(record, base)
    elif kind == "group":
        out = group_json(record, base)
    else:
        out = organization_json(record, base)
    out["result_type"] = kind
    return out


def _ticket_result(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    """A ticket as a search result; caller holds the store's lock."""
    store = request.sandbox.store
    ticket_id = data["id"]
    store.recently_read.append(ticket_id)
    out = ticket_json(data, request.base_url, fresh=not store.is_written(ticket_id))
    out["result_type"] = "ticket"
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
    after_arg = request.arg("page[after]")
    now = store.clock()
    after = export.decode(after_arg, now) if after_arg else None
    results: list[dict[str, Any]]
    with store.lock:
        parsed = search.parse(request.arg("query"))
        kind = search.object_type(parsed, filter_type)
        if kind == "ticket":
            me = request.caller.user.id if request.caller.user else None
            matches = search.ticket_matcher(store, parsed, me)
            tickets, has_more = export.ticket_page(store, matches, after, size)
            results = [_ticket_result(request, data) for data in tickets]
            last = (store.created_ts(tickets[-1]["id"]), tickets[-1]["id"]) if tickets else None
        else:
            records, has_more = export.record_page(
                search.named_records(store, parsed, kind), lambda r: (r.created, r.id), after, size
            )
            results = [_result(request, kind, r) for r in records]
            last = (records[-1].created, records[-1].id) if records else None
    after_cursor = export.encode(last, now) if last else None
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
