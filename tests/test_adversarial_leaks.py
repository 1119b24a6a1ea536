"""Secret leaks on error paths: a key written in plain text, or a broken file, must never be
echoed by validate (every format), schema, tokens list or tokens verify, with or without
--debug. tests/test_leaks.py covers the happy paths of every tokens command.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_sops import BOT_KEY, JANE_KEY, EncryptedConfig

from runner.cli import main

PLAIN_KEY = "plain-Kq93mZx7Tt2s3cr3t"
OTHER_KEY = "other-Wn58pLc1Rr4s3cr3t"

PLAINTEXT_CONFIG = f"""\
version: 1
zendesk: {{subdomain: acme}}
tokens:
  - {{name: bot, email: bot@acme.test, kind: oauth, key: {PLAIN_KEY}, primary: true}}
  - name: jane
    email: jane@acme.test
    kind: api_token
    key: "{OTHER_KEY}"
    unknown_field: 1
rules:
  - name: r
    when: {{query: 'status:open ('}}
    actions: {{priority: bogus}}
"""


def run_all(path: Path) -> list[str]:
    runner = CliRunner()
    outputs = []
    commands = [
        ["validate", str(path)],
        ["validate", "--format", "json", str(path)],
        ["validate", "--format", "github", str(path)],
        ["--debug", "validate", str(path)],
        ["schema"],
        ["tokens", "list", str(path)],
        ["tokens", "list", "--format", "json", str(path)],
        ["tokens", "verify", str(path)],
        ["tokens", "verify", "--format", "json", "bot", str(path)],
        ["--debug", "tokens", "verify", str(path)],
    ]
    for args in commands:
        result = runner.invoke(main, args)
        assert result.exit_code in (0, 1), (args, result.output)
        outputs += [result.stdout, result.stderr]
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            outputs.append(repr(result.exception))
    return outputs


def test_a_plaintext_key_is_never_echoed(
    tmp_path: Path, sops_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "config.yaml"
    path.write_text(PLAINTEXT_CONFIG)
    outputs = run_all(path)
    joined = "\n".join(outputs)
    assert "not a sops-encrypted value" in joined  # the files were really refused
    for secret in (PLAIN_KEY, OTHER_KEY):
        assert secret not in joined
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("mac_only_encrypted: true", "mac_only_encrypted: false"),
        lambda t: re.sub(r"\n  mac: [^\n]*", "", t),
        lambda t: t.replace("subdomain: acme", "url: https://evil.example"),
        lambda t: t.replace("kind: oauth", "kind: {oauth: 1}"),
        lambda t: t.split("\nsops:")[0],
    ],
    ids=["mac-only off", "mac removed", "untrusted url", "bad kind", "no sops block"],
)
def test_broken_encrypted_files_never_leak_their_keys(
    edit: object, encrypted_config: EncryptedConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = encrypted_config.path
    path.write_text(edit(path.read_text()))  # type: ignore[operator]
    outputs = run_all(path)
    for secret in (BOT_KEY, JANE_KEY):
        assert all(secret not in text for text in outputs)
        assert secret not in caplog.text
