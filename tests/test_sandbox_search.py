"""search.json, search/count.json, search/export.json and the incremental ticket export."""

from __future__ import annotations

from typing import Any

from fixtures_sandbox import ServedSandbox


def all_tickets(sandbox: ServedSandbox) -> list[dict[str, Any]]:
    return [sandbox.sb.ticket(i) for i in range(1, sandbox.sb.ticket_count + 1)]


def search_ids(client: Any, query: str, **params: Any) -> list[int]:
    ids: list[int] = []
    url: str | None = "/api/v2/search.json"
    first = {"query": query, **params}
    while url:
        page = client.get(url, params=first).json()
        first = {}
        ids += [r["id"] for r in page["results"]]
        url = page["next_page"]
    return ids


def test_search_queries_from_the_design_match_the_data(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    tickets = all_tickets(sandbox)
    active = ("new", "open", "pending", "hold")
    expectations = {
        "status<solved tags:vip": [
            t for t in tickets if t["status"] in active and "vip" in t["tags"]
        ],
        "type:ticket status:open status:pending": [
            t for t in tickets if t["status"] in ("open", "pending")
        ],
        "priority>normal -tags:refund": [
            t for t in tickets if t["priority"] in ("high", "urgent") and "refund" not in t["tags"]
        ],
        "assignee:none": [t for t in tickets if t["assignee_id"] is None],
        "group:Billing": [t for t in tickets if t["group_id"] == sandbox.sb.groups[1]["id"]],
        f"assignee:{sandbox.agent['email']}": [
            t for t in tickets if t["assignee_id"] == sandbox.agent["id"]
        ],
        "refund": [
            t
            for t in tickets
            if "refund" in (t["subject"] + " " + t["description"]).lower().replace(",", " ").split()
        ],
    }
    for query, expected in expectations.items():
        found = search_ids(client, query)
        assert sorted(found) == sorted(t["id"] for t in expected), query
        assert client.get("/api/v2/search/count.json", params={"query": query}).json() == {
            "count": len(expected)
        }
    assert expectations["status<solved tags:vip"], "the seed should give some VIP tickets"


def test_results_carry_result_type_and_are_sorted_as_asked(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    page = client.get(
        "/api/v2/search.json",
        params={"query": "status:open", "sort_by": "created_at", "sort_order": "asc"},
    ).json()
    assert all(r["result_type"] == "ticket" for r in page["results"])
    created = [r["created_at"] for r in page["results"]]
    assert created == sorted(created)
    users = client.get("/api/v2/search.json", params={"query": "type:user Automation"}).json()
    assert [u["id"] for u in users["results"]] == [sandbox.bot["id"]]
    assert users["results"][0]["result_type"] == "user"


def test_search_past_1000_results_is_422(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(tickets=1200)
    client = sandbox.client(sandbox.bot["email"])
    tenth = client.get("/api/v2/search.json", params={"query": "type:ticket", "page": 10})
    assert tenth.status_code == 200
    assert tenth.json()["count"] == 1200
    assert tenth.json()["next_page"] is None
    eleventh = client.get("/api/v2/search.json", params={"query": "type:ticket", "page": 11})
    assert eleventh.status_code == 422
    assert eleventh.json() == {
        "error": "invalid",
        "description": "Invalid search: Requested response size was greater than Search "
        "Response Limits",
    }
    cursor = client.get("/api/v2/search.json", params={"query": "x", "page[size]": 10})
    assert cursor.status_code == 400
    assert cursor.json()["error"]["title"] == "Invalid attribute"


def test_a_query_that_cannot_be_parsed_gets_zendesks_error_shape(sandbox: ServedSandbox) -> None:
    # Zendesk answers a malformed query with 422 and its search error shape, on every search
    # endpoint; a 400 would send a client down its bad-request path instead.
    client = sandbox.client(sandbox.bot["email"])
    endpoints = [
        ("/api/v2/search.json", {}),
        ("/api/v2/search/count.json", {}),
        ("/api/v2/search/export.json", {"filter[type]": "ticket"}),
    ]
    for path, extra in endpoints:
        for query in ("status<", "bogus:thing", 'subject:"open', "created>notadate", ""):
            response = client.get(path, params={"query": query, **extra})
            assert response.status_code == 422, (path, query)
            assert response.headers["content-type"].startswith("application/json")
            body = response.json()
            assert set(body) == {"error", "description"}
            assert body["error"] == "invalid"
            assert body["description"].startswith("Invalid search: ")


def test_export_walks_every_match_with_a_cursor(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    expected = sorted(search_ids(client, "status<solved"))
    seen: list[int] = []
    params: dict[str, Any] | None = {
        "query": "status<solved",
        "filter[type]": "ticket",
        "page[size]": 7,
    }
    url: str | None = "/api/v2/search/export.json"
    while url:
        page = client.get(url, params=params).json()
        params = None
        seen += [r["id"] for r in page["results"]]
        assert page["meta"]["has_more"] == bool(page["links"]["next"])
        url = page["links"]["next"]
    assert sorted(seen) == expected and len(seen) == len(set(seen))
    no_type = client.get("/api/v2/search/export.json", params={"query": "status:open"})
    assert no_type.status_code == 400
    too_big = client.get(
        "/api/v2/search/export.json",
        params={"query": "status:open", "filter[type]": "ticket", "page[size]": 1001},
    )
    assert too_big.status_code == 400


def test_incremental_export_pages_to_the_end_of_stream(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.admin["email"])
    seen: list[int] = []
    response = client.get(
        "/api/v2/incremental/tickets/cursor.json", params={"start_time": 0, "per_page": 60}
    ).json()
    while True:
        seen += [t["id"] for t in response["tickets"]]
        if response["end_of_stream"]:
            break
        response = client.get(response["after_url"]).json()
    assert sorted(seen) == list(range(1, 201))
    stamps = [sandbox.sb.ticket(i)["generated_timestamp"] for i in seen]
    assert stamps == sorted(stamps)
    again = client.get(
        "/api/v2/incremental/tickets/cursor.json", params={"cursor": response["after_cursor"]}
    ).json()
    assert again["tickets"] == [] and again["end_of_stream"] is True
    recent = client.get(
        "/api/v2/incremental/tickets/cursor.json", params={"start_time": int(sandbox.sb.clock())}
    )
    assert recent.status_code == 400
    for garbage in ("zzz", "bm90IGpzb24=", "WzFd"):  # not base64, not JSON, the wrong JSON
        bad = client.get("/api/v2/incremental/tickets/cursor.json", params={"cursor": garbage})
        assert bad.status_code == 400, garbage
        assert bad.json()["error"] == "InvalidCursor"
        assert "page[after]" not in bad.text and "start_time" in bad.json()["description"]


def test_users_search_and_show_many(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    by_email = client.get(
        "/api/v2/users/search.json", params={"query": f"email:{sandbox.agent['email']}"}
    ).json()
    assert [u["id"] for u in by_email["users"]] == [sandbox.agent["id"]]
    assert by_email["count"] == 1 and by_email["next_page"] is None
    many = client.get(
        "/api/v2/users/show_many.json", params={"ids": f"{sandbox.bot['id']},{sandbox.admin['id']}"}
    ).json()
    assert {u["email"] for u in many["users"]} == {sandbox.bot["email"], sandbox.admin["email"]}


def test_name_matches_reads_a_word_as_ticket_free_text_does() -> None:
    from runner.query import text_matches, text_pattern
    from runner.sandbox.search import name_matches

    cases = [
        ("top", "Toppings Team", True),
        ("top", "Desktop Support", False),
        ("TIER", "tier 2", True),
        ("doe", "jane_doe", True),  # underscore separates words, as in a subject
        ("jane@ex", "jane@example.com", True),
        ("jane@ex", "jane.doe@example.com", False),
        ("-", "Support", False),  # no letters or digits: names no one
    ]
    for word, name, expected in cases:
        assert name_matches(word, "Unrelated", name) is expected, (word, name)
        if any(c.isalnum() for c in word):
            pattern = text_pattern(word, prefix=True)
            assert text_matches(pattern, {"subject": name}) is expected, (word, name)


def search_names(client: Any, query: str) -> list[str]:
    page = client.get("/api/v2/search.json", params={"query": query}).json()
    return sorted(r["name"] for r in page["results"])


def test_type_searches_read_phrases_and_negation_as_ticket_text(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    assert search_names(client, 'type:group "Tier 2"') == ["Tier 2"]
    assert search_names(client, 'type:group "Tier 20"') == []  # a phrase ends on a word
    assert search_names(client, "type:group -billing") == ["Support", "Tier 2"]
    assert search_names(client, "type:organization umbrel") == ["Umbrella Health"]
    assert search_names(client, f"type:user {sandbox.agent['email']}") == [sandbox.agent["name"]]


def test_users_search_matches_a_partial_email_across_punctuation(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    local, domain = sandbox.agent["email"].split("@")
    found = client.get("/api/v2/users/search.json", params={"query": f"{local}@{domain[:3]}"})
    assert [u["id"] for u in found.json()["users"]] == [sandbox.agent["id"]]
    nobody = client.get("/api/v2/users/search.json", params={"query": "@"}).json()
    assert nobody["users"] == [] and nobody["count"] == 0
