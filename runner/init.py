"""The core of `zdops init`: a starter config.yaml and the .sops.yaml that encrypts its keys.

The config is written already sops-encrypted (it has no key yet, but it carries the `sops:`
block), so `zdops tokens add` can put keys into it straight away. Encrypting needs only the
public keys, which is why `--age` alone is enough. The .sops.yaml encrypts only `key` values and
keeps the MAC over them only, so every other line stays readable and editable in a pull request.

Nothing is overwritten without `force`; all checks run before anything is written; a new age
key goes only to the key file (appended, never truncated).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner import agekeys, secrets
from runner.errors import ConfigError, ZdopsError
from runner.files import write_atomic

CONFIG_NAME = "config.yaml"
SOPS_RULES_NAME = ".sops.yaml"
PLACEHOLDER_SUBDOMAIN = "your-subdomain"

SOPS_RULES = """\
# sops settings for this repository (written by `zdops init`).
# Only `key` values are encrypted, and the MAC covers only them (mac_only_encrypted), so the
# rest of every config stays readable and editable in a pull request.
# To let a teammate or CI decrypt: add their age public key to `age` (comma-separated), then
# run `sops updatekeys config.yaml`.
creation_rules:
  - path_regex: '\\.ya?ml$'
    encrypted_regex: '^key$'
    mac_only_encrypted: true
    age: '{recipients}'
stores:
  yaml:
    indent: 2
"""

STARTER_CONFIG = """\
# zdops config: Zendesk automation kept in git.
#   zdops validate    check this file (no secrets, no network)
#   zdops plan        show what would change in Zendesk, and as whom
#   zdops apply       make those changes
# Only token keys are secret: sops encrypts them in place (see .sops.yaml).
version: 1
zendesk:
  # https://<subdomain>.zendesk.com; for the local sandbox use instead: url: http://127.0.0.1:8765
  {zendesk}
# Add the credential every rule acts with (its user is who Zendesk shows as the author):
#   zdops tokens add automation-bot --email bot@example.com --primary
tokens: []
defaults:
  # The most tickets one rule may change in one run.
  limit: 100
rules:
  # Refund requests go to the Billing group, with an internal note. The query excludes the tag
  # the rule adds, so each ticket is changed once.
  - name: route-refunds-to-billing
    description: Refund requests go to Billing
    when:
      query: status<solved tags:refund -tags:billing-routed
    actions:
      group: Billing
      tags:
        add:
          - billing-routed
      comment:
        body: Routed to Billing by {{{{rule.name}}}}.
        public: false
