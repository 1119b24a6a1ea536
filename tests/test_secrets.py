"""runner.secrets against the real sops binary and age keys made per test."""

from __future__ import annotations

import copy
import json
import pickle
import re
from pathlib import Path

import pytest
from fixtures_sops import BOT_KEY, JANE_KEY, EncryptedConfig, MakeConfig, new_age_key

from runner.errors import SecretsError
from runner.secrets import MASK, Secret, decrypt_keys, json_default, locate


def replace_in_file(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def enc_values(path: Path) -> list[str]:
    return re.findall(r"key: (ENC\[[^\]]+\])", path.read_text())


# --- Secret -------------------------------------------------------------------------------


def test_secret_never_shows_its_value() -> None:
    secret = Secret("hunter2-value")
    shown = [
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>30}",
        "%s %r" % (secret, secret),  # noqa: UP031 - the old formatting path too
        json.dumps({"k": secret}, default=json_default),
        repr([secret]),
        repr({"key": secret}),
    ]
    for text in shown:
        assert "hunter2" not in text
        assert "****" in text
    assert secret.reveal() == "hunter2-value"


def test_secret_pickles_as_the_mask_and_copies_as_itself() -> None:
    secret = Secret("hunter2-value")
    data = pickle.dumps(secret)
    assert b"hunter2" not in data
    assert pickle.loads(data) == MASK
    assert copy.deepcopy(secret) is secret
    assert copy.copy(secret) is secret


def test_secret_json_without_hook_refuses() -> None:
    with pytest.raises(TypeError):
        json.dumps(Secret("hunter2-value"))


def test_secret_compares_by_value_and_is_unhashable() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    with pytest.raises(TypeError):
        hash(Secret("a"))


# --- decrypting ---------------------------------------------------------------------------


def test_decrypt_keys_by_name(encrypted_config: EncryptedConfig) -> None:
    keys = decrypt_keys(encrypted_config.path, ["jane", "bot"])
    assert set(keys) == {"jane", "bot"}
    assert keys["bot"].reveal() == BOT_KEY
    assert keys["jane"].reveal() == JANE_KEY


def test_decrypt_keeps_only_the_named_tokens(encrypted_config: EncryptedConfig) -> None:
    keys = decrypt_keys(encrypted_config.path, ["jane"])
    assert list(keys) == ["jane"]


def test_comment_inside_the_tokens_list_does_not_shift_selection(
    make_config: MakeConfig,
) -> None:
    text = f"""\
version: 1
zendesk:
  subdomain: acme
tokens:
  # the bot acts for every rule
  - name: bot  # a line comment on the item
    email: bot@acme.test
    key: {BOT_KEY}
    primary: true
  # jane is a person
  - name: jane
    email: jane@acme.test
    kind: api_token
    key: {JANE_KEY}
rules: []
"""
    config = make_config(text=text)
    keys = decrypt_keys(config.path, ["bot", "jane"])
    assert keys["bot"].reveal() == BOT_KEY
    assert keys["jane"].reveal() == JANE_KEY


def test_unknown_token_name(encrypted_config: EncryptedConfig) -> None:
    with pytest.raises(SecretsError, match=r"token 'nobody' is not in .*config.yaml"):
        decrypt_keys(encrypted_config.path, ["nobody"])


def test_a_cwd_sops_yaml_does_not_interfere(
    encrypted_config: EncryptedConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".sops.yaml").write_text("creation_rules: [: broken\n")
    monkeypatch.chdir(elsewhere)
    assert decrypt_keys(encrypted_config.path, ["bot"])["bot"].reveal() == BOT_KEY


def test_duplicate_nested_key_is_refused(encrypted_config: EncryptedConfig) -> None:
    # mac_only_encrypted lets this hand edit through sops; sops and Python would disagree on
    # which email wins, so zdops refuses.
    replace_in_file(
        encrypted_config.path,
        "  email: jane@acme.test\n",
        "  email: jane@acme.test\n    email: evil@evil.test\n",
    )
    with pytest.raises(SecretsError, match="'email' twice"):
        decrypt_keys(encrypted_config.path, ["jane"])


# --- every sops failure, with the real binary ---------------------------------------------


