"""The sandbox's organizations and brands: seeded data, endpoints, paging, roles, search."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from fixtures_sandbox import FIXED_NOW, ServedSandbox
from test_sandbox_conformance import conforms

from runner.sandbox import Sandbox


def all_tickets(sb: Sandbox) -> list[dict[str, Any]]:
    return [sb.ticket(i) for i in range(1, sb.ticket_count + 1)]


def org_id(sb: Sandbox, name: str) -> int:
    found: int = next(o["id"] for o in sb.organizations if o["name"] == name)
    return found


def brand_id(sb: Sandbox, name: str) -> int:
    found: int = next(b["id"] for b in sb.brands if b["name"] == name)
    return found


# --- seeded data ---------------------------------------------------------------------------------


def test_seeded_organizations_and_brands() -> None:
    sb = Sandbox(tickets=300, seed=5, now=FIXED_NOW)
    assert "Acme Enterprise" in [o["name"] for o in sb.organizations]
    assert len(sb.organizations) >= 3
    names = {b["name"]: b for b in sb.brands}
    assert "Acme" in names and len(names) >= 3
    assert [b["name"] for b in sb.brands if b["default"]] == ["Sandbox"]
    ids = [*(o["id"] for o in sb.organizations), *(b["id"] for b in sb.brands)]
    assert len(set(ids)) == len(ids)


def test_tickets_take_the_requesters_organization_and_an_account_brand() -> None:
    sb = Sandbox(tickets=300, seed=5, now=FIXED_NOW)
    users = {u["id"]: u for u in sb.users}
    brands = {b["id"] for b in sb.brands}
    by_org: Counter[int | None] = Counter()
    by_brand: Counter[int] = Counter()
    for ticket in all_tickets(sb):
        assert ticket["organization_id"] == users[ticket["requester_id"]]["organization_id"]
        assert ticket["brand_id"] in brands
        by_org[ticket["organization_id"]] += 1
        by_brand[ticket["brand_id"]] += 1
    # every organization and brand owns tickets, and some requesters have no organization
    assert set(by_org) == {*(o["id"] for o in sb.organizations), None}
    assert set(by_brand) == brands
    assert by_brand[brand_id(sb, "Sandbox")] > by_brand[brand_id(sb, "Acme")]


def test_brands_are_deterministic_and_leave_the_rest_of_the_seed_alone() -> None:
    first = all_tickets(Sandbox(tickets=120, seed=9, now=FIXED_NOW))
    second = all_tickets(Sandbox(tickets=120, seed=9, now=FIXED_NOW))
    assert first == second
    other = all_tickets(Sandbox(tickets=120, seed=10, now=FIXED_NOW))
    assert [t["brand_id"] for t in first] != [t["brand_id"] for t in other]


# --- endpoints -----------------------------------------------------------------------------------


def test_organization_and_brand_endpoints_match_the_openapi_schemas(
    sandbox: ServedSandbox,
) -> None:
    client = sandbox.client(sandbox.admin["email"])
    acme = org_id(sandbox.sb, "Acme Enterprise")
    brand = brand_id(sandbox.sb, "Acme")
    checks = [
        ("/api/v2/organizations.json", {}, "OrganizationsResponse"),
        ("/api/v2/organizations.json", {"page[size]": "2"}, "OrganizationsResponse"),
        (f"/api/v2/organizations/{acme}.json", {}, "OrganizationResponse"),
        ("/api/v2/organizations/show_many.json", {"ids": str(acme)}, "OrganizationsResponse"),
        ("/api/v2/organizations/search.json", {"name": "acme enterprise"},
         "OrganizationsResponse"),
        ("/api/v2/organizations/autocomplete.json", {"name": "Ac"}, "OrganizationsResponse"),
        ("/api/v2/brands.json", {}, "BrandsResponse"),
        ("/api/v2/brands.json", {"page[size]": "1"}, "BrandsResponse"),
        (f"/api/v2/brands/{brand}.json", {}, "BrandResponse"),
    ]
    for path, params, name in checks:
        response = client.get(path, params=params)
        assert response.status_code == 200, (path, response.text)
        conforms(response.json(), name)


def test_organizations_page_by_cursor_and_by_offset(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    expected = [o["id"] for o in sandbox.sb.organizations]
    seen: list[int] = []
    params: dict[str, str] = {"page[size]": "2"}
    while True:
        body = client.get("/api/v2/organizations.json", params=params).json()
        assert len(body["organizations"]) <= 2
        seen += [o["id"] for o in body["organizations"]]
        if not body["meta"]["has_more"]:
            break
        params = {"page[size]": "2", "page[after]": body["meta"]["after_cursor"]}
    assert seen == expected

    seen = []
    url: str | None = "/api/v2/organizations.json?per_page=2"
    while url:
        body = client.get(url).json()
        assert body["count"] == len(expected)
        seen += [o["id"] for o in body["organizations"]]
        url = body["next_page"]
    assert seen == expected


def test_brands_are_listed_by_name_and_paged_by_cursor(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    by_name = sorted(sandbox.sb.brands, key=lambda b: b["name"].casefold())
    listed = client.get("/api/v2/brands.json").json()
    assert [b["name"] for b in listed["brands"]] == [b["name"] for b in by_name]
    assert listed["count"] == len(by_name) and listed["next_page"] is None
    first = client.get("/api/v2/brands.json", params={"page[size]": "1"}).json()
    assert first["meta"]["has_more"] is True
    rest = client.get(
        "/api/v2/brands.json",
        params={"page[size]": "10", "page[after]": first["meta"]["after_cursor"]},
    ).json()
    assert [b["id"] for b in first["brands"] + rest["brands"]] == [b["id"] for b in by_name]
    assert rest["meta"]["has_more"] is False


def test_name_lookups_and_roles(sandbox: ServedSandbox) -> None:
    admin = sandbox.client(sandbox.admin["email"])
    agent = sandbox.client(sandbox.bot["email"])
    acme = org_id(sandbox.sb, "Acme Enterprise")
    # search: exact and case-insensitive, documented for admins only
    found = admin.get("/api/v2/organizations/search.json", params={"name": "ACME ENTERPRISE"})
    assert [o["id"] for o in found.json()["organizations"]] == [acme]
    assert admin.get("/api/v2/organizations/search.json",
                     params={"name": "Acme"}).json()["organizations"] == []
    assert agent.get("/api/v2/organizations/search.json",
                     params={"name": "Acme Enterprise"}).status_code == 403
    # autocomplete: names that start with the fragment, for agents
    started = agent.get("/api/v2/organizations/autocomplete.json", params={"name": "acme"})
    assert [o["name"] for o in started.json()["organizations"]] == ["Acme Enterprise"]
    missing = agent.get("/api/v2/organizations/autocomplete.json")
    assert missing.status_code == 400 and "name" in missing.json()["description"]


@pytest.mark.parametrize(
    "path",
    ["/api/v2/organizations.json", "/api/v2/organizations/1.json", "/api/v2/brands.json"],
)
def test_end_users_and_anonymous_callers_are_refused(sandbox: ServedSandbox, path: str) -> None:
    end_user = sandbox.client(sandbox.end_user["email"])
    assert end_user.get(path).status_code == 403
    assert sandbox.client().get(path).status_code == 401


def test_unknown_ids_are_404(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    for path in ("/api/v2/organizations/999.json", "/api/v2/brands/999.json",
                 "/api/v2/organizations/x.json"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "RecordNotFound"


# --- search --------------------------------------------------------------------------------------


def _search_ids(client: httpx.Client, query: str) -> set[int]:
    found: set[int] = set()
    params: dict[str, str] | None = {"query": query, "filter[type]": "ticket"}
    url = "/api/v2/search/export.json"
    while True:
        body = client.get(url, params=params).json()
        found |= {r["id"] for r in body["results"]}
        if not body["meta"]["has_more"]:
            return found
        params = {**(params or {}), "page[after]": body["meta"]["after_cursor"]}


def test_search_finds_tickets_by_organization_and_brand_name(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    sb = sandbox.sb
    tickets = all_tickets(sb)
    acme_org, acme_brand = org_id(sb, "Acme Enterprise"), brand_id(sb, "Acme")
    by_org = {t["id"] for t in tickets if t["organization_id"] == acme_org}
    by_brand = {t["id"] for t in tickets if t["brand_id"] == acme_brand}
    both = by_org & by_brand
    assert by_org and by_brand and both
    assert _search_ids(client, 'organization:"Acme Enterprise"') == by_org
    assert _search_ids(client, f"organization:{acme_org}") == by_org
    assert _search_ids(client, "brand:acme") == by_brand
    assert _search_ids(client, 'organization:"acme enterprise" brand:Acme') == both
    assert _search_ids(client, 'brand:"Nope Brand"') == set()
    count = client.get("/api/v2/search/count.json",
                       params={"query": 'type:ticket organization:"Acme Enterprise"'}).json()
    assert count["count"] == len(by_org)
