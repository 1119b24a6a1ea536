"""Authentication and roles, answered exactly as Zendesk answers them."""

from __future__ import annotations

import base64

import httpx
import pytest
from fixtures_sandbox import ServedSandbox

BAD_BASIC = {"error": "Couldn't authenticate you"}


def basic(login: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{secret}".encode()).decode()}


@pytest.mark.parametrize("kind", ["oauth", "api_token"])
def test_minted_credentials_act_as_their_user(sandbox: ServedSandbox, kind: str) -> None:
    for user in (sandbox.admin, sandbox.bot, sandbox.agent):
        me = sandbox.client(user["email"], kind).get("/api/v2/users/me.json")
        assert me.status_code == 200
        assert (me.json()["user"]["id"], me.json()["user"]["email"]) == (user["id"], user["email"])
    assert sandbox.bot["name"] == "Automation Bot"
    assert sandbox.bot["email"] == "bot@example.com"


def test_credentials_are_stable_for_a_seed(sandbox: ServedSandbox) -> None:
    email = sandbox.bot["email"]
    assert sandbox.credentials(email) == sandbox.credentials(email)
    assert sandbox.credentials(email) != sandbox.credentials(email, "api_token")
    with pytest.raises(KeyError, match=r"nobody@example\.com"):
        sandbox.credentials("nobody@example.com")
    with pytest.raises(ValueError, match="unknown credential kind"):
        sandbox.credentials(email, "password")


def test_an_api_token_works_with_any_users_email(sandbox: ServedSandbox) -> None:
    token = sandbox.credentials(sandbox.bot["email"], "api_token")
    me = httpx.get(
        f"{sandbox.url}/api/v2/users/me.json",
        headers=basic(f"{sandbox.agent['email']}/token", token),
    )
    assert me.json()["user"]["id"] == sandbox.agent["id"]


def test_unknown_api_token_is_401_everywhere(sandbox: ServedSandbox) -> None:
    headers = basic(f"{sandbox.bot['email']}/token", "not-a-token")
    for path in ("/api/v2/users/me.json", "/api/v2/tickets/1.json"):
        response = httpx.get(sandbox.url + path, headers=headers)
        assert response.status_code == 401
        assert response.json() == BAD_BASIC
    token = sandbox.credentials(sandbox.bot["email"], "api_token")
    unknown_email = httpx.get(
        f"{sandbox.url}/api/v2/tickets/1.json", headers=basic("ghost@example.com/token", token)
    )
    assert unknown_email.status_code == 401


def test_invalid_bearer_is_401_invalid_token(sandbox: ServedSandbox) -> None:
    response = httpx.get(
        f"{sandbox.url}/api/v2/users/me.json", headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "The access token provided is expired, revoked, malformed or "
        "invalid for other reasons.",
    }


def test_no_credentials_or_a_password_is_anonymous_on_users_me_only(sandbox: ServedSandbox) -> None:
    for headers in ({}, basic(sandbox.bot["email"], "hunter2")):
        me = httpx.get(f"{sandbox.url}/api/v2/users/me.json", headers=headers)
        assert me.status_code == 200
        assert me.json()["user"]["id"] is None
        assert me.json()["user"]["name"] == "Anonymous user"
        tickets = httpx.get(f"{sandbox.url}/api/v2/tickets.json", headers=headers)
        assert tickets.status_code == 401
        assert tickets.json() == BAD_BASIC


def test_end_users_are_refused_agent_endpoints(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.end_user["email"])
    forbidden = {
        "error": {
            "title": "Forbidden",
            "message": "You do not have access to this "
            "page. Please contact the account owner of this help desk for "
            "further help.",
        }
    }
    for method, path in (
        ("GET", "/api/v2/tickets.json"),
        ("GET", "/api/v2/search.json?query=x"),
        ("PUT", "/api/v2/tickets/1.json"),
        ("GET", "/api/v2/groups.json"),
    ):
        response = client.request(method, path, json={"ticket": {"status": "open"}})
        assert response.status_code == 403, path
        assert response.json() == forbidden
    own = client.get(f"/api/v2/users/{sandbox.end_user['id']}.json")
    assert own.status_code == 200
    # another user, existing or not, is refused like any agent endpoint (not hidden as a 404)
    for other in (sandbox.bot["id"], 999):
        response = client.get(f"/api/v2/users/{other}.json")
        assert (response.status_code, response.json()) == (403, forbidden)


def test_light_agents_read_and_add_internal_notes_only(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.light_agent["email"])
    ticket_id = next(i for i in range(1, 200) if sandbox.sb.ticket(i)["status"] == "open")
    assert client.get(f"/api/v2/tickets/{ticket_id}.json").status_code == 200
    note = client.put(
        f"/api/v2/tickets/{ticket_id}.json",
        json={"ticket": {"comment": {"body": "fyi", "public": False}}},
    )
    assert note.status_code == 200
    for change in ({"priority": "urgent"}, {"comment": {"body": "hello", "public": True}}):
        refused = client.put(f"/api/v2/tickets/{ticket_id}.json", json={"ticket": change})
        assert refused.status_code == 403
    bulk = client.put(
        "/api/v2/tickets/update_many.json",
        params={"ids": str(ticket_id)},
        json={"ticket": {"status": "open"}},
    )
    assert bulk.status_code == 403
    assert (
        client.get("/api/v2/incremental/tickets/cursor.json", params={"start_time": 0}).status_code
        == 403
    )
