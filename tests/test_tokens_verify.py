"""`zdops tokens verify` against the sandbox on 127.0.0.1, with keys encrypted by real sops."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner, Result
from fixtures_sops import EncryptedConfig, MakeConfig

from runner.cli import main
from runner.config.models import Token
from runner.sandbox.emulator import Sandbox
from runner.sandbox.server import serve
from runner.tokens import identity_problems, verify_tokens

ENC = "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(tickets=0, seed=3)
    with serve(sandbox) as server:
        yield sandbox, server.url


def zdops(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def config_for(
    make_config: MakeConfig, url: str, tokens: list[dict[str, object]]
) -> EncryptedConfig:
    return make_config(tokens, zendesk=f"url: {url}")


def test_verify_reports_who_each_token_acts_as(
    served: tuple[Sandbox, str], make_config: MakeConfig
) -> None:
    sandbox, url = served
    bot, jane = sandbox.bot, sandbox.agent
    config = config_for(make_config, url, [
        {"name": "bot", "email": bot["email"], "kind": "oauth",
         "key": sandbox.credentials(bot["email"], "oauth"), "primary": True},
        {"name": "jane", "email": jane["email"], "kind": "api_token",
         "key": sandbox.credentials(jane["email"], "api_token")},
    ])
    result = zdops("tokens", "verify", str(config.path))
    assert result.exit_code == 0, result.output
    assert f"Zendesk  {url}" in result.output
    assert f"acts as   {bot['name']} <{bot['email']}>" in result.output
    assert (
        "automated actions will appear in Zendesk as performed by "
        f"{bot['name']} <{bot['email']}>" in result.output
    )
    assert f"acts as   {jane['name']} <{jane['email']}>" in result.output
    assert "matches" in result.output and "FAILED" not in result.output


def test_verify_failures_are_all_reported_then_exit_1(
    served: tuple[Sandbox, str], make_config: MakeConfig
) -> None:
    sandbox, url = served
    bot, jane, light, end_user = (
        sandbox.bot, sandbox.agent, sandbox.light_agent, sandbox.end_user
    )
    config = config_for(make_config, url, [
        {"name": "bot", "email": bot["email"], "kind": "oauth",
         "key": sandbox.credentials(bot["email"], "oauth"), "primary": True},
        # jane's entry carries the bot's OAuth token: it acts as the bot, not as jane
        {"name": "jane", "email": jane["email"], "kind": "oauth",
         "key": sandbox.credentials(bot["email"], "oauth")},
        {"name": "light", "email": light["email"], "kind": "oauth",
         "key": sandbox.credentials(light["email"], "oauth")},
        {"name": "customer", "email": end_user["email"], "kind": "oauth",
         "key": sandbox.credentials(end_user["email"], "oauth")},
        {"name": "revoked", "email": jane["email"], "kind": "oauth", "key": "not-a-real-key"},
        {"name": "stranger", "email": "nobody@example.com", "kind": "api_token",
         "key": sandbox.credentials(jane["email"], "api_token")},
    ])
    result = zdops("tokens", "verify", "--format", "json", str(config.path))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    by_name = {t["name"]: t for t in report["tokens"]}
    assert by_name["bot"]["ok"] is True
    assert by_name["jane"]["email_matches"] is False
    assert f"acts as {bot['email']}, but the file declares {jane['email']}" in (
        by_name["jane"]["problems"][0]
    )
    assert by_name["light"]["problems"] == ["the user is a light agent, who cannot change tickets"]
    assert "end-user" in by_name["customer"]["problems"][0]
    assert by_name["revoked"]["problems"] == [
        "Zendesk rejected the key (401): it is wrong, revoked or expired"
    ]
    assert by_name["stranger"]["problems"] == [
        "Zendesk rejected the key (401): it is wrong, revoked or expired, or "
        "nobody@example.com is not a user of this account"
    ]
    assert (
        "5 of 6 token(s) failed verification: jane, light, customer, revoked, stranger"
        in result.stderr
    )


def test_verify_only_the_named_tokens(
    served: tuple[Sandbox, str], make_config: MakeConfig
) -> None:
    sandbox, url = served
    bot = sandbox.bot
    config = config_for(make_config, url, [
        {"name": "bot", "email": bot["email"], "kind": "oauth",
         "key": sandbox.credentials(bot["email"], "oauth"), "primary": True},
        {"name": "broken", "email": bot["email"], "kind": "oauth", "key": "wrong"},
    ])
    result = zdops("tokens", "verify", "bot", str(config.path))
    assert result.exit_code == 0, result.output
    assert "token broken" not in result.output


def test_verify_checks_trust_before_decrypting(
    make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(zendesk="subdomain: attacker")
    monkeypatch.setenv("ZDOPS_SUBDOMAIN", "acme")
    monkeypatch.setenv("ZDOPS_SOPS", "/nonexistent/sops")  # any decryption attempt would fail
    result = zdops("tokens", "verify", str(config.path))
    assert result.exit_code == 1
    assert "pins this run to acme.zendesk.com" in result.stderr
    assert "no key was decrypted" in result.stderr


def test_verify_refuses_an_untrusted_url(make_config: MakeConfig) -> None:
    config = make_config(zendesk="url: https://zendesk.evil.example")
    result = zdops("tokens", "verify", str(config.path))
    assert result.exit_code == 1
    assert "--allow-host zendesk.evil.example" in result.stderr


def anonymous_transport(request: httpx.Request) -> httpx.Response:
    # Zendesk's answer to credentials it did not accept on users/me: 200, anonymous user.
    return httpx.Response(
        200, json={"user": {"id": None, "name": "Anonymous user", "email": None}}
    )


def test_anonymous_answer_is_a_failure(make_config: MakeConfig) -> None:
    config = make_config(zendesk="url: http://127.0.0.1:9")
    _, results = verify_tokens(
        config.path, ["jane"], env={}, transport=httpx.MockTransport(anonymous_transport)
    )
    assert results[0].problems == (
        "Zendesk answered as an anonymous user: the email and key were not accepted",
    )


def test_identity_problems_inactive_and_suspended() -> None:
    token = Token(name="bot", email="bot@acme.test", kind="oauth", key=ENC, primary=True)
    user = {"id": 1, "email": "BOT@acme.test", "role": "agent", "active": False}
    assert identity_problems(token, user) == ("the user is inactive or suspended",)
    assert identity_problems(token, {**user, "active": True, "suspended": True}) == (
        "the user is inactive or suspended",
    )
    assert identity_problems(token, {**user, "active": True}) == ()


def test_unreachable_zendesk_says_to_check_the_network(make_config: MakeConfig) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on once this socket is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = make_config(zendesk=f"url: http://127.0.0.1:{port}")
    result = zdops("tokens", "verify", "bot", str(config.path))
    assert result.exit_code == 1
    assert f"could not ask Zendesk: GET /api/v2/users/me to http://127.0.0.1:{port} failed" in (
        result.stdout
    )
    assert "check the network and zendesk.url" in result.stderr
    assert "Fix the token's email or key" not in result.stderr


def test_a_refusal_is_an_answer_not_an_unreachable_zendesk(make_config: MakeConfig) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Forbidden(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"error":"Forbidden","description":"You do not have access"}'
            self.send_response(403)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Forbidden) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            config = make_config(zendesk=f"url: http://127.0.0.1:{server.server_address[1]}")
            result = zdops("tokens", "verify", "bot", str(config.path))
        finally:
            server.shutdown()
    assert result.exit_code == 1
    assert "Zendesk answered 403 to GET /api/v2/users/me" in result.stdout
    assert "check the network" not in result.stderr
    assert "Fix the token's email or key" in result.stderr
