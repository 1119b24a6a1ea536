"""`zdops tokens list|add|set-primary|remove` through the CLI, with the real sops binary."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fixtures_sops import BOT_KEY, JANE_KEY, EncryptedConfig, MakeConfig

from runner.cli import main
from runner.secrets import decrypt_keys

NEW_KEY = "ops-oauth-Pq93ZzX7s3cr3t"

RULE_AS_JANE = """\
rules:
  - name: tag-vip
    run_as: jane
    when:
      query: 'status<solved tags:vip'
    actions:
      tags:
        add: [seen]
"""

COMMENTED = f"""\
version: 1
zendesk:
  subdomain: acme
tokens:
  # who acts for the rules
  - name: bot  # the automation user
    email: bot@acme.test
    key: {BOT_KEY}
    primary: true
  # a person, for run_as
  - name: jane
    email: jane@acme.test
    kind: api_token
    key: {JANE_KEY}
  - name: ops
    email: ops@acme.test
    key: {NEW_KEY}
rules: []
"""


def zdops(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def enc_of(path: Path) -> dict[str, str]:
    """token name -> its ENC[...] string, read from the file as text."""
    found = re.findall(r"- name: (\S+)(?:.|\n)*?key: (ENC\[[^\]]+\])", path.read_text())
    return dict(found)


def comments(path: Path) -> list[str]:
    """The file's comment lines (sops itself drops some on encrypt: compare before/after)."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip()[:1] == "#"]


def no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if "zdops-tmp" in p.name]


# --- list ---------------------------------------------------------------------------------


def test_list_needs_no_key(
    encrypted_config: EncryptedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    monkeypatch.setenv("ZDOPS_SOPS", "/nonexistent/sops")  # proves sops is not run
    result = zdops("tokens", "list", str(encrypted_config.path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"bot\s+bot@acme.test\s+oauth\s+primary", lines[0])
    assert re.fullmatch(r"jane\s+jane@acme.test\s+api_token", lines[1])


def test_list_json(encrypted_config: EncryptedConfig) -> None:
    import json

    result = zdops("tokens", "list", "--format", "json", str(encrypted_config.path))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"name": "bot", "email": "bot@acme.test", "kind": "oauth", "primary": True},
        {"name": "jane", "email": "jane@acme.test", "kind": "api_token", "primary": False},
    ]


