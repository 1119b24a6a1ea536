"""Cursor paging, search export, offset paging, and refusing foreign next links."""

from __future__ import annotations

import httpx
import pytest
from test_zendesk_fakes import BASE, Scripted, make_client, ok

from runner.errors import TrustError, ZendeskError
from runner.zendesk.paging import strip_type

EXPORT = "/api/v2/search/export.json"


def _page(items: list[int], after: str | None, key: str = "results",
          next_link: str | None = None) -> httpx.Response:
    return ok({key: [{"id": i} for i in items],
               "meta": {"has_more": after is not None or next_link is not None,
                        "after_cursor": after, "before_cursor": None},
               "links": {"prev": None, "next": next_link}})


def test_search_export_walks_every_page_past_1000() -> None:
    pages = [_page(list(range(n * 1000, n * 1000 + 1000)), f"c{n}") for n in range(2)]
    script = Scripted().add("GET", EXPORT, *pages, _page([5000], None))
    with make_client(script) as client:
        ids = [t["id"] for t in client.search_export("type:ticket status<solved tags:vip")]
    assert len(ids) == 2001
    first, second, third = (r.url.params for r in script.requests)
    assert first["query"] == "status<solved tags:vip"
    assert first["filter[type]"] == "ticket" and first["page[size]"] == "1000"
    assert "page[after]" not in first
    assert (second["page[after]"], third["page[after]"]) == ("c0", "c1")
    assert third["query"] == "status<solved tags:vip"


def test_strip_type_keeps_other_terms() -> None:
    assert strip_type('type:ticket subject:"type:x" tags:a') == 'subject:"type:x" tags:a'
    assert strip_type("status<solved type:\"ticket\"") == "status<solved"


def test_links_next_on_our_origin_is_followed() -> None:
    script = Scripted().add(
        "GET", "/api/v2/groups.json",
        ok({"groups": [{"id": 1}], "meta": {"has_more": True},
            "links": {"next": f"{BASE}/api/v2/groups.json?page%5Bafter%5D=zz&page%5Bsize%5D=100"}}),
        ok({"groups": [{"id": 2}], "meta": {"has_more": False}, "links": {"next": None}}))
    with make_client(script) as client:
        assert [g["id"] for g in client.groups()] == [1, 2]
    assert script.requests[1].url.params["page[after]"] == "zz"


def test_foreign_next_link_is_refused() -> None:
    script = Scripted().add(
        "GET", "/api/v2/groups.json",
        ok({"groups": [{"id": 1}], "meta": {"has_more": True},
            "links": {"next": "https://attacker.example/api/v2/groups.json?page[after]=x"}}))
    with make_client(script) as client, pytest.raises(TrustError) as caught:
        client.groups()
    assert "attacker.example" in str(caught.value)
    assert len(script.requests) == 1


def test_endpoint_without_cursor_answers_all_at_once() -> None:
    script = Scripted().add("GET", "/api/v2/ticket_fields.json",
                            ok({"ticket_fields": [{"id": 1}, {"id": 2}], "next_page": None}))
    with make_client(script) as client:
        assert len(client.ticket_fields()) == 2


def test_repeated_cursor_stops_instead_of_looping() -> None:
    script = Scripted().always("GET", "/api/v2/groups.json", _page([1], "same", key="groups"))
    with make_client(script) as client, pytest.raises(ZendeskError, match="repeated"):
        client.groups()


def test_missing_list_is_an_error() -> None:
    script = Scripted().add("GET", EXPORT, ok({"oops": 1}))
    with make_client(script) as client, pytest.raises(ZendeskError, match="no 'results' list"):
        list(client.search_export("status:open"))


def test_users_search_is_offset_and_exact_email() -> None:
    path = "/api/v2/users/search.json"
    script = Scripted().add(
        "GET", path,
        ok({"users": [{"id": 1, "email": "jane.doe@acme.com"}],
            "next_page": f"{BASE}{path}?page=2&query=x", "count": 2}),
        ok({"users": [{"id": 2, "email": "Jane@Acme.com"}], "next_page": None, "count": 2}))
    with make_client(script) as client:
        assert client.user_by_email("jane@acme.com") == {"id": 2, "email": "Jane@Acme.com"}
    assert script.requests[0].url.params["query"] == "email:jane@acme.com"
    assert script.requests[0].url.params["per_page"] == "100"


def test_search_count_names_the_type() -> None:
    script = Scripted().add("GET", "/api/v2/search/count.json", ok({"count": 6}))
    with make_client(script) as client:
        assert client.search_count("type:ticket status:open") == 6
    assert script.requests[0].url.params["query"] == "type:ticket status:open"


def test_show_many_chunks_by_100() -> None:
    path = "/api/v2/tickets/show_many.json"
    script = Scripted().always("GET", path, lambda r: ok({"tickets": [
        {"id": int(i)} for i in r.url.params["ids"].split(",")]}))
    with make_client(script) as client:
        tickets = client.show_many(range(1, 251))
    assert len(tickets) == 250 and len(script.requests) == 3
