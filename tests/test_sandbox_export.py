"""search/export.json through a large account: the lazy walk against a full scan, updates
between pages, cursor expiry and foreign cursors, and the work a page does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fixtures_sandbox import ServedSandbox

from runner.sandbox import Sandbox, Server, export, search
from runner.sandbox.paging import encode_cursor

EXPORT = "/api/v2/search/export.json"
UNSOLVED = ("new", "open", "pending", "hold")
QUERY = "status<solved -tags:skipme"
LARGE = 20_000
NOW = 1_768_478_400.0  # 2026-01-15T12:00Z


@pytest.fixture(scope="module")
def large() -> Iterator[ServedSandbox]:
    # one 20,000-ticket account for the read-only tests; the update test makes its own
    sb = Sandbox(tickets=LARGE, seed=3, now=NOW)
    server = Server(sb, 0).start()
    served = ServedSandbox(sb, server)
    try:
        yield served
    finally:
        served.close()


def full_scan(sb: Sandbox) -> list[int]:
    """Ids the query selects, by reading every ticket, in Zendesk's export order."""
    tickets = [sb.ticket(i) for i in range(1, sb.ticket_count + 1)]
    chosen = [t for t in tickets if t["status"] in UNSOLVED and "skipme" not in t["tags"]]
    chosen.sort(key=lambda t: (t["created_at"], t["id"]), reverse=True)
    return [t["id"] for t in chosen]