def test_list_uses_zdops_config(
    encrypted_config: EncryptedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZDOPS_CONFIG", str(encrypted_config.path))
    assert "jane@acme.test" in zdops("tokens", "list").output


def test_list_of_an_invalid_file_reports_where(tmp_path: Path, sops_env: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("version: 1\nzendesk:\n  subdomain: acme\ntokens: [oops\n")
    result = zdops("tokens", "list", str(bad))
    assert result.exit_code == 1
    assert "config.yaml:" in result.stderr
    assert "Traceback" not in result.output


# --- add ----------------------------------------------------------------------------------


def test_add_encrypts_the_key_and_keeps_the_rest(encrypted_config: EncryptedConfig) -> None:
    path = encrypted_config.path
    before = path.read_text()
    old_enc = enc_of(path)
    result = zdops(
        "tokens", "add", "ops", "--email", "ops@acme.test", str(path), input=NEW_KEY + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "added token 'ops'" in result.output
    after = path.read_text()
    assert NEW_KEY not in after
    assert {k: v for k, v in enc_of(path).items() if k != "ops"} == old_enc
    assert "\n  - name: ops\n    email: ops@acme.test\n    kind: oauth\n" in after  # 2-space
    assert "mac_only_encrypted: true" in after
    assert before.split("tokens:")[0] == after.split("tokens:")[0]
    keys = decrypt_keys(path, ["ops", "bot", "jane"])
    assert [keys[n].reveal() for n in ("ops", "bot", "jane")] == [NEW_KEY, BOT_KEY, JANE_KEY]
    assert no_temp_files(path.parent)


def test_add_primary_unmarks_the_old_primary(encrypted_config: EncryptedConfig) -> None:
    path = encrypted_config.path
    result = zdops(
        "tokens", "add", "ops", "--email", "ops@acme.test", "--primary", str(path),
        input=NEW_KEY,
    )
    assert result.exit_code == 0, result.output
    assert "now the primary" in result.output and "(was 'bot')" in result.output
    listed = zdops("tokens", "list", "--format", "json", str(path)).output
    import json

    primaries = [t["name"] for t in json.loads(listed) if t["primary"]]
    assert primaries == ["ops"]


def test_add_with_comments_inside_the_tokens_list(make_config: MakeConfig) -> None:
    config = make_config(text=COMMENTED.replace(f"  - name: ops\n    email: ops@acme.test\n"
                                                f"    key: {NEW_KEY}\n", ""))
    kept = comments(config.path)
    assert len(kept) >= 2
    result = zdops(
        "tokens", "add", "ops", "--email", "ops@acme.test", "--primary",
        str(config.path), input=NEW_KEY,
    )
    assert result.exit_code == 0, result.output
    assert comments(config.path) == kept
    keys = decrypt_keys(config.path, ["bot", "jane", "ops"])
    assert keys["ops"].reveal() == NEW_KEY and keys["jane"].reveal() == JANE_KEY


def test_add_in_full_mac_mode_goes_through_sops(make_config: MakeConfig) -> None:
    config = make_config(mac_only=False, indent=4)
    result = zdops(
        "tokens", "add", "ops", "--email", "ops@acme.test", "--primary",
        str(config.path), input=NEW_KEY,
    )
    assert result.exit_code == 0, result.output
    text = config.path.read_text()
    assert "mac_only_encrypted" not in text
    assert "\n    - name: ops\n" in text  # the file's 4-space indentation is kept
    # The MAC covers the flags here: decrypting proves sops re-computed it.
    assert decrypt_keys(config.path, ["ops"])["ops"].reveal() == NEW_KEY
    assert re.search(r"name: bot\n(?:.*\n)*?\s+primary: false", text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["jane", "--email", "j2@acme.test"], "a token named 'jane' already exists"),
        (["ops", "--email", "not-an-email"], "'not-an-email' is not an email address"),
        (["bad name", "--email", "o@acme.test"], "is not a valid token name"),
    ],
)
def test_add_refuses_bad_input_and_leaves_the_file(
    encrypted_config: EncryptedConfig, args: list[str], message: str
) -> None:
    before = encrypted_config.path.read_bytes()
    result = zdops("tokens", "add", *args, str(encrypted_config.path), input=NEW_KEY)
    assert result.exit_code == 1
    assert message in result.stderr
    assert encrypted_config.path.read_bytes() == before


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "the key is empty"), ("two words", "contains spaces")],
)
def test_add_refuses_bad_keys_without_echoing_them(
    encrypted_config: EncryptedConfig, key: str, message: str
) -> None:
    before = encrypted_config.path.read_bytes()
    result = zdops(
        "tokens", "add", "ops", "--email", "o@acme.test", str(encrypted_config.path), input=key
    )
    assert result.exit_code == 1
    assert message in result.stderr
    assert not key or key not in result.output
    assert encrypted_config.path.read_bytes() == before


