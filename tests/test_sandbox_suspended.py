"""The seeded suspended agent: its keys authenticate, users/me says so, nothing else opens."""

from __future__ import annotations

import json

from click.testing import CliRunner
from fixtures_sandbox import ServedSandbox
from fixtures_sops import MakeConfig

from runner.cli import main

FORBIDDEN = {
    "error": {
        "title": "Forbidden",
        "message": "You do not have access to this page. Please contact the account "
        "owner of this help desk for further help.",
    }
}


def test_users_me_answers_the_suspended_agent_and_agent_endpoints_refuse_it(
    sandbox: ServedSandbox,
) -> None:
    suspended = sandbox.suspended_agent
    assert (suspended["role"], suspended["suspended"], suspended["active"]) == (
        "agent",
        True,
        True,
    )
    for kind in ("oauth", "api_token"):
        client = sandbox.client(suspended["email"], kind)
        me = client.get("/api/v2/users/me.json")
        assert me.status_code == 200
        assert me.json()["user"] == {**suspended, "url": me.json()["user"]["url"]}
        for path in ("/api/v2/tickets/1.json", "/api/v2/search.json?query=status:open"):
            refused = client.get(path)
            assert (refused.status_code, refused.json()) == (403, FORBIDDEN)
        put = client.put("/api/v2/tickets/1/tags.json", json={"tags": ["x"]})
        assert (put.status_code, put.json()) == (403, FORBIDDEN)


def test_a_suspended_agent_cannot_be_assigned(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id = next(
        i for i in range(1, sandbox.sb.ticket_count + 1) if sandbox.sb.ticket(i)["status"] == "open"
    )
    agent_id = sandbox.suspended_agent["id"]
    response = client.put(
        f"/api/v2/tickets/{ticket_id}.json", json={"ticket": {"assignee_id": agent_id}}
    )
    assert response.status_code == 422
    assert response.json()["details"]["assignee"] == [
        {
            "description": f"Assignee: {agent_id} is not an agent of this account",
            "error": "InvalidValue",
        }
    ]


def test_seeding_the_suspended_agent_moved_no_other_user(sandbox: ServedSandbox) -> None:
    users = sandbox.sb.users
    assert users[-1]["email"] == "suspended@example.com"
    assert [u["id"] for u in users] == sorted(u["id"] for u in users)
    assert not any(u["suspended"] for u in users[:-1])


def test_tokens_verify_reports_the_suspended_agent_as_inactive(
    sandbox: ServedSandbox, make_config: MakeConfig
) -> None:
    suspended, bot = sandbox.suspended_agent, sandbox.bot
    config = make_config(
        [
            {
                "name": "bot",
                "email": bot["email"],
                "kind": "oauth",
                "key": sandbox.credentials(bot["email"], "oauth"),
                "primary": True,
            },
            {
                "name": "sid",
                "email": suspended["email"],
                "kind": "api_token",
                "key": sandbox.credentials(suspended["email"], "api_token"),
            },
        ],
        zendesk=f"url: {sandbox.url}",
    )
    result = CliRunner().invoke(
        main, ["tokens", "verify", "--format", "json", str(config.path)]
    )
    assert result.exit_code == 1
    by_name = {t["name"]: t for t in json.loads(result.stdout)["tokens"]}
    assert by_name["bot"]["ok"] is True
    assert by_name["sid"]["ok"] is False
    assert by_name["sid"]["problems"] == ["the user is inactive or suspended"]
