"""Endpoints for the account's people and configuration: users, groups, ticket fields, jobs."""

from __future__ import annotations

from typing import Any

from runner.sandbox.models import User
from runner.sandbox.paging import cursor_page, offset_page
from runner.sandbox.replies import Reply, json_reply, not_found
from runner.sandbox.request import Request, int_ids
from runner.sandbox.search import name_matches
from runner.sandbox.shapes import (
    anonymous_user_json,
    group_json,
    job_status_json,
    ticket_field_json,
    user_json,
)


def users_me(request: Request) -> Reply:
    user = request.caller.user
    if user is None:
        return json_reply(200, {"user": anonymous_user_json()})
    return json_reply(200, {"user": user_json(user, request.base_url)})


def user_show(request: Request) -> Reply:
    caller = request.user()
    user_id = request.int_param("id")
    if user_id != caller.id:
        # end-users see only themselves: Zendesk refuses the rest with 403, whether or not
        # the user exists (so nothing is learned from the difference)
        request.agent()
    user = request.sandbox.store.user(user_id)
    if user is None:
        raise not_found()
    return json_reply(200, {"user": user_json(user, request.base_url)})


def users_show_many(request: Request) -> Reply:
    request.agent()
    store = request.sandbox.store
    if request.arg("emails") is not None:
        emails = request.ids_arg("emails")
        found = [store.users_by_email.get(e.lower()) for e in emails]
    else:
        found = [store.user(i) for i in int_ids(request.ids_arg("ids"))]
    users = [user_json(u, request.base_url) for u in found if u is not None]
    return json_reply(
        200, {"users": users, "next_page": None, "previous_page": None, "count": len(users)}
    )


def users_search(request: Request) -> Reply:
    request.agent()
    store = request.sandbox.store
    text = (request.arg("query") or "").strip()
    external = request.arg("external_id")
    if external is not None:
        matches = []  # seeded users have no external ids
    else:
        # role:X filters (repeated, they OR, as in Zendesk's search); the rest is the text
        terms = text.split()
        roles = {t[len("role:") :].casefold() for t in terms if t.casefold().startswith("role:")}
        text = " ".join(t for t in terms if not t.casefold().startswith("role:"))
        if text.lower().startswith("email:"):
            text = text[len("email:") :]
        wanted = text.casefold()
        words = wanted.split()

        def hit(user: User) -> bool:
            if roles and user.role not in roles:
                return False
            if not words:
                return bool(roles)
            name, email = user.name, user.email
            if email.casefold() == wanted or name.casefold() == wanted:
                return True
            return all(name_matches(w, name, email) for w in words)

        matches = [u for u in store.users if hit(u)]
    page, meta = offset_page(
        matches,
        request.query,
        base_url=request.base_url,
        path="/api/v2/users/search.json",
        endpoint="api/v2/users/search",
    )
    return json_reply(200, {"users": [user_json(u, request.base_url) for u in page], **meta})


def groups_list(request: Request) -> Reply:
    request.agent()
    groups = request.sandbox.store.groups
    path = "/api/v2/groups.json"
    if request.arg("page[size]") is not None:
        positions, meta = cursor_page(
            [g.id for g in groups], request.query, base_url=request.base_url, path=path
        )
        items = [groups[i] for i in positions]
        return json_reply(200, {"groups": [group_json(g, request.base_url) for g in items], **meta})
    page, offset_meta = offset_page(
        groups, request.query, base_url=request.base_url, path=path, endpoint="api/v2/groups"
    )
    return json_reply(
        200, {"groups": [group_json(g, request.base_url) for g in page], **offset_meta}
    )


def group_show(request: Request) -> Reply:
    request.agent()
    group = request.sandbox.store.group(request.int_param("id"))
    if group is None:
        raise not_found()
    return json_reply(200, {"group": group_json(group, request.base_url)})


def ticket_fields_list(request: Request) -> Reply:
    request.agent()
    fields = [ticket_field_json(f, request.base_url) for f in request.sandbox.store.fields]
    return json_reply(
        200,
        {"ticket_fields": fields, "next_page": None, "previous_page": None, "count": len(fields)},
    )


def ticket_field_show(request: Request) -> Reply:
    request.agent()
    wanted = request.int_param("id")
    for field in request.sandbox.store.fields:
        if field.id == wanted:
            return json_reply(200, {"ticket_field": ticket_field_json(field, request.base_url)})
    raise not_found()


def job_status_show(request: Request) -> Reply:
    request.agent()
    job = request.sandbox.jobs.get(request.params["id"])
    if job is None:
        raise not_found()
    return json_reply(200, {"job_status": job_status_json(job, request.base_url)})


def job_statuses_list(request: Request) -> Reply:
    """Newest first (Zendesk sorts by completion, then creation; submission order is close)."""
    request.agent()
    jobs = request.sandbox.jobs.recent()
    positions, meta = cursor_page(
        [-number for number, _ in jobs],
        request.query,
        base_url=request.base_url,
        path="/api/v2/job_statuses.json",
    )
    statuses = [job_status_json(jobs[p][1], request.base_url) for p in positions]
    return json_reply(200, {"job_statuses": statuses, **meta})


def job_statuses_show_many(request: Request) -> Reply:
    request.agent()
    jobs: list[dict[str, Any]] = []
    for job_id in request.ids_arg("ids"):
        job = request.sandbox.jobs.get(job_id)
        if job is not None:
            jobs.append(job_status_json(job, request.base_url))
    return json_reply(200, {"job_statuses": jobs})
