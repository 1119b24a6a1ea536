"""Age keys for sops: generate one, and store it where sops looks, readable only by its owner.

A new private key is made with pyrage (the `sops` extra), or else with `age-keygen` from PATH,
whose output is read from a pipe. It is never printed, logged or put on a command line: it
lives in a `Secret` until `append_identity` writes it to the one file the caller named, which is
created with mode 0600 (and its directory 0700), and appended to, never truncated, when it
exists, because a keys.txt may already hold keys that other files need.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runner.errors import SecretsError, ZdopsError
from runner.secrets import Secret

RECIPIENT_RE = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")
_IDENTITY_RE = re.compile(r"^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$")
_PUBLIC_LINE_RE = re.compile(r"^# public key: (age1\S+)$", re.MULTILINE)
KEYGEN_TIMEOUT = 30.0
NO_GENERATOR_HINT = (
    "Install the `sops` extra (`pip install 'zdops[sops]'`, which brings pyrage), or install "
    "age (https://github.com/FiloSottile/age) so that `age-keygen` is on PATH."
)


@dataclass(frozen=True)
class NewKey:
    """A freshly generated age key pair; the private half stays masked."""

    identity: Secret  # AGE-SECRET-KEY-1...
    recipient: str  # age1..., safe to share and to commit in .sops.yaml


@dataclass(frozen=True)
class StoredKey:
    """Where a new key was written, and its public half."""

    path: Path
    recipient: str
    created_file: bool  # False: appended to a key file that already existed
    mode: int  # the file's permission bits after writing (an existing file keeps its own)
    size_before: int  # the file's length before the key was appended (0 when created)


def default_key_file(env: Mapping[str, str] | None = None) -> Path:
    """Where sops looks for age keys without being told: its user config dir + sops/age/keys.txt.

    sops uses Go's user config directory: $XDG_CONFIG_HOME when set, else ~/.config on Linux and
    ~/Library/Application Support on macOS.
    """
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        base = Path(xdg)
    else:
        home = env.get("HOME")
        if not home:
            raise ZdopsError(
                "HOME is not set, so there is no default place for the age key.",
                hint="Set HOME, or name the key file with SOPS_AGE_KEY_FILE.",
            )
        if sys.platform == "darwin":
            base = Path(home) / "Library" / "Application Support"
        else:
            base = Path(home) / ".config"
    return base / "sops" / "age" / "keys.txt"


def check_recipient(value: str) -> str:
    """`value` if it is an age recipient (age1...), else a ZdopsError saying what is expected."""
    candidate = value.strip()
    if not RECIPIENT_RE.match(candidate):
        shown = "an age private key" if candidate.startswith("AGE-SECRET-KEY-") else repr(value)
        raise ZdopsError(
            f"{shown} is not an age recipient (a public key: 'age1' and 58 more characters).",
            hint="Print the public key of your key file with `age-keygen -y KEYFILE`, or leave "
            "--age out to have zdops make a new key.",
        )
    return candidate


def generate() -> NewKey:
    """A new age key pair, from pyrage if installed, else from `age-keygen` on PATH."""
    try:
        from pyrage import x25519
    except ImportError:
        return _generate_with_keygen()
    identity = x25519.Identity.generate()
    return NewKey(identity=Secret(str(identity)), recipient=str(identity.to_public()))


def _generate_with_keygen() -> NewKey:
    binary = shutil.which("age-keygen")
    if binary is None:
        raise SecretsError("cannot generate an age key: neither pyrage nor age-keygen is "
                           "installed.", hint=NO_GENERATOR_HINT)
    try:
        completed = subprocess.run(
            [binary], stdin=subprocess.DEVNULL, capture_output=True, timeout=KEYGEN_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SecretsError(f"age-keygen at {binary} could not be run: {error}.",
                           hint=NO_GENERATOR_HINT) from None
    output = completed.stdout.decode("utf-8", errors="replace")
    identity = next((line for line in output.splitlines() if _IDENTITY_RE.match(line)), None)
    public = _PUBLIC_LINE_RE.search(output)
    if completed.returncode != 0 or identity is None or public is None:
        # Its output holds the private key: never quote it.
        raise SecretsError(
            f"age-keygen at {binary} did not print a key pair (exit {completed.returncode}).",
            hint=NO_GENERATOR_HINT,
        )
    return NewKey(identity=Secret(identity), recipient=public[1])


def append_identity(path: Path, key: NewKey) -> StoredKey:
    """Append `key` to the key file at `path` (created 0600, in a 0700 directory if new)."""
    created = not path.exists()
    size_before = 0 if created else path.stat().st_size
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    block = f"# created: {stamp} by zdops\n# public key: {key.recipient}\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as error:
        raise ZdopsError(f"cannot write the age key file {path}: {error.strerror or error}.",
                         hint="Check the directory's permissions, or pick another --key-file."
                         ) from None
    with os.fdopen(handle, "a", encoding="utf-8") as out:
        if not created and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            out.write("\n")
        out.write(block + key.identity.reveal() + "\n")
    return StoredKey(path=path, recipient=key.recipient, created_file=created,
                     mode=path.stat().st_mode & 0o777, size_before=size_before)


def withdraw(stored: StoredKey) -> None:
    """Take back a key just appended (its files could not be written): no stray key is left."""
    if stored.created_file:
        stored.path.unlink(missing_ok=True)
        return
    with open(stored.path, "r+b") as handle:
        handle.truncate(stored.size_before)

