"""Tampering with an encrypted config, as a pull request or a careless edit could, through
`zdops tokens verify`: the real sops, age keys made per test, and the sandbox on 127.0.0.1.

Each case must end in exit 1 with a message that says what happened and what to do (a
SecretsError, TrustError or IdentityError), never a traceback, and never the key itself in
any output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fixtures_sops import BOT_KEY, JANE_KEY, EncryptedConfig, MakeConfig

from runner.cli import main
from runner.errors import SecretsError
from runner.sandbox.emulator import Sandbox
from runner.sandbox.server import serve
from runner.secrets import decrypt_keys

ENC_RE = re.compile(r"ENC\[AES256_GCM,[^\]]*\]")


def zdops(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def key_values(text: str) -> list[str]:
    """The ENC[...] values of the tokens' keys, in file order (not the MAC)."""
    return [m.group(0) for m in ENC_RE.finditer(text.split("\nsops:")[0])]


def swap(text: str, first: str, second: str) -> str:
    return text.replace(first, "\0").replace(second, first).replace("\0", second)


def swap_ciphertexts(text: str) -> str:
    return swap(text, *key_values(text))


def swap_token_items(text: str) -> str:
    """Move the second token item above the first, keys and all."""
    head, rest = text.split("tokens:\n", 1)
    items, tail = rest.split("rules:", 1)
    first, second = re.split(r"\n(?=  - )", items.rstrip("\n"))
    return f"{head}tokens:\n{second}\n{first}\nrules:{tail}"


