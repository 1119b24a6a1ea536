"""Every sandbox endpoint answers in the shape of Zendesk's OpenAPI schema, and zenpy works on it.

The schemas in tests/data/zendesk_oas/ were extracted from Zendesk's official spec by
tests/data/zendesk_oas/extract.py (refs resolved, descriptions and examples dropped).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fixtures_sandbox import ServedSandbox

SCHEMAS = Path(__file__).parent / "data" / "zendesk_oas"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.json").read_text())
    return _null_allowed(loaded)


def _null_allowed(node: Any) -> Any:
    """Accept null wherever the spec gives a scalar type.

    Zendesk's spec marks almost nothing `nullable`, yet real answers carry null in many of
    those properties (`alias`, `signature`, `priority`, ... in the recorded responses of
    zendesk-api.md), so a strict reading would reject Zendesk itself. Types of non-null values,
    required keys, enums and structure are still checked (oneOf is read as anyOf, since null
    now fits several branches).
    """
    if isinstance(node, list):
        return [_null_allowed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _null_allowed(value) for key, value in node.items()}
    if "oneOf" in out:  # with null allowed in every branch, null would match "more than one"
        out["anyOf"] = out.pop("oneOf")
    kind = out.get("type")
    if kind in ("string", "integer", "number", "boolean", "object", "array"):
        out["type"] = [kind, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


# Keys of the real recorded responses (zendesk-api.md 1, 2.1, 2.3, 2.4). Zendesk's spec marks
# almost nothing `required`, so without these `{}` would conform to nearly every schema.
RECORDED_KEYS = {  # space-separated key names
    "ticket": (
        "url id external_id via created_at updated_at type subject raw_subject description "
        "priority status recipient requester_id submitter_id assignee_id organization_id "
        "group_id collaborator_ids follower_ids email_cc_ids forum_topic_id problem_id "
        "has_incidents is_public due_at tags custom_fields satisfaction_rating "
        "sharing_agreement_ids custom_status_id fields followup_ids ticket_form_id brand_id "
        "allow_channelback allow_attachments from_messaging_channel"
    ),
    "user": (
        "id url name email created_at updated_at time_zone iana_time_zone phone "
        "shared_phone_number photo locale_id locale organization_id role verified external_id "
        "tags alias active shared shared_agent last_login_at signature details notes role_type "
        "custom_role_id moderator ticket_restriction only_private_comments restricted_agent "
        "suspended default_group_id user_fields"
    ),
    "audit": "id ticket_id created_at author_id metadata events via",
    "job_status": "id url total progress status message results",
}
# Where each kind of record sits in a response body.
RECORD_KEYS = {
    "ticket": "ticket",
    "tickets": "ticket",
    "user": "user",
    "users": "user",
    "audit": "audit",
    "audits": "audit",
    "job_status": "job_status",
    "job_statuses": "job_status",
}
OFFSET_KEYS = {"next_page", "previous_page", "count"}


def conforms(body: Any, name: str) -> None:
    """`body` validates against the spec's schema `name` and carries Zendesk's recorded keys."""
    loaded = schema(name)
    jsonschema.validate(body, loaded)
    declared = _declared(loaded)
    if "meta" in body:  # cursor-paged lists answer without the offset keys
        declared -= OFFSET_KEYS
    assert declared <= set(body), f"{name}: missing {sorted(declared - set(body))}"
    for key, kind in RECORD_KEYS.items():
        found = body.get(key)
        for record in found if isinstance(found, list) else [found] if found else []:
            _has_recorded_keys(record, kind, name)
    for result in body.get("results") or []:
        if result.get("result_type") in ("ticket", "user"):
            _has_recorded_keys(result, result["result_type"], name)


def _declared(node: dict[str, Any]) -> set[str]:
    keys = set(node.get("properties", {}))
    for part in node.get("allOf", []):
        keys |= _declared(part)
    return keys


def _has_recorded_keys(record: dict[str, Any], kind: str, name: str) -> None:
    missing = [k for k in RECORDED_KEYS[kind].split() if k not in record]
    assert not missing, f"{name}: a {kind} lacks {missing}"
    # null is allowed for scalars in general (see _null_allowed), never for a record's id;
    # the anonymous user of users/me is the one record Zendesk sends without one.
    assert record["id"] is not None or name == "CurrentUserResponse", f"{name}: {kind} id null"


def open_ticket(sandbox: ServedSandbox) -> int:
    for ticket_id in range(1, sandbox.sb.ticket_count + 1):
        ticket = sandbox.sb.ticket(ticket_id)
        if ticket["status"] == "open" and ticket["assignee_id"]:
            return ticket_id
    raise AssertionError("the seeded data has no open, assigned ticket")


def test_read_endpoints_match_the_openapi_schemas(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.admin["email"])
    checks = [
        ("/api/v2/users/me.json", {}, "CurrentUserResponse"),
        (f"/api/v2/users/{sandbox.bot['id']}.json", {}, "UserResponse"),
        (
            "/api/v2/users/show_many.json",
            {"ids": f"{sandbox.bot['id']},{sandbox.agent['id']}"},
            "UsersResponse",
        ),
        ("/api/v2/users/search.json", {"query": sandbox.bot["email"]}, "UsersResponse"),
        ("/api/v2/groups.json", {}, "GroupsResponse"),
        ("/api/v2/ticket_fields.json", {}, "TicketFieldsResponse"),
        ("/api/v2/tickets.json", {}, "TicketsResponse"),
        ("/api/v2/tickets.json", {"page[size]": "5", "sort": "-updated_at"}, "TicketsResponse"),
        ("/api/v2/tickets/1.json", {}, "TicketResponse"),
        ("/api/v2/tickets/show_many.json", {"ids": "1,2,3"}, "TicketsResponse"),
        ("/api/v2/tickets/1/tags.json", {}, "TagsByObjectIdResponse"),
        ("/api/v2/tickets/1/audits.json", {}, "TicketAuditsResponseNoneCursor"),
        ("/api/v2/search.json", {"query": "status<solved"}, "SearchResponse"),
        ("/api/v2/search.json", {"query": "type:user bot"}, "SearchResponse"),
        ("/api/v2/search/count.json", {"query": "status:open"}, "SearchCountResponse"),
        (
            "/api/v2/search/export.json",
            {"query": "status:open", "filter[type]": "ticket", "page[size]": "10"},
            "SearchExportResponse",
        ),
        (
            "/api/v2/incremental/tickets/cursor.json",
            {"start_time": "0"},
            "CursorBasedExportIncrementalTicketsResponse",
        ),
    ]
    for path, params, name in checks:
        response = client.get(path, params=params)
        assert response.status_code == 200, (path, response.text)
        conforms(response.json(), name)
    group = sandbox.sb.groups[0]["id"]
    conforms(client.get(f"/api/v2/groups/{group}.json").json(), "GroupResponse")
    field = sandbox.sb.ticket_fields[0]["id"]
    conforms(client.get(f"/api/v2/ticket_fields/{field}.json").json(), "TicketFieldResponse")
    conforms(
        client.get("/api/v2/users/me.json", headers={"Authorization": ""}).json(),
        "CurrentUserResponse",
    )


def test_write_endpoints_match_the_openapi_schemas(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id = open_ticket(sandbox)
    updated = client.put(
        f"/api/v2/tickets/{ticket_id}.json",
        json={"ticket": {"priority": "urgent", "comment": {"body": "Checked.", "public": False}}},
    )
    assert updated.status_code == 200
    conforms(updated.json(), "TicketUpdateResponse")
    for method, status in (("POST", 201), ("PUT", 200), ("DELETE", 200)):
        tags = client.request(
            method, f"/api/v2/tickets/{ticket_id}/tags.json", json={"tags": ["conformance"]}
        )
        assert tags.status_code == status
        conforms(tags.json(), "TagsByObjectIdResponse")
    job = client.put(
        "/api/v2/tickets/update_many.json",
        params={"ids": str(ticket_id)},
        json={"ticket": {"additional_tags": ["bulk"]}},
    )
    assert job.status_code == 200
    conforms(job.json(), "JobStatusResponse")
    assert sandbox.sb.wait_for_jobs()
    job_id = job.json()["job_status"]["id"]
    done = client.get(f"/api/v2/job_statuses/{job_id}.json").json()
    conforms(done, "JobStatusResponse")
    assert done["job_status"]["status"] == "completed"
    many = client.get("/api/v2/job_statuses/show_many.json", params={"ids": job_id}).json()
    conforms(many, "JobStatusesResponse")
    listed = client.get("/api/v2/job_statuses.json").json()
    conforms(listed, "JobStatusesResponse")
    assert [j["id"] for j in listed["job_statuses"]] == [job_id]
    audits = client.get(f"/api/v2/tickets/{ticket_id}/audits.json").json()
    conforms(audits, "TicketAuditsResponseNoneCursor")
    cursor = client.get(f"/api/v2/tickets/{ticket_id}/audits.json", params={"page[size]": 1})
    conforms(cursor.json(), "TicketAuditsResponseNoneCursor")
    assert set(cursor.json()) == {"audits", "meta", "links"}


def test_jobs_with_failed_items_and_the_batch_form_match_the_schemas(
    sandbox: ServedSandbox,
) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id = open_ticket(sandbox)
    closed = next(
        i for i in range(1, sandbox.sb.ticket_count + 1)
        if sandbox.sb.ticket(i)["status"] == "closed"
    )
    batch = client.put(
        "/api/v2/tickets/update_many.json",
        json={"tickets": [{"id": ticket_id, "priority": "low"}, {"id": closed, "priority": "low"}]},
    )
    assert batch.status_code == 200
    conforms(batch.json(), "JobStatusResponse")
    assert sandbox.sb.wait_for_jobs()
    job_id = batch.json()["job_status"]["id"]
    done = client.get(f"/api/v2/job_statuses/{job_id}.json").json()
    conforms(done, "JobStatusResponse")
    results = {r["id"]: r for r in done["job_status"]["results"]}
    assert results[ticket_id]["success"] is True
    assert results[closed]["success"] is False and results[closed]["error"] == "RecordInvalid"
    many = client.get("/api/v2/job_statuses/show_many.json", params={"ids": job_id}).json()
    conforms(many, "JobStatusesResponse")


def test_searches_of_users_match_the_schemas(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    found = client.get("/api/v2/search.json", params={"query": "type:user jane"}).json()
    conforms(found, "SearchResponse")
    assert found["results"] and found["results"][0]["result_type"] == "user"
    exported = client.get(
        "/api/v2/search/export.json",
        params={"query": "jane", "filter[type]": "user", "page[size]": "1"},
    ).json()
    conforms(exported, "SearchExportResponse")
    assert exported["results"][0]["result_type"] == "user"


# ---- zenpy, unmodified, over HTTP ----------------------------------------------------------


@pytest.fixture
def zenpy_client(sandbox: ServedSandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    from zenpy import Zenpy

    # zenpy's own switches for a custom host: ZENPY_FORCE_NETLOC / ZENPY_FORCE_SCHEME.
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", sandbox.url.removeprefix("http://"))
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    email = sandbox.bot["email"]
    return Zenpy(subdomain="sandbox", email=email, token=sandbox.credentials(email, "api_token"))


def test_zenpy_reads_users_me_search_and_export(sandbox: ServedSandbox, zenpy_client: Any) -> None:
    me = zenpy_client.users.me()
    assert (me.id, me.email, me.name) == (sandbox.bot["id"], sandbox.bot["email"], "Automation Bot")
    expected = (
        sandbox.client(sandbox.bot["email"])
        .get("/api/v2/search/count.json", params={"query": "type:ticket status:open"})
        .json()["count"]
    )
    found = list(zenpy_client.search(type="ticket", status="open"))
    assert len(found) == expected > 0
    assert all(t.status == "open" for t in found)
    exported = list(zenpy_client.search_export(type="ticket", status="open"))
    assert sorted(t.id for t in exported) == sorted(t.id for t in found)


def test_zenpy_shows_updates_with_a_comment_and_edits_tags(
    sandbox: ServedSandbox, zenpy_client: Any
) -> None:
    from zenpy.lib.api_objects import Comment

    ticket_id = open_ticket(sandbox)
    ticket = zenpy_client.tickets(id=ticket_id)
    assert ticket.subject == sandbox.sb.ticket(ticket_id)["subject"]
    ticket.comment = Comment(body="Looked at by zenpy", public=False)
    ticket.priority = "high"
    audit = zenpy_client.tickets.update(ticket)
    assert audit.ticket.priority == "high"
    comments = sandbox.sb.comments(ticket_id)
    assert comments[-1]["body"] == "Looked at by zenpy"
    assert comments[-1]["author_id"] == sandbox.bot["id"]

    zenpy_client.tickets.add_tags(ticket_id, ["zenpy-added"])
    assert "zenpy-added" in zenpy_client.tickets.tags(ticket_id)
    zenpy_client.tickets.delete_tags(ticket_id, ["zenpy-added"])
    assert "zenpy-added" not in sandbox.sb.ticket(ticket_id)["tags"]


def test_zenpy_bulk_update_and_job_polling(sandbox: ServedSandbox, zenpy_client: Any) -> None:
    ids = [t for t in range(1, 40) if sandbox.sb.ticket(t)["status"] not in ("closed",)][:5]
    tickets = [zenpy_client.tickets(id=i) for i in ids]
    for ticket in tickets:
        ticket.priority = "urgent"
    job = zenpy_client.tickets.update(tickets)
    deadline = time.monotonic() + 10
    while job.status in ("queued", "working") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = zenpy_client.job_status(id=job.id)
    assert job.status == "completed"
    assert sorted(r.id for r in job.results) == sorted(ids)
    assert all(sandbox.sb.ticket(i)["priority"] == "urgent" for i in ids)