"""


@dataclass(frozen=True)
class InitResult:
    """What `init` wrote, for whom the keys are encrypted, and a new key if it made one."""

    config: Path
    sops_rules: Path
    recipients: list[str]
    new_key: agekeys.StoredKey | None
    placeholder_subdomain: bool


def init_project(
    directory: Path,
    *,
    recipients: Sequence[str] = (),
    force: bool = False,
    subdomain: str | None = None,
    url: str | None = None,
    key_file: Path | None = None,
    sops: secrets.Sops | None = None,
) -> InitResult:
    """Write DIR/config.yaml (sops-encrypted, no tokens yet) and DIR/.sops.yaml.

    With no `recipients`, a new age key is generated and appended to `key_file` (default: where
    sops looks, ~/.config/sops/age/keys.txt).
    """
    config_path = directory / CONFIG_NAME
    rules_path = directory / SOPS_RULES_NAME
    _check_directory(directory, hint="Name a directory (new or existing) for the new config.")
    existing = [p for p in (config_path, rules_path) if p.exists()]
    folders = [p for p in existing if p.is_dir()]
    if folders:
        raise ZdopsError(f"{folders[0]} is a directory, not a file; nothing was written.",
                         hint="Move it away, or use another directory.")
    if existing and not force:
        raise ZdopsError(
            f"{' and '.join(str(p) for p in existing)} already "
            f"{'exists' if len(existing) == 1 else 'exist'}; nothing was written.",
            hint="Use another directory, or --force to overwrite (a config's tokens are lost).",
        )
    if subdomain is not None and url is not None:
        raise ZdopsError("give --subdomain or --url, not both.")
    # sops and .sops.yaml take recipients comma-separated, so `--age a,b` means two of them.
    wanted = list(dict.fromkeys(
        agekeys.check_recipient(part) for r in recipients for part in r.split(",")
    ))
    plaintext = starter_config(subdomain=subdomain, url=url)
    _check_starter(plaintext, config_path)

    new_key = None if wanted else agekeys.generate()
    key_path = None if wanted else key_file or agekeys.default_key_file()
    if key_path is not None:
        _check_directory(key_path.parent, hint="Pick another --key-file.")
    all_recipients = [new_key.recipient] if new_key else wanted
    rules_text = SOPS_RULES.format(recipients=",".join(all_recipients))
    encrypted = _encrypt(plaintext, config_path, rules_text, sops or secrets.locate())

    # The key is stored before the files encrypted for it (files without their key could never
    # be decrypted), and taken back if they cannot be written: no stray key is left behind.
    created = _make_directory(directory)
    stored = None
    try:
        if new_key is not None and key_path is not None:
            stored = agekeys.append_identity(key_path, new_key)
        hint = "Choose a directory you can write to."
        write_atomic(rules_path, rules_text, what="the sops rules", hint=hint)
        write_atomic(config_path, encrypted, what="the config", hint=hint)
    except BaseException:
        if stored is not None:
            agekeys.withdraw(stored)
        _remove_empty(created)
        raise
    return InitResult(
        config=config_path,
        sops_rules=rules_path,
        recipients=all_recipients,
        new_key=stored,
        placeholder_subdomain=subdomain is None and url is None,
    )


def _check_directory(directory: Path, *, hint: str) -> None:
    """Refuse a directory that is, or lies under, something other than a directory."""
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            if not candidate.is_dir():
                under = "" if candidate == directory else f", so {directory} cannot be created"
                raise ZdopsError(
                    f"{candidate} exists and is not a directory{under}; nothing was written.",
                    hint=hint,
                )
            return


def _make_directory(directory: Path) -> list[Path]:
    """Create `directory` and its missing parents; the ones created, deepest first."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _remove_empty(missing)
        raise ZdopsError(
            f"cannot create the directory {directory}: {error.strerror or error}; nothing was "
            "written.",
            hint="Choose a directory you can write to.",
        ) from None
    return missing


def _remove_empty(directories: Sequence[Path]) -> None:
    for made in directories:
        with contextlib.suppress(OSError):  # not empty, or already gone: leave it
            made.rmdir()


def starter_config(*, subdomain: str | None = None, url: str | None = None) -> str:
    """The starter config's plaintext (it holds no key)."""
    zendesk = f"url: {url}" if url else f"subdomain: {subdomain or PLACEHOLDER_SUBDOMAIN}"
    return STARTER_CONFIG.format(zendesk=zendesk)


def _check_starter(text: str, path: Path) -> None:
    """The starter's only problem must be its missing token; anything else came from a flag."""
    from runner.config import parse_config

    try:
        parse_config(text, str(path))
    except ConfigError as error:
        others = [p for p in error.problems if p.severity == "error" and p.path != "tokens"]
        if others:
            raise ConfigError(others) from None


def _encrypt(plaintext: str, path: Path, rules_text: str, sops: secrets.Sops) -> bytes:
    # The rules go to sops as a file in a private temp dir: the real .sops.yaml is written only
    # once everything has worked.
    with tempfile.TemporaryDirectory(prefix="zdops-init-") as scratch:
        rules = Path(scratch) / SOPS_RULES_NAME
        rules.write_text(rules_text, encoding="utf-8")
        return sops.run(
            ["encrypt", "--filename-override", str(path), "--input-type", "yaml",
             "--output-type", "yaml", "/dev/stdin"],
            file=path,
            input=plaintext.encode(),
            config=str(rules),
        )
