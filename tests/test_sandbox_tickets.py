"""Ticket reads and writes: Zendesk's system rules, collisions, tags, audits, paging."""

from __future__ import annotations

from typing import Any

import httpx
from fixtures_sandbox import ServedSandbox


def first(sandbox: ServedSandbox, **wanted: Any) -> dict[str, Any]:
    for ticket_id in range(1, sandbox.sb.ticket_count + 1):
        ticket = sandbox.sb.ticket(ticket_id)
        if all((ticket[k] is not None) if v is ... else ticket[k] == v for k, v in wanted.items()):
            return ticket
    raise AssertionError(f"no seeded ticket has {wanted}")


def put(client: httpx.Client, ticket_id: int, **changes: Any) -> httpx.Response:
    return client.put(f"/api/v2/tickets/{ticket_id}.json", json={"ticket": changes})


def test_show_missing_and_json_suffix_optional(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    assert client.get("/api/v2/tickets/1").json() == client.get("/api/v2/tickets/1.json").json()
    missing = client.get("/api/v2/tickets/999999.json")
    assert missing.status_code == 404
    assert missing.json() == {"error": "RecordNotFound", "description": "Not found"}
    unknown = client.get("/api/v2/widgets.json")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "InvalidEndpoint"
    many = client.get("/api/v2/tickets/show_many.json", params={"ids": "1,2,999999"}).json()
    assert [t["id"] for t in many["tickets"]] == [1, 2]
    too_many = client.get(
        "/api/v2/tickets/show_many.json", params={"ids": ",".join(map(str, range(1, 102)))}
    )
    assert too_many.status_code == 400
    assert too_many.json()["error"] == "TooManyValues"


def test_update_records_an_audit_as_the_caller(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="open", priority="normal")
    response = put(
        client,
        ticket["id"],
        priority="high",
        comment={"body": "Routed by rule", "public": False},
        additional_tags=["billing-routed"],
        remove_tags=ticket["tags"][:1],
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ticket"]["priority"] == "high"
    assert body["ticket"]["updated_at"] > ticket["updated_at"]
    audit = body["audit"]
    assert audit["author_id"] == sandbox.bot["id"]
    assert audit["via"]["channel"] == "api"
    events = {e["field_name"] if e["type"] == "Change" else e["type"]: e for e in audit["events"]}
    assert events["priority"] == {
        "id": events["priority"]["id"],
        "type": "Change",
        "value": "high",
        "field_name": "priority",
        "previous_value": "normal",
    }
    assert "billing-routed" in events["tags"]["value"]
    assert events["Comment"]["public"] is False
    assert events["Comment"]["author_id"] == sandbox.bot["id"]
    assert sandbox.sb.audits(ticket["id"])[-1] == audit


def test_ids_in_change_events_are_strings(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.admin["email"])
    ticket = first(sandbox, status="open")
    group = next(g["id"] for g in sandbox.sb.groups if g["id"] != ticket["group_id"])
    audit = put(client, ticket["id"], group_id=group).json()["audit"]
    assert audit["events"][0]["value"] == str(group)


def test_no_op_update_leaves_updated_at(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="pending")
    response = put(client, ticket["id"], status="pending", tags=ticket["tags"])
    assert response.status_code == 200
    assert response.json()["ticket"]["updated_at"] == ticket["updated_at"]
    assert response.json()["audit"]["events"] == []
    assert len(sandbox.sb.audits(ticket["id"])) == 1


def test_closed_ticket_refuses_updates(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.admin["email"])
    ticket = first(sandbox, status="closed")
    response = put(client, ticket["id"], comment={"body": "hello", "public": False})
    assert response.status_code == 422
    assert response.json() == {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {"status": [{"description": "Status: closed prevents ticket update"}]},
    }


def test_solving_needs_an_assignee_and_rejects_the_whole_write(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="new", assignee_id=None)
    response = put(client, ticket["id"], status="solved", priority="urgent")
    assert response.status_code == 422
    base = response.json()["details"]["base"]
    assert base[0]["description"] == "Assignee: is required when solving a ticket"
    assert base[0]["ticket_field_type"] == "FieldAssignee"
    assert sandbox.sb.ticket(ticket["id"]) == ticket


def test_priority_cannot_be_reset_and_status_cannot_go_back_to_new(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="open", priority="low")
    reset = put(client, ticket["id"], priority=None)
    assert reset.status_code == 422
    assert reset.json()["details"]["priority"][0]["description"] == "Priority: cannot be reset"
    back = put(client, ticket["id"], status="new")
    assert back.status_code == 422
    assert "status" in back.json()["details"]


def test_assigning_a_new_ticket_opens_it(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="new", assignee_id=None)
    response = put(client, ticket["id"], assignee_id=sandbox.agent["id"])
    assert response.json()["ticket"]["status"] == "open"


def test_invalid_values_are_422_with_details(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="open")
    fields = {f["title"]: f for f in sandbox.sb.ticket_fields}
    response = put(
        client,
        ticket["id"],
        status="later",
        group_id=1,
        assignee_id=sandbox.end_user["id"],
        custom_fields=[{"id": fields["Product"]["id"], "value": "product_nope"}],
    )
    assert response.status_code == 422
    details = response.json()["details"]
    assert set(details) == {"status", "group", "assignee", "base"}
    assert "product_nope" in details["base"][0]["description"]


def test_custom_dropdown_value_moves_its_tag(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    product = next(f for f in sandbox.sb.ticket_fields if f["title"] == "Product")
    ticket = first(sandbox, status="open")
    response = put(
        client, ticket["id"], custom_fields=[{"id": product["id"], "value": "product_gizmo"}]
    )
    tags = response.json()["ticket"]["tags"]
    assert "product_gizmo" in tags
    assert [t for t in tags if t.startswith("product_")] == ["product_gizmo"]


def test_safe_update_with_a_stale_stamp_is_409_and_changes_nothing(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="open")
    sandbox.sb.agent_edit(ticket["id"])
    edited = sandbox.sb.ticket(ticket["id"])
    response = put(
        client,
        ticket["id"],
        priority="urgent",
        safe_update=True,
        updated_stamp=ticket["updated_at"],
    )
    assert response.status_code == 409
    assert response.json()["error"] == "UpdateConflict"
    assert sandbox.sb.ticket(ticket["id"]) == edited
    fresh = put(
        client,
        ticket["id"],
        priority="urgent",
        safe_update=True,
        updated_stamp=edited["updated_at"],
    )
    assert fresh.status_code == 200


def test_two_writes_in_one_second_still_differ_in_updated_at(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="open")
    one = put(client, ticket["id"], additional_tags=["a1"]).json()["ticket"]["updated_at"]
    two = put(client, ticket["id"], additional_tags=["a2"]).json()["ticket"]["updated_at"]
    assert two > one


def test_tags_endpoints(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="open")
    path = f"/api/v2/tickets/{ticket['id']}/tags.json"
    assert client.get(path).json() == {"tags": ticket["tags"]}
    created = client.post(path, json={"tags": ["Alpha", "beta gamma"]})
    assert (created.status_code, created.json()) == (201, {"tags": ["alpha", "beta", "gamma"]})
    added = client.put(path, json={"tags": ["delta"]})
    assert added.json() == {"tags": ["alpha", "beta", "gamma", "delta"]}
    removed = client.request("DELETE", path, json={"tags": ["beta"]})
    assert removed.json() == {"tags": ["alpha", "gamma", "delta"]}
    by_query = client.delete(path, params={"tags": "alpha,gamma"})
    assert by_query.json() == {"tags": ["delta"]}
    stale = client.put(
        path, json={"tags": ["x"], "safe_update": True, "updated_stamp": ticket["updated_at"]}
    )
    assert stale.status_code == 409


def test_cursor_and_offset_listing_walk_every_ticket_once(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    seen: list[int] = []
    url: str | None = "/api/v2/tickets.json?page[size]=30&sort=-updated_at"
    while url:
        page = client.get(url).json()
        seen += [t["id"] for t in page["tickets"]]
        url = page["links"]["next"]
        assert page["meta"]["has_more"] == bool(url)
    assert sorted(seen) == list(range(1, 201))
    stamps = [sandbox.sb.ticket(i)["updated_at"] for i in seen]
    assert stamps == sorted(stamps, reverse=True)
    offset = client.get("/api/v2/tickets.json", params={"per_page": 50, "page": 4}).json()
    assert [t["id"] for t in offset["tickets"]] == list(range(151, 201))
    assert offset["count"] == 200 and offset["next_page"] is None
    bad_sort = client.get("/api/v2/tickets.json", params={"page[size]": 5, "sort": "subject"})
    assert bad_sort.status_code == 400
    assert bad_sort.json()["errors"][0]["code"] == "InvalidPaginationParameter"
    deep = client.get("/api/v2/tickets.json", params={"per_page": 100, "page": 101})
    assert deep.status_code == 400
    assert deep.json()["errors"][0]["code"] == "InvalidPaginationDepth"


def test_audits_paging(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket = first(sandbox, status="open")
    for n in range(3):
        put(client, ticket["id"], comment={"body": f"note {n}", "public": False})
    path = f"/api/v2/tickets/{ticket['id']}/audits.json"
    offset = client.get(path).json()
    assert offset["count"] == 4
    assert offset["audits"][0]["events"][0]["body"] == ticket["description"]
    page = client.get(path, params={"page[size]": 3}).json()
    assert len(page["audits"]) == 3 and page["meta"]["has_more"]
    rest = client.get(page["links"]["next"]).json()
    assert [a["id"] for a in page["audits"] + rest["audits"]] == [a["id"] for a in offset["audits"]]


def test_garbage_paging_parameters_are_400_never_500(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.admin["email"])
    other_sort = client.get("/api/v2/tickets.json", params={"page[size]": 2, "sort": "-updated_at"})
    cursor = other_sort.json()["meta"]["after_cursor"]
    by_id = client.get("/api/v2/tickets.json", params={"page[size]": 2}).json()["meta"][
        "after_cursor"
    ]
    cases = [
        ("/api/v2/tickets.json", {"page[size]": 2, "page[after]": "%%%"}),
        ("/api/v2/tickets.json", {"page[size]": 2, "page[after]": cursor}),  # sort changed
        ("/api/v2/tickets.json", {"page[size]": "lots"}),
        ("/api/v2/tickets.json", {"page": "two"}),
        (
            "/api/v2/search/export.json",
            {"query": "status:open", "filter[type]": "ticket", "page[after]": by_id},
        ),
        ("/api/v2/incremental/tickets/cursor.json", {"cursor": by_id}),
        ("/api/v2/incremental/tickets/cursor.json", {"start_time": 0, "per_page": "x"}),
        ("/api/v2/tickets/show_many.json", {"ids": "1,two"}),
    ]
    for path, params in cases:
        response = client.get(path, params=params)
        assert response.status_code == 400, (path, params, response.text)
    bad_json = client.put(
        "/api/v2/tickets/1.json", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and bad_json.json()["error"] == "InvalidJSON"
    assert "internal_error" not in sandbox.sb.stats()["faults"]
