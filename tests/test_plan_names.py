"""ZendeskNames / QueryNames: rule and query names answered through one client, once per run."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from fixtures_sandbox import ServedSandbox

from runner.engine.names import QueryNames, ZendeskNames
from runner.engine.resolve import Resolver
from runner.errors import ResolveError
from runner.secrets import Secret
from runner.zendesk import Credentials, ZendeskClient

ORGS = [{"id": 401, "name": "Acme Corp"}, {"id": 402, "name": "Globex"}]
BRANDS = [{"id": 501, "name": "Acme"}, {"id": 502, "name": "Acme Outlet"}]


def organizations_and_brands(calls: Counter[str]) -> httpx.MockTransport:
    """Zendesk's organizations and brands endpoints, as documented (brands: cursor paged)."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        calls[path] += 1
        body: dict[str, Any]
        if path == "/api/v2/organizations/search.json":
            wanted = request.url.params["name"].casefold()
            body = {"organizations": [o for o in ORGS if o["name"].casefold() == wanted]}
        elif path.startswith("/api/v2/organizations/"):
            record_id = int(path.rsplit("/", 1)[-1].removesuffix(".json"))
            found = [o for o in ORGS if o["id"] == record_id]
            if not found:
                return httpx.Response(404, json={"error": "RecordNotFound"})
            body = {"organization": found[0]}
        elif path == "/api/v2/brands.json":
            body = {"brands": BRANDS, "meta": {"has_more": False}}
        else:
            return httpx.Response(404, json={"error": "InvalidEndpoint"})
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handle)


@pytest.fixture
def mocked() -> tuple[ZendeskNames, Counter[str]]:
    calls: Counter[str] = Counter()
    client = ZendeskClient(
        "https://acme.zendesk.com",
        Credentials("oauth", "bot@acme.test", Secret("k")),
        transport=organizations_and_brands(calls),
    )
    return ZendeskNames(client), calls


def test_organizations_and_brands_resolve_once(
    mocked: tuple[ZendeskNames, Counter[str]],
) -> None:
    names, calls = mocked
    resolver = Resolver(names)
    assert resolver.resolve_id("organization", "r", "globex") == 402
    assert resolver.resolve_id("organization", "r", "Globex") == 402
    assert resolver.resolve_id("brand", "r", "Acme Outlet") == 502
    assert resolver.resolve_id("brand", "r", "acme") == 501
    assert resolver.label("organization", 401) == "Acme Corp"
    assert names.find("organization", 999) is None
    assert names.find("organization", 999) is None
    assert calls["/api/v2/brands.json"] == 1
    assert calls["/api/v2/organizations/999.json"] == 1
    with pytest.raises(ResolveError, match=r'rule "r": no organization with name \'Initech\''):
        resolver.resolve_id("organization", "r", "Initech")


def test_query_names_cover_every_kind(mocked: tuple[ZendeskNames, Counter[str]]) -> None:
    names, _ = mocked
    query_names = QueryNames(names)
    assert query_names.organization_ids("acme corp") == frozenset({401})
    assert query_names.brand_ids("Acme") == frozenset({501})
    assert query_names.brand_ids("nope") == frozenset()


def test_groups_users_and_fields_from_the_sandbox(sandbox: ServedSandbox) -> None:
    client = ZendeskClient(
        sandbox.url,
        Credentials("oauth", sandbox.bot["email"],
                    Secret(sandbox.credentials(sandbox.bot["email"]))),
    )
    with client:
        names = ZendeskNames(client)
        resolver = Resolver(names)
        billing = next(g["id"] for g in sandbox.sb.groups if g["name"] == "Billing")
        assert resolver.resolve_id("group", "r", "billing") == billing
        assert resolver.resolve_id("user", "r", sandbox.agent["email"]) == sandbox.agent["id"]
        assert resolver.field("r", "Product").type == "tagger"
        with pytest.raises(ResolveError, match=r"nobody@example\.com"):
            resolver.resolve_id("user", "r", "nobody@example.com")
        assert resolver.user_name(sandbox.agent["id"]) == sandbox.agent["name"]
        query_names = QueryNames(names)
        assert query_names.group_ids("Tier 2") == frozenset(
            g["id"] for g in sandbox.sb.groups if g["name"] == "Tier 2"
        )
        assert query_names.user_ids(sandbox.agent["email"]) == frozenset({sandbox.agent["id"]})
        assert sandbox.agent["id"] in query_names.user_ids(sandbox.agent["name"])
        before = sandbox.sb.stats()["requests"]
        resolver.resolve_id("group", "r", "Billing")
        resolver.resolve_id("user", "r", sandbox.agent["email"])
        assert sandbox.sb.stats()["requests"] == before  # cached for the rest of the run