def test_add_without_a_key_leaves_the_file(
    encrypted_config: EncryptedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    before = encrypted_config.path.read_bytes()
    result = zdops(
        "tokens", "add", "ops", "--email", "o@acme.test", str(encrypted_config.path),
        input=NEW_KEY,
    )
    assert result.exit_code == 1
    assert "no age key is available" in result.stderr
    assert NEW_KEY not in result.output
    assert encrypted_config.path.read_bytes() == before
    assert no_temp_files(encrypted_config.directory)


EMPTY = "version: 1\nzendesk:\n  subdomain: acme\ntokens: []\nrules: []\n"


def test_add_to_an_unencrypted_file_is_refused(tmp_path: Path, sops_env: Path) -> None:
    plain = tmp_path / "config.yaml"
    plain.write_text(EMPTY)
    result = zdops("tokens", "add", "ops", "--email", "o@acme.test", str(plain), input=NEW_KEY)
    assert result.exit_code == 1
    assert "not encrypted with sops" in result.stderr
    assert "sops encrypt -i" in result.stderr
    assert plain.read_text() == EMPTY


def test_first_two_tokens_from_an_encrypted_empty_file(make_config: MakeConfig) -> None:
    config = make_config(text=EMPTY)
    path = str(config.path)
    first = zdops("tokens", "add", "bot", "--email", "bot@acme.test", path, input=BOT_KEY)
    assert first.exit_code == 0, first.output
    assert "now the primary" in first.output  # the first token has to be
    second = zdops(
        "tokens", "add", "jane", "--email", "jane@acme.test", "--kind", "api_token", path,
        input=JANE_KEY,
    )
    assert second.exit_code == 0, second.output
    assert zdops("tokens", "set-primary", "jane", path).exit_code == 0
    keys = decrypt_keys(config.path, ["bot", "jane"])
    assert [keys["bot"].reveal(), keys["jane"].reveal()] == [BOT_KEY, JANE_KEY]
    assert re.search(r"jane\s+jane@acme.test\s+api_token\s+primary", zdops(
        "tokens", "list", path).output)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", NEW_KEY], "takes no key on the command line"),
        ([f"--key={NEW_KEY}"], "takes no key on the command line"),
        ([NEW_KEY], "the argument after NAME is not an existing file"),
        (["{config}", NEW_KEY], "more than one argument follows NAME"),
    ],
    ids=["option", "option=", "as-config", "extra-argument"],
)
def test_add_takes_no_key_argument_and_never_echoes_one(
    encrypted_config: EncryptedConfig, args: list[str], message: str
) -> None:
    path = encrypted_config.path
    before = path.read_bytes()
    args = [a.format(config=path) for a in args]
    result = zdops("tokens", "add", "ops", "--email", "o@acme.test", *args, input=NEW_KEY)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Pipe the key on stdin" in result.stderr
    assert NEW_KEY not in result.output
    assert path.read_bytes() == before


# --- set-primary --------------------------------------------------------------------------


