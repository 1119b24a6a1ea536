"""ZendeskClient and Directory on organizations and brands, against the served sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fixtures_sandbox import ServedSandbox

from runner.engine.names import QueryNames, ZendeskNames
from runner.engine.resolve import Resolver
from runner.errors import ResolveError, ZendeskNotFoundError
from runner.secrets import Secret
from runner.zendesk import Credentials, Directory, ZendeskClient

SEARCH = "GET /api/v2/organizations/search"
AUTOCOMPLETE = "GET /api/v2/organizations/autocomplete"
BRANDS = "GET /api/v2/brands"
SHOW = "GET /api/v2/organizations/{id}"


def client_as(sandbox: ServedSandbox, email: str) -> ZendeskClient:
    return ZendeskClient(
        sandbox.url, Credentials("oauth", email, Secret(sandbox.credentials(email)))
    )


@pytest.fixture
def bot(sandbox: ServedSandbox) -> Iterator[ZendeskClient]:
    with client_as(sandbox, sandbox.bot["email"]) as client:
        yield client


def calls(sandbox: ServedSandbox, endpoint: str, status: int | None = None) -> int:
    entry = sandbox.sb.stats()["by_endpoint"].get(endpoint)
    if entry is None:
        return 0
    if status is None:
        return int(entry["total"])
    return int(entry["by_status"].get(str(status), 0))


def expected_id(records: list[dict[str, Any]], name: str) -> int:
    return int(next(r["id"] for r in records if r["name"] == name))


# --- the client ----------------------------------------------------------------------------------


def test_client_reads_organizations_and_brands(sandbox: ServedSandbox, bot: ZendeskClient) -> None:
    orgs, brands = sandbox.sb.organizations, sandbox.sb.brands
    acme = expected_id(orgs, "Acme Enterprise")
    assert [o["id"] for o in bot.organizations()] == [o["id"] for o in orgs]
    assert bot.organization(acme)["name"] == "Acme Enterprise"
    shown = bot.organizations_show_many([acme, 999, acme])
    assert [o["id"] for o in shown] == [acme]
    assert sorted(b["name"] for b in bot.brands()) == sorted(b["name"] for b in brands)
    assert bot.brand(expected_id(brands, "Acme"))["name"] == "Acme"
    with pytest.raises(ZendeskNotFoundError):
        bot.organization(999)
    with pytest.raises(ZendeskNotFoundError):
        bot.brand(999)


def test_an_agent_token_falls_back_to_autocomplete_once(
    sandbox: ServedSandbox, bot: ZendeskClient
) -> None:
    acme = expected_id(sandbox.sb.organizations, "Acme Enterprise")
    # the bot is a plain agent: organizations/search answers 403, autocomplete works
    assert [o["id"] for o in bot.organizations_named("acme enterprise")] == [acme]
    # a prefix is not a name: autocomplete's "Acme..." matches are filtered to exact ones
    assert bot.organizations_named("Acme") == []
    assert [o["name"] for o in bot.organizations_named(" Globex ")] == ["Globex"]
    assert bot.organizations_named("  ") == []  # no call: Zendesk would answer 400
    assert calls(sandbox, SEARCH, 403) == 1  # remembered: later names skip search
    assert calls(sandbox, AUTOCOMPLETE) == 3


def test_an_admin_token_uses_exact_search(sandbox: ServedSandbox) -> None:
    acme = expected_id(sandbox.sb.organizations, "Acme Enterprise")
    with client_as(sandbox, sandbox.admin["email"]) as admin:
        assert [o["id"] for o in admin.organizations_named("ACME ENTERPRISE")] == [acme]
        assert admin.organizations_named("Acme") == []
    assert calls(sandbox, SEARCH, 200) == 2 and calls(sandbox, AUTOCOMPLETE) == 0


# --- the Directory -------------------------------------------------------------------------------


def test_directory_resolves_brands_from_one_list(
    sandbox: ServedSandbox, bot: ZendeskClient
) -> None:
    brands = sandbox.sb.brands
    directory = Directory(bot)
    acme = expected_id(brands, "Acme")
    assert directory.brand_id("acme") == acme
    assert directory.brand_id(acme) == acme and directory.brand_id(str(acme)) == acme
    assert directory.brand("Sandbox")["default"] is True
    with pytest.raises(ResolveError) as caught:
        directory.brand("Acme Outlet")
    message = str(caught.value)
    assert "brand 'Acme Outlet' not found" in message
    assert all(repr(b["name"]) in message for b in brands)
    assert calls(sandbox, BRANDS) == 1


def test_directory_resolves_organizations_and_caches_misses(
    sandbox: ServedSandbox, bot: ZendeskClient
) -> None:
    acme = expected_id(sandbox.sb.organizations, "Acme Enterprise")
    directory = Directory(bot)
    assert directory.organization_id("Acme Enterprise") == acme
    assert directory.organization_id("acme enterprise") == acme
    assert directory.organization_id(acme) == acme  # known from the name lookup: no call
    assert directory.organization_id(str(acme)) == acme
    assert calls(sandbox, SHOW) == 0
    with pytest.raises(ResolveError, match=r"organization 'Nope Corp' not found in Zendesk"):
        directory.organization("Nope Corp")
    assert directory.organization_by_id(999) is None
    assert directory.organization_by_id(999) is None
    assert calls(sandbox, SHOW) == 1
    before = sandbox.sb.stats()["requests"]
    directory.organization_id("ACME ENTERPRISE")
    with pytest.raises(ResolveError):
        directory.organization("nope corp")
    assert sandbox.sb.stats()["requests"] == before


def test_names_and_query_names_over_the_sandbox(
    sandbox: ServedSandbox, bot: ZendeskClient
) -> None:
    orgs, brands = sandbox.sb.organizations, sandbox.sb.brands
    acme_org, acme_brand = expected_id(orgs, "Acme Enterprise"), expected_id(brands, "Acme")
    names = ZendeskNames(bot)
    resolver = Resolver(names)
    assert resolver.resolve_id("organization", "r", "acme enterprise") == acme_org
    assert resolver.resolve_id("brand", "r", "ACME") == acme_brand
    assert resolver.label("organization", acme_org) == "Acme Enterprise"
    assert resolver.label("brand", acme_brand) == "Acme"
    globex = expected_id(orgs, "Globex")
    assert resolver.label("organization", globex) == "Globex"  # by id: organizations/{id}
    with pytest.raises(ResolveError, match=r'rule "r": no organization with name \'Nope\''):
        resolver.resolve_id("organization", "r", "Nope")
    query_names = QueryNames(names)
    assert query_names.organization_ids("Acme Enterprise") == frozenset({acme_org})
    assert query_names.brand_ids("acme") == frozenset({acme_brand})
    assert query_names.brand_ids("Acme Enterprise") == frozenset()
    assert calls(sandbox, BRANDS) == 1