def page(client: httpx.Client, after: str | None = None, size: int = 1000) -> dict[str, Any]:
    params: dict[str, Any] = {"query": QUERY, "filter[type]": "ticket", "page[size]": size}
    if after:
        params["page[after]"] = after
    response = client.get(EXPORT, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def walk(client: httpx.Client, after: str | None = None) -> list[int]:
    seen: list[int] = []
    while True:
        body = page(client, after)
        seen += [r["id"] for r in body["results"]]
        assert body["meta"]["has_more"] == bool(body["links"]["next"])
        if not body["meta"]["has_more"]:
            return seen
        after = body["meta"]["after_cursor"]


def test_export_of_a_large_account_is_the_full_scan_in_order(large: ServedSandbox) -> None:
    expected = full_scan(large.sb)
    assert len(expected) > 9_000  # ten pages of 1,000, so cursors carry the walk
    seen = walk(large.client(large.bot["email"]))
    assert seen == expected  # same tickets, same order: no duplicate, no gap


def test_results_are_the_tickets_as_shown_written_or_seeded(sandbox: ServedSandbox) -> None:
    # seeded tickets skip the private copy, written ones keep it: both must answer the same
    # shape as tickets/{id}
    edited = sandbox.sb.store.export_order()[3]
    sandbox.sb.agent_edit(edited)
    client = sandbox.client(sandbox.bot["email"])
    body = client.get(
        EXPORT, params={"query": "-status:closed", "filter[type]": "ticket", "page[size]": 1000}
    ).json()
    assert edited in [r["id"] for r in body["results"]]
    for result in body["results"]:
        assert result.pop("result_type") == "ticket"
        assert result == sandbox.sb.ticket(result["id"])
        assert result["url"].endswith(f"/api/v2/tickets/{result['id']}.json")


def test_tickets_updated_between_pages(sandbox_factory: Any) -> None:
    served: ServedSandbox = sandbox_factory(tickets=LARGE, seed=5)
    sb = served.sb
    client = served.client(served.admin["email"])
    before = full_scan(sb)
    first = page(client)
    served_ids = [r["id"] for r in first["results"]]
    assert served_ids == before[:1000]
    ahead = before[1000:]

    def put(ticket_id: int, **changes: Any) -> None:
        response = client.put(f"/api/v2/tickets/{ticket_id}.json", json={"ticket": changes})
        assert response.status_code == 200, response.text

    # a ticket already served changes, or stops matching: the walk has passed it
    sb.agent_edit(served_ids[10])
    put(served_ids[20], additional_tags=["skipme"])
    # tickets ahead of the cursor: one edited (still matching), one that stops matching
    sb.agent_edit(ahead[5])
    put(ahead[50], additional_tags=["skipme"])
    # and one that starts matching: a solved ticket ahead of the cursor is reopened
    order = sb.store.export_order()
    position = order.index(ahead[100])
    reopened = next(i for i in order[position:] if sb.ticket(i)["status"] == "solved")
    put(reopened, status="open")

    rest = walk(client, first["meta"]["after_cursor"])
    after_changes = full_scan(sb)
    # the rest of the walk is the current scan from the cursor's place on
    cut = after_changes.index(ahead[0])
    assert rest == after_changes[cut:]
    assert ahead[5] in rest and ahead[50] not in rest and reopened in rest
    whole = served_ids + rest
    assert len(whole) == len(set(whole))  # an updated ticket is never shown twice
    # every ticket that matched before and after the changes was shown exactly once
    steady = set(before) & set(after_changes)
    assert steady <= set(whole)


def test_an_expired_cursor_is_refused_with_what_to_do(large: ServedSandbox) -> None:
    client = large.client(large.bot["email"])
    fresh = page(client, size=5)["meta"]["after_cursor"]
    assert page(client, fresh, size=5)["results"]
    ticket_id = large.sb.store.export_order()[4]
    mark = (large.sb.store.created_ts(ticket_id), ticket_id)
    stale = export.encode(mark, large.sb.clock() - export.CURSOR_LIFETIME - 1)
    response = client.get(
        EXPORT,
        params={"query": QUERY, "filter[type]": "ticket", "page[size]": 5, "page[after]": stale},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidPaginationParameter"
    assert "expired" in error["detail"] and "start the export again" in error["detail"]
    # an hour less a minute is still good
    recent = export.encode(mark, large.sb.clock() - export.CURSOR_LIFETIME + 60)
    assert page(client, recent, size=5)["results"]


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor([-1, -2]),  # the old list form
        encode_cursor({"field": "updated_at", "value": 1, "tieBreakValue": 2, "expiresAt": 9}),
        encode_cursor({"field": "created_at", "value": "x", "tieBreakValue": 2, "expiresAt": 9}),
        "not-base64!",
    ],
)
def test_a_cursor_this_endpoint_did_not_make_is_400(large: ServedSandbox, cursor: str) -> None:
    client = large.client(large.bot["email"])
    response = client.get(
        EXPORT,
        params={"query": QUERY, "filter[type]": "ticket", "page[size]": 5, "page[after]": cursor},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidPaginationParameter"


def test_a_page_reads_only_up_to_its_last_match_and_one_more(large: ServedSandbox) -> None:
    store = large.sb.store
    reads: list[int] = []

    def every(ticket: dict[str, Any]) -> bool:
        reads.append(ticket["id"])
        return True

    order = store.export_order()
    middle = order[LARGE // 2]
    with store.lock:
        tickets, more = export.ticket_page(store, every, (store.created_ts(middle), middle), 100)
    # from the middle of 20,000 tickets: 100 results and a look-ahead, not the rest
    assert [t["id"] for t in tickets] == list(order[LARGE // 2 + 1 : LARGE // 2 + 101])
    assert more and len(reads) == 101

    parsed = search.parse("status:hold")
    with store.lock:
        matcher = search.ticket_matcher(store, parsed, None)
        tickets, more = export.ticket_page(store, matcher, None, 10)
    holds = [i for i in order if large.sb.ticket(i)["status"] == "hold"]
    assert [t["id"] for t in tickets] == holds[:10] and more


def test_users_export_walks_by_created_at_with_the_same_cursor(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    users = sandbox.sb.users
    seen: list[int] = []
    params: dict[str, Any] = {"query": "type:user", "filter[type]": "user", "page[size]": 4}
    while True:
        body = client.get(EXPORT, params=params).json()
        seen += [r["id"] for r in body["results"]]
        if not body["meta"]["has_more"]:
            break
        params = {**params, "page[after]": body["meta"]["after_cursor"]}
    by_created = sorted(users, key=lambda u: (u["created_at"], u["id"]), reverse=True)
    assert seen == [u["id"] for u in by_created]