def test_set_primary_with_mac_only_needs_no_key_and_touches_two_lines(
    encrypted_config: EncryptedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = encrypted_config.path
    before = path.read_text()
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    monkeypatch.setenv("ZDOPS_SOPS", "/nonexistent/sops")
    result = zdops("tokens", "set-primary", "jane", str(path))
    assert result.exit_code == 0, result.output
    assert "'jane' is now the primary (was 'bot')" in result.output
    diff = [
        line
        for line in difflib.unified_diff(before.splitlines(), path.read_text().splitlines(), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert sorted(diff) == sorted(
        ["-    primary: true", "+    primary: false", "+    primary: true"]
    )
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(encrypted_config.key.path))
    monkeypatch.delenv("ZDOPS_SOPS")
    assert decrypt_keys(path, ["jane"])["jane"].reveal() == JANE_KEY


def test_set_primary_in_full_mac_mode(make_config: MakeConfig) -> None:
    config = make_config(text=COMMENTED, mac_only=False)
    kept = comments(config.path)
    result = zdops("tokens", "set-primary", "ops", str(config.path))
    assert result.exit_code == 0, result.output
    listed = zdops("tokens", "list", str(config.path)).output
    assert re.search(r"ops\s+ops@acme.test\s+oauth\s+primary", listed)
    assert "primary" not in listed.splitlines()[0]
    assert decrypt_keys(config.path, ["ops"])["ops"].reveal() == NEW_KEY
    assert comments(config.path) == kept


def test_set_primary_in_full_mac_mode_without_key_leaves_the_file(
    make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(mac_only=False)
    before = config.path.read_bytes()
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    result = zdops("tokens", "set-primary", "jane", str(config.path))
    assert result.exit_code == 1
    assert "no age key is available" in result.stderr
    assert config.path.read_bytes() == before
    assert no_temp_files(config.directory)


def test_edit_errors_name_the_config_not_its_working_copy(make_config: MakeConfig) -> None:
    # A hand edit in full-MAC mode: sops refuses the edit, and the advice it gets must point
    # at the user's file, not at the temporary copy that is deleted by then.
    config = make_config(mac_only=False)
    config.path.write_text(config.path.read_text().replace("subdomain: acme", "subdomain: acm"))
    before = config.path.read_bytes()
    for args, stdin in (
        (["tokens", "set-primary", "jane"], None),
        (["tokens", "add", "ops", "--email", "ops@acme.test"], NEW_KEY),
        (["tokens", "remove", "jane"], None),
    ):
        result = zdops(*args, str(config.path), input=stdin)
        assert result.exit_code == 1, (args, result.output)
        assert f"{config.path} was changed after sops last wrote it" in result.stderr
        assert f"sops set --ignore-mac {config.path} " in result.stderr
        assert "zdops-tmp" not in result.stderr
        assert config.path.read_bytes() == before
        assert no_temp_files(config.directory)


def test_set_primary_already(encrypted_config: EncryptedConfig) -> None:
    before = encrypted_config.path.read_bytes()
    result = zdops("tokens", "set-primary", "bot", str(encrypted_config.path))
    assert result.exit_code == 0
    assert "already the primary" in result.output
    assert encrypted_config.path.read_bytes() == before


def test_set_primary_unknown(encrypted_config: EncryptedConfig) -> None:
    result = zdops("tokens", "set-primary", "nobody", str(encrypted_config.path))
    assert result.exit_code == 1
    assert "no token named 'nobody' (tokens: bot, jane)" in result.stderr


# --- remove -------------------------------------------------------------------------------


def test_remove(encrypted_config: EncryptedConfig) -> None:
    path = encrypted_config.path
    result = zdops("tokens", "remove", "jane", str(path))
    assert result.exit_code == 0, result.output
    assert "removed token 'jane'" in result.output
    assert "jane" not in path.read_text()
    assert decrypt_keys(path, ["bot"])["bot"].reveal() == BOT_KEY


@pytest.mark.parametrize("mac_only", [True, False])
def test_remove_with_comments_inside_the_list(make_config: MakeConfig, mac_only: bool) -> None:
    config = make_config(text=COMMENTED, mac_only=mac_only)
    kept = comments(config.path)
    result = zdops("tokens", "remove", "ops", str(config.path))
    assert result.exit_code == 0, result.output
    assert "ops@acme.test" not in config.path.read_text()
    assert comments(config.path) == kept
    keys = decrypt_keys(config.path, ["bot", "jane"])
    assert keys["bot"].reveal() == BOT_KEY and keys["jane"].reveal() == JANE_KEY


def test_remove_the_primary_is_refused(encrypted_config: EncryptedConfig) -> None:
    before = encrypted_config.path.read_bytes()
    result = zdops("tokens", "remove", "bot", str(encrypted_config.path))
    assert result.exit_code == 1
    assert "'bot' is the primary token" in result.stderr
    assert "zdops tokens set-primary jane" in result.stderr
    assert encrypted_config.path.read_bytes() == before


def test_remove_a_token_a_rule_runs_as_is_refused(make_config: MakeConfig) -> None:
    config = make_config(rules=RULE_AS_JANE)
    before = config.path.read_bytes()
    result = zdops("tokens", "remove", "jane", str(config.path))
    assert result.exit_code == 1
    assert "used by rule(s) tag-vip" in result.stderr
    assert config.path.read_bytes() == before


def test_remove_after_a_tampered_file_leaves_it(encrypted_config: EncryptedConfig) -> None:
    path = encrypted_config.path
    first, second = enc_of(path).values()
    swapped = path.read_text().replace(first, "\0").replace(second, first).replace("\0", second)
    path.write_text(swapped)
    before = path.read_bytes()
    result = zdops("tokens", "remove", "jane", str(path))
    assert result.exit_code == 1
    assert "MAC no longer matches" in result.stderr
    assert path.read_bytes() == before
    assert no_temp_files(path.parent)