def test_no_key_available(
    encrypted_config: EncryptedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    with pytest.raises(SecretsError) as caught:
        decrypt_keys(encrypted_config.path, ["bot"])
    message = str(caught.value)
    assert "no age key is available" in message
    assert "SOPS_AGE_KEY_FILE" in message and "SOPS_AGE_KEY" in message
    assert "~/.config/sops/age/keys.txt" in message
    assert encrypted_config.key.recipient in message


def test_key_from_home_keys_txt_is_used(
    encrypted_config: EncryptedConfig, sops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    keys_txt = sops_env / ".config" / "sops" / "age" / "keys.txt"
    keys_txt.parent.mkdir(parents=True)
    keys_txt.write_text(encrypted_config.key.path.read_text())
    assert decrypt_keys(encrypted_config.path, ["bot"])["bot"].reveal() == BOT_KEY


def test_key_from_sops_age_key_variable(
    encrypted_config: EncryptedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    monkeypatch.setenv("SOPS_AGE_KEY", encrypted_config.key.identity)
    assert decrypt_keys(encrypted_config.path, ["jane"])["jane"].reveal() == JANE_KEY


def test_wrong_key(
    encrypted_config: EncryptedConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = new_age_key(tmp_path, "other-key.txt")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(other.path))
    with pytest.raises(SecretsError) as caught:
        decrypt_keys(encrypted_config.path, ["bot"])
    message = str(caught.value)
    assert "none of your age keys can decrypt" in message
    assert encrypted_config.key.recipient in message
    assert "sops updatekeys" in message


def test_key_file_missing(
    encrypted_config: EncryptedConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "does-not-exist.txt"))
    with pytest.raises(SecretsError, match="could not open the key file named by SOPS_AGE_KEY"):
        decrypt_keys(encrypted_config.path, ["bot"])


def test_malformed_key(
    encrypted_config: EncryptedConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad-key.txt"
    bad.write_text("AGE-SECRET-KEY-1NOTAKEY\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(bad))
    with pytest.raises(SecretsError, match="age key that is not valid"):
        decrypt_keys(encrypted_config.path, ["bot"])


def test_mac_mismatch_after_hand_edit_in_full_mac_mode(make_config: MakeConfig) -> None:
    config = make_config(mac_only=False)
    replace_in_file(config.path, "jane@acme.test", "jane@evil.test")
    with pytest.raises(SecretsError) as caught:
        decrypt_keys(config.path, ["bot"])
    message = str(caught.value)
    assert "MAC no longer matches" in message
    assert "sops set --ignore-mac" in message
    assert "mac_only_encrypted" in message


def test_hand_edit_of_plain_field_is_fine_with_mac_only(
    encrypted_config: EncryptedConfig,
) -> None:
    replace_in_file(encrypted_config.path, "jane@acme.test", "jane2@acme.test")
    assert decrypt_keys(encrypted_config.path, ["jane"])["jane"].reveal() == JANE_KEY


def test_swapped_ciphertexts_are_a_mac_mismatch(encrypted_config: EncryptedConfig) -> None:
    first, second = enc_values(encrypted_config.path)
    text = encrypted_config.path.read_text()
    text = text.replace(first, "@@1").replace(second, first).replace("@@1", second)
    encrypted_config.path.write_text(text)
    with pytest.raises(SecretsError, match="exit 51"):
        decrypt_keys(encrypted_config.path, ["bot"])


def test_tampered_ciphertext(encrypted_config: EncryptedConfig) -> None:
    value = enc_values(encrypted_config.path)[0]
    data = value.split("data:")[1].split(",")[0]
    flipped = ("A" if data[0] != "A" else "B") + data[1:]
    replace_in_file(encrypted_config.path, value, value.replace(data, flipped))
    with pytest.raises(SecretsError, match="corrupted or not encrypted"):
        decrypt_keys(encrypted_config.path, ["bot"])


def test_plaintext_value_is_refused_without_echoing_it(
    encrypted_config: EncryptedConfig,
) -> None:
    value = enc_values(encrypted_config.path)[1]
    replace_in_file(encrypted_config.path, value, "plaintext-secret-value")
    with pytest.raises(SecretsError) as caught:
        decrypt_keys(encrypted_config.path, ["jane"])
    assert "corrupted or not encrypted" in str(caught.value)
    assert "plaintext-secret-value" not in str(caught.value)


def test_not_encrypted(tmp_path: Path, sops_env: Path) -> None:
    plain = tmp_path / "config.yaml"
    plain.write_text("version: 1\nzendesk:\n  subdomain: acme\ntokens: []\n")
    with pytest.raises(SecretsError, match=r"not encrypted with sops.*sops encrypt -i"):
        decrypt_keys(plain, ["bot"])


def test_missing_file(tmp_path: Path, sops_env: Path) -> None:
    with pytest.raises(SecretsError, match="does not exist"):
        decrypt_keys(tmp_path / "nope.yaml", ["bot"])


# --- finding and checking sops ------------------------------------------------------------


def fake_sops(directory: Path, body: str, name: str = "sops") -> Path:
    script = directory / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def test_zdops_sops_is_used_first(
    tmp_path: Path, sops_env: Path, sops_bin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = tmp_path / "bin"
    on_path.mkdir()
    fake_sops(on_path, 'echo "sops 3.10.1"\n')
    monkeypatch.setenv("PATH", f"{on_path}:/usr/bin:/bin")
    assert locate().binary == str(on_path / "sops")
    monkeypatch.setenv("ZDOPS_SOPS", sops_bin)
    found = locate()
    assert found.binary == sops_bin
    assert found.version >= (3, 9, 0)


def test_zdops_sops_not_executable(
    tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZDOPS_SOPS", str(tmp_path / "no-such-sops"))
    with pytest.raises(SecretsError, match=r"ZDOPS_SOPS=.* is not an executable"):
        locate()


def test_packaged_sops_when_none_on_path(
    tmp_path: Path, sops_env: Path, sops_bin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert locate().binary == sops_bin


def test_sops_missing_says_how_to_install(
    tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = fake_sops(tmp_path, 'echo "sops 3.11.0"\n')
    monkeypatch.setenv("ZDOPS_SOPS", str(gone))
    sops = locate()
    gone.unlink()
    with pytest.raises(SecretsError, match=r"sops not found.*pip install 'zdops\[sops\]'"):
        decrypt_keys(tmp_path / "config.yaml", ["bot"], sops=sops)


def test_sops_too_old(tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZDOPS_SOPS", str(fake_sops(tmp_path, 'echo "sops 3.8.1 (latest)"\n')))
    with pytest.raises(SecretsError, match=r"sops 3\.8\.1 .* is too old: .*3\.9 or newer"):
        decrypt_keys(tmp_path / "config.yaml", ["bot"])


def test_sops_too_old_that_fails_says_too_old(
    tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (
        'case "$1" in --version) echo "sops 3.7.3";;\n'
        '*) echo "unknown command" >&2; exit 1;; esac\n'
    )
    monkeypatch.setenv("ZDOPS_SOPS", str(fake_sops(tmp_path, body)))
    with pytest.raises(SecretsError, match=r"sops 3\.7\.3 .* is too old: .*3\.9 or newer"):
        decrypt_keys(tmp_path / "config.yaml", ["bot"])


def test_not_sops_at_all(tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZDOPS_SOPS", str(fake_sops(tmp_path, "echo hello\n")))
    with pytest.raises(SecretsError, match="does not look like sops"):
        decrypt_keys(tmp_path / "config.yaml", ["bot"])


def test_one_sops_process_per_decryption(
    tmp_path: Path, encrypted_config: EncryptedConfig, sops_bin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = tmp_path / "calls.log"
    wrapper = fake_sops(tmp_path, f'echo "$1" >> {calls}\nexec {sops_bin} "$@"\n')
    monkeypatch.setenv("ZDOPS_SOPS", str(wrapper))
    keys = decrypt_keys(encrypted_config.path, ["bot", "jane"])
    assert keys["bot"].reveal() == BOT_KEY
    assert calls.read_text().split() == ["--config"]  # one run: `sops --config … decrypt …`


def test_version_check_reads_the_first_line_only(
    tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = 'echo "sops 3.9.4"\necho "[warning] sops 2.0.0 is the latest"\n'
    monkeypatch.setenv("ZDOPS_SOPS", str(fake_sops(tmp_path, body)))
    assert locate().version == (3, 9, 4)


def test_timeout(tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = 'case "$1" in --version) echo "sops 3.11.0";; *) exec sleep 30;; esac\n'
    monkeypatch.setenv("ZDOPS_SOPS", str(fake_sops(tmp_path, body)))
    sops = locate(timeout=0.5)
    with pytest.raises(SecretsError, match=r"did not finish within 0\.5s"):
        decrypt_keys(tmp_path / "config.yaml", ["bot"], sops=sops)


def test_go_panic(tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = (
        'case "$1" in --version) echo "sops 3.11.0";; *)\n'
        "echo 'panic: interface conversion: interface {} is sops.Comment' >&2\n"
        "echo 'goroutine 1 [running]:' >&2; exit 2;; esac\n"
    )
    monkeypatch.setenv("ZDOPS_SOPS", str(fake_sops(tmp_path, body)))
    with pytest.raises(SecretsError, match=r"sops crashed .*a sops bug"):
        decrypt_keys(tmp_path / "config.yaml", ["bot"])


def test_child_gets_no_version_check_and_closed_stdin(
    tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "child.log"
    body = (
        'case "$1" in --version) echo "sops 3.11.0"; exit 0;; esac\n'
        f'echo "check=$SOPS_DISABLE_VERSION_CHECK" > {log}\n'
        f"cat >> {log}\n"
        'echo "{\\"tokens\\": [{\\"name\\": \\"bot\\", \\"key\\": \\"k\\"}]}"\n'
    )
    monkeypatch.setenv("ZDOPS_SOPS", str(fake_sops(tmp_path, body)))
    assert decrypt_keys(tmp_path / "config.yaml", ["bot"])["bot"].reveal() == "k"
    assert log.read_text() == "check=1\n"
