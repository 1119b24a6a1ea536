"""Ticket endpoints: list, show, show_many, update, update_many, tags, audits, incremental."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from runner.sandbox.jobs import INFLIGHT_HEADER, MAX_IN_FLIGHT, WorkItem
from runner.sandbox.models import PRIORITIES, User
from runner.sandbox.paging import (
    cursor_page,
    decode_cursor,
    encode_cursor,
    int_arg,
    offset_page,
    url,
)
from runner.sandbox.ratelimit import TICKET_UPDATE_HEADER, TICKET_UPDATE_LIMIT_BODY
from runner.sandbox.replies import (
    ApiError,
    Reply,
    bad_request,
    json_reply,
    not_found,
    pagination_error,
    too_many_values,
)
from runner.sandbox.request import Request, int_ids
from runner.sandbox.shapes import job_status_json, ticket_json
from runner.sandbox.updates import apply_update, normalise_tags, parse_stamp

CURSOR_SORTS = ("id", "updated_at", "status")
OFFSET_SORTS = ("id", "created_at", "updated_at", "status", "priority", "subject")


def _show(request: Request, ticket_id: int) -> dict[str, Any]:
    store = request.sandbox.store
    data = store.ticket_data(ticket_id)
    if data is None:
        raise not_found()
    store.recently_read.append(ticket_id)
    return ticket_json(data, request.base_url, fresh=not store.is_written(ticket_id))


def ticket_show(request: Request) -> Reply:
    request.agent()
    with request.sandbox.store.lock:
        return json_reply(200, {"ticket": _show(request, request.int_param("id"))})


def tickets_show_many(request: Request) -> Reply:
    request.agent()
    ids = int_ids(request.ids_arg("ids"))
    store = request.sandbox.store
    with store.lock:
        tickets = [_show(request, i) for i in ids if store.exists(i)]
    return json_reply(
        200, {"tickets": tickets, "next_page": None, "previous_page": None, "count": len(tickets)}
    )


def _sort_key(request: Request, field: str, descending: bool) -> Callable[[int], Any]:
    store = request.sandbox.store
    sign = -1 if descending else 1
    if field == "updated_at":
        return lambda i: (sign * store.updated_ts(i), sign * i)
    if field == "created_at":
        return lambda i: (sign * store.created_ts(i), sign * i)
    if field == "status":
        return lambda i: (sign * store.status_index(i), sign * i)
    if field in ("priority", "subject"):

        def by_field(i: int) -> Any:
            data = store.ticket_data(i)
            assert data is not None
            value = PRIORITIES.index(data["priority"]) if field == "priority" else data["subject"]
            return (value, i)

        return by_field
    return lambda i: sign * i


def tickets_list(request: Request) -> Reply:
    request.agent()
    store = request.sandbox.store
    path = "/api/v2/tickets.json"
    count = store.ticket_count
    with store.lock:
        if request.arg("page[size]") is not None or request.arg("page[after]") is not None:
            sort = request.arg("sort") or "id"
            field = sort.lstrip("-")
            if field not in CURSOR_SORTS:
                raise pagination_error(
                    "InvalidPaginationParameter",
                    "Invalid pagination parameter",
                    f"sort must be one of {', '.join(CURSOR_SORTS)} (prefix - for descending)",
                )
            descending = sort.startswith("-")
            keys: Sequence[Any]
            if field == "id":
                keys = range(-count, 0) if descending else range(1, count + 1)
                ordered: Sequence[int] = range(count, 0, -1) if descending else range(1, count + 1)
            else:
                key = _sort_key(request, field, descending)
                ordered = sorted(range(1, count + 1), key=key)
                keys = [key(i) for i in ordered]
            positions, meta = cursor_page(keys, request.query, base_url=request.base_url, path=path)
            tickets = [_show(request, ordered[p]) for p in positions]
            return json_reply(200, {"tickets": tickets, **meta})
        sort_by = request.arg("sort_by") or "id"
        if sort_by not in OFFSET_SORTS:
            raise bad_request("InvalidValue", f"sort_by must be one of {', '.join(OFFSET_SORTS)}")
        descending = request.arg("sort_order") == "desc"
        if sort_by == "id":
            ids: Sequence[int] = range(count, 0, -1) if descending else range(1, count + 1)
        else:
            ids = sorted(range(1, count + 1), key=_sort_key(request, sort_by, descending))
        page, offset_meta = offset_page(
            ids, request.query, base_url=request.base_url, path=path, endpoint="api/v2/tickets"
        )
        tickets = [_show(request, i) for i in page]
    return json_reply(200, {"tickets": tickets, **offset_meta})


def _limit_ticket_updates(request: Request, user: User, ticket_id: int) -> tuple[str, str]:
    verdict = request.sandbox.ticket_updates.hit((user.id, ticket_id))
    header = verdict.endpoint_header(TICKET_UPDATE_HEADER)
    if not verdict.allowed:
        raise ApiError(429, TICKET_UPDATE_LIMIT_BODY, [header, verdict.retry_after()])
    return header


def _update(
    request: Request, user: User, ticket_id: int, changes: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], tuple[str, str]]:
    store = request.sandbox.store
    if not store.exists(ticket_id):
        raise not_found()
    header = _limit_ticket_updates(request, user, ticket_id)
    with store.lock:
        try:
            ticket, audit = apply_update(
                store, ticket_id, changes, user, client=request.client, ip=request.ip
            )
        except ApiError as error:
            error.headers.append(header)
            raise
        return ticket_json(ticket, request.base_url), copy.deepcopy(audit), header


def ticket_update(request: Request) -> Reply:
    user = request.agent()
    ticket_id = request.int_param("id")
    body = request.json().get("ticket")
    if not isinstance(body, dict):
        raise bad_request(
            "ParameterMissing", 'The body must be {"ticket": {...}} with the fields to change'
        )
    ticket, audit, header = _update(request, user, ticket_id, body)
    return json_reply(200, {"ticket": ticket, "audit": audit}, [header])


def tickets_update_many(request: Request) -> Reply:
    user = request.editor()
    payload = request.json()
    items: list[WorkItem]
    if request.arg("ids") is not None:
        body = payload.get("ticket")
        if not isinstance(body, dict) or "tickets" in payload:
            raise bad_request(
                "InvalidParameter",
                'With ?ids= the body must be {"ticket": {...}}, the one change '
                "to make to every ticket",
            )
        # The bulk form is safe against the client's updated_stamp when it sends one, even
        # without safe_update (zendesk-api.md 2.4); otherwise against the enqueue time.
        own_stamp = parse_stamp(body.get("updated_stamp"))
        items = [
            WorkItem(i, copy.deepcopy(body), own_stamp)
            for i in int_ids(request.ids_arg("ids"))
        ]
    elif isinstance(payload.get("tickets"), list):
        tickets = payload["tickets"]
        if len(tickets) > 100:
            raise too_many_values("tickets")
        items = []
        for entry in tickets:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
                raise bad_request("InvalidParameter", 'Each item of "tickets" needs a numeric "id"')
            items.append(WorkItem(entry["id"], {k: v for k, v in entry.items() if k != "id"}))
    else:
        raise bad_request(
            "ParameterMissing",
            'Send ?ids=1,2 with {"ticket": {...}}, or {"tickets": [{"id": 1, ...}]}',
        )
    sandbox = request.sandbox
    with sandbox.store.lock:
        for item in items:
            if item.stamp is None and sandbox.store.exists(item.ticket_id):
                item.stamp = sandbox.store.updated_ts(item.ticket_id)
    job, remaining = sandbox.jobs.submit(items, user, client=request.client, ip=request.ip)
    header = (INFLIGHT_HEADER, f"total={MAX_IN_FLIGHT}; remaining={remaining}; resets=60")
    return json_reply(200, {"job_status": job_status_json(job, request.base_url)}, [header])


def _tags_from(request: Request, body: dict[str, Any]) -> list[str]:
    raw = body.get("tags")
    if raw is None and request.arg("tags") is not None:
        raw = (request.arg("tags") or "").split(",")
    tags = normalise_tags(raw)
    if tags is None:
        raise bad_request("InvalidValue", 'Send {"tags": ["a", "b"]} (a list of tag names)')
    return tags


def tags_show(request: Request) -> Reply:
    request.agent()
    with request.sandbox.store.lock:
        return json_reply(200, {"tags": _show(request, request.int_param("id"))["tags"]})


def _tags_write(request: Request, key: str, status: int) -> Reply:
    user = request.editor()
    body = request.json()
    changes: dict[str, Any] = {key: _tags_from(request, body)}
    for safe in ("safe_update", "updated_stamp"):
        if safe in body:
            changes[safe] = body[safe]
    ticket, _, header = _update(request, user, request.int_param("id"), changes)
    return json_reply(status, {"tags": ticket["tags"]}, [header])


def tags_set(request: Request) -> Reply:
    return _tags_write(request, "tags", 201)


def tags_add(request: Request) -> Reply:
    return _tags_write(request, "additional_tags", 200)


def tags_remove(request: Request) -> Reply:
    return _tags_write(request, "remove_tags", 200)


def audits_list(request: Request) -> Reply:
    request.agent()
    store = request.sandbox.store
    ticket_id = request.int_param("id")
    with store.lock:
        if not store.exists(ticket_id):
            raise not_found()
        audits = copy.deepcopy(store.audits(ticket_id))
    path = f"/api/v2/tickets/{ticket_id}/audits.json"
    if request.arg("page[size]") is not None:
        positions, meta = cursor_page(
            [a["id"] for a in audits], request.query, base_url=request.base_url, path=path
        )
        return json_reply(200, {"audits": [audits[p] for p in positions], **meta})
    page, offset_meta = offset_page(
        audits,
        request.query,
        base_url=request.base_url,
        path=path,
        endpoint="api/v2/tickets/audits",
    )
    return json_reply(200, {"audits": page, **offset_meta})


def _incremental_start(request: Request, now: int) -> tuple[int, int]:
    """Where an incremental export resumes: (updated time, ticket id) already seen."""
    cursor = request.arg("cursor")
    if cursor:
        try:
            position = decode_cursor(cursor)
        except ApiError:  # its message names page[after], which this endpoint does not take
            position = None
        if (
            not isinstance(position, list)
            or len(position) != 2
            or not all(isinstance(p, int) for p in position)
        ):
            raise bad_request(
                "InvalidCursor",
                f"cursor {cursor!r} is not one this endpoint returned; start again from start_time",
            )
        return position[0], position[1]
    raw = request.arg("start_time")
    try:
        start = int(raw or "")
    except ValueError:
        raise bad_request(
            "InvalidValue", "start_time (unix seconds) or cursor is required"
        ) from None
    if start > now - 60:
        raise bad_request(
            "InvalidValue",
            "start_time is too recent. Please use a start_time at least one minute in the past",
        )
    return start, 0


def incremental_tickets(request: Request) -> Reply:
    request.admin()
    sandbox = request.sandbox
    limit = sandbox.incremental_limit
    headers: list[tuple[str, str]] = []
    if limit is not None:
        verdict = limit.hit()
        headers.append(verdict.endpoint_header("zendesk-ratelimit-incremental-exports"))
        if not verdict.allowed:
            raise ApiError(
                429,
                "Number of allowed incremental export API requests per minute exceeded",
                [*headers, verdict.retry_after()],
            )
    now = int(sandbox.clock())
    start_ts, start_id = _incremental_start(request, now)
    per_page = min(int_arg(request.query, "per_page", 1000, endpoint="api/v2/incremental"), 1000)
    store = sandbox.store
    with store.lock:
        keyed = sorted(
            (store.updated_ts(i), i)
            for i in range(1, store.ticket_count + 1)
            if (store.updated_ts(i), i) > (start_ts, start_id) and store.updated_ts(i) < now - 60
        )
        chunk = keyed[:per_page]
        tickets = [ticket_json(store.ticket_data(i) or {}, request.base_url) for _, i in chunk]
    last = chunk[-1] if chunk else (start_ts, start_id)
    after = encode_cursor(list(last))
    after_url = url(
        request.base_url,
        "/api/v2/incremental/tickets/cursor.json",
        {k: v for k, v in request.query.items() if k == "per_page"},
        {"cursor": after},
    )
    return json_reply(
        200,
        {
            "tickets": tickets,
            "after_url": after_url,
            "after_cursor": after,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": len(keyed) <= per_page,
        },
        headers,
    )