TAMPERING: dict[str, tuple[Callable[[str], str], str]] = {
    "swapped ciphertexts": (swap_ciphertexts, "MAC no longer matches"),
    "token items reordered": (swap_token_items, "MAC no longer matches"),
    "MAC removed": (lambda t: re.sub(r"\n  mac: [^\n]*", "", t), "MAC no longer matches"),
    "MAC from another key": (
        lambda t: re.sub(r"(\n  mac: ENC\[AES256_GCM,data:)(.)", r"\1A\2", t),
        "MAC",
    ),
    "lastmodified edited": (
        lambda t: re.sub(r'lastmodified: "[^"]*"', 'lastmodified: "2001-01-01T00:00:00Z"', t),
        "MAC no longer matches",
    ),
    "mac_only_encrypted switched off": (
        lambda t: t.replace("mac_only_encrypted: true", "mac_only_encrypted: false"),
        "MAC no longer matches",
    ),
    "encrypted_regex widened": (
        # sops now wants the emails encrypted too, finds them in plain text, and stops.
        lambda t: t.replace("encrypted_regex: ^key$", "encrypted_regex: ^(key|email)$"),
        "corrupted or not encrypted",
    ),
    "ciphertext bit flipped": (
        lambda t: t.replace(key_values(t)[0], key_values(t)[0].replace("data:", "data:AB", 1)),
        "corrupted or not encrypted",
    ),
    "data key of the recipient corrupted": (
        lambda t: re.sub(r"(-----BEGIN AGE ENCRYPTED FILE-----\n\s+)(\S)", r"\1A\2", t),
        "is damaged (it is encrypted for age1",  # and so no age key can open it
    ),
    "recipient list removed": (
        lambda t: re.sub(r"  age:\n(?:    [^\n]*\n)+", "", t),
        "lists no recipients (its `age:` entries were removed), so no keys",
    ),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampered_file_gives_a_clear_error_from_tokens_verify(
    case: str, encrypted_config: EncryptedConfig
) -> None:
    edit, expected = TAMPERING[case]
    path = encrypted_config.path
    original = path.read_text()
    tampered = edit(original)
    assert tampered != original, "the edit must change the file"
    path.write_text(tampered)
    result = zdops("tokens", "verify", str(path))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert expected in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.stderr
    for secret in (BOT_KEY, JANE_KEY):
        assert secret not in result.output
    # The same through the library: the CLI's message is the SecretsError's.
    with pytest.raises(SecretsError) as caught:
        decrypt_keys(path, ["bot", "jane"])
    assert expected in str(caught.value)


def test_plaintext_key_is_a_located_config_error_that_does_not_echo_it(
    encrypted_config: EncryptedConfig,
) -> None:
    path = encrypted_config.path
    path.write_text(path.read_text().replace(key_values(path.read_text())[1], "plain-PR-key"))
    result = zdops("tokens", "verify", str(path))
    assert result.exit_code == 1
    assert f"{path}:13:10: tokens[jane].key: the key is not a sops-encrypted value" in (
        result.stderr
    )
    assert "plain-PR-key" not in result.output
    # Were validate bypassed, sops itself refuses it, again without echoing the value.
    with pytest.raises(SecretsError, match="corrupted or not encrypted") as caught:
        decrypt_keys(path, ["jane"])
    assert "plain-PR-key" not in str(caught.value)


def test_sops_block_deleted_is_a_located_config_error(encrypted_config: EncryptedConfig) -> None:
    path = encrypted_config.path
    path.write_text(path.read_text().split("\nsops:")[0] + "\n")
    result = zdops("tokens", "verify", str(path))
    assert result.exit_code == 1
    assert re.search(
        rf"{re.escape(str(path))}:\d+:\d+: tokens: the file has no `sops:`", result.stderr
    )
    assert "Traceback" not in result.output


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(tickets=0, seed=11)
    with serve(sandbox) as server:
        yield sandbox, server.url


def test_swapped_emails_under_mac_only_are_caught_by_the_identity_check(
    served: tuple[Sandbox, str], make_config: MakeConfig
) -> None:
    # mac_only_encrypted lets a PR edit every plain field, and sops binds a key to its place
    # in the file, not to its token's email: swapping emails decrypts fine. What stops the
    # bot's key acting as someone else is the check with /users/me.
    sandbox, url = served
    bot, agent = sandbox.bot, sandbox.agent
    bot_key = sandbox.credentials(bot["email"], "oauth")
    agent_key = sandbox.credentials(agent["email"], "oauth")
    config = make_config(
        [
            {
                "name": "bot",
                "email": bot["email"],
                "kind": "oauth",
                "key": bot_key,
                "primary": True,
            },
            {"name": "jane", "email": agent["email"], "kind": "oauth", "key": agent_key},
        ],
        zendesk=f"url: {url}",
    )
    assert zdops("tokens", "verify", str(config.path)).exit_code == 0
    config.path.write_text(swap(config.path.read_text(), bot["email"], agent["email"]))
    result = zdops("tokens", "verify", str(config.path))
    assert result.exit_code == 1
    assert "2 of 2 token(s) failed verification: bot, jane" in result.stderr
    assert "Traceback" not in result.output
    for secret in (bot_key, agent_key):
        assert secret not in result.output


def sops_recorder(tmp_path: Path, sops_bin: str) -> tuple[Path, Path]:
    log = tmp_path / "sops-argv.log"
    wrapper = tmp_path / "sops-wrapper"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{sops_bin}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


@pytest.mark.parametrize(
    "edit",
    [
        ("subdomain: acme", "subdomain: acme-evil"),
        ("subdomain: acme", "url: https://acme.zendesk.com.evil.example"),
        ("subdomain: acme", "url: http://127.0.0.1:9"),
        ("subdomain: acme", "url: https://evil.zendesk.com"),
    ],
    ids=["other subdomain", "lookalike host", "loopback", "other zendesk account"],
)
def test_pr_changing_the_account_under_a_pin_is_refused_before_decrypting(
    edit: tuple[str, str],
    encrypted_config: EncryptedConfig,
    tmp_path: Path,
    sops_bin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrapper, log = sops_recorder(tmp_path, sops_bin)
    monkeypatch.setenv("ZDOPS_SOPS", str(wrapper))
    monkeypatch.setenv("ZDOPS_SUBDOMAIN", "acme")
    path = encrypted_config.path
    path.write_text(path.read_text().replace(*edit))
    # mac_only_encrypted: the edit alone still decrypts, so only the pin can stop it.
    assert decrypt_keys(path, ["bot"])["bot"].reveal() == BOT_KEY
    log.unlink()
    result = zdops("tokens", "verify", str(path))
    assert result.exit_code == 1
    assert "pins this run to acme.zendesk.com" in result.stderr
    assert "Traceback" not in result.output
    decrypts = [line for line in log.read_text().splitlines()] if log.exists() else []
    assert not [line for line in decrypts if "decrypt" in line], decrypts
