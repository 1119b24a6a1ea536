"""users/search with role: filters, as Zendesk's user search takes them."""

from __future__ import annotations

from fixtures_sandbox import ServedSandbox

SEARCH = "/api/v2/users/search.json"


def test_role_filters_users_and_repeats_or(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    users = sandbox.sb.users
    end_users = client.get(SEARCH, params={"query": "role:end-user"})
    assert end_users.status_code == 200
    body = end_users.json()
    expected = [u["id"] for u in users if u["role"] == "end-user"]
    assert body["count"] == len(expected) > 0
    assert [u["id"] for u in body["users"]] == expected[:100]
    assert (body["previous_page"], body["next_page"] is None) == (None, len(expected) <= 100)
    staff = client.get(SEARCH, params={"query": "role:agent role:admin"}).json()
    assert [u["id"] for u in staff["users"]] == [
        u["id"] for u in users if u["role"] in ("agent", "admin")
    ]
    jane = client.get(SEARCH, params={"query": "role:agent jane"}).json()
    assert [u["email"] for u in jane["users"]] == [sandbox.agent["email"]]
    assert client.get(SEARCH, params={"query": "role:end-user jane"}).json()["count"] == 0
    admins = client.get(SEARCH, params={"query": f"ROLE:admin email:{sandbox.admin['email']}"})
    assert [u["id"] for u in admins.json()["users"]] == [sandbox.admin["id"]]
