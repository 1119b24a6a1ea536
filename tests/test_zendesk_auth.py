"""Auth headers per token kind, and the key never going anywhere else."""

from __future__ import annotations

import base64

import httpx
import pytest
from test_zendesk_fakes import BASE, EMAIL, KEY, Scripted, make_client, ok

from runner.errors import TrustError, ZendeskAuthError
from runner.secrets import Secret
from runner.zendesk import Credentials


def test_oauth_sends_bearer() -> None:
    script = Scripted().add("GET", "/api/v2/users/me.json", ok({"user": {"id": 5}}))
    with make_client(script, kind="oauth") as client:
        assert client.me()["id"] == 5
    request = script.requests[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("zdops/")


def test_api_token_sends_basic_email_slash_token() -> None:
    script = Scripted().add("GET", "/api/v2/users/me.json", ok({"user": {"id": 5}}))
    with make_client(script, kind="api_token") as client:
        client.me()
    scheme, encoded = script.requests[0].headers["authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{EMAIL}/token:{KEY}"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown token kind"):
        Credentials("password", EMAIL, Secret(KEY))  # type: ignore[arg-type]


def test_key_not_in_reprs() -> None:
    credentials = Credentials("oauth", EMAIL, Secret(KEY))
    script = Scripted()
    client = make_client(script)
    for text in (repr(credentials), str(credentials), repr(client), repr(client._http.auth)):
        assert KEY not in text
    client.close()


def test_foreign_origin_gets_no_token() -> None:
    script = Scripted()
    with make_client(script) as client, pytest.raises(TrustError, match=r"evil\.example"):
        client.request("GET", httpx.URL("https://evil.example/api/v2/users/me.json"))
    assert script.requests == []


def test_other_port_is_another_origin() -> None:
    script = Scripted()
    with make_client(script) as client, pytest.raises(TrustError):
        client.request("GET", httpx.URL("https://acme.zendesk.com:8443/api/v2/tickets"))
    assert script.requests == []


def test_401_names_the_fix_without_the_key() -> None:
    script = Scripted().add("GET", "/api/v2/tickets/1.json",
                            ok({"error": "Couldn't authenticate you"}, 401))
    with make_client(script) as client, pytest.raises(ZendeskAuthError) as caught:
        client.get_ticket(1)
    message = str(caught.value)
    assert "Couldn't authenticate you" in message
    assert "zdops tokens verify" in message
    assert KEY not in message and KEY not in repr(caught.value.args)
    assert caught.value.status == 401 and caught.value.ticket_id == 1


def test_base_url_with_path_prefix_keeps_origin() -> None:
    script = Scripted().add("GET", "/api/v2/users/me.json", ok({"user": {"id": 1}}))
    with make_client(script) as client:
        client.me()
    assert str(script.requests[0].url).startswith(BASE + "/api/v2/")
