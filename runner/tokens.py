"""The core of `zdops tokens`: list, add, set-primary, remove and verify, returning data.

Edits go through sops, so a plaintext key never touches the disk: a new key reaches
`sops set --value-stdin` through a pipe. Each edit works on a copy of the (encrypted) file in
the same directory, checks the result with the config parser, and only then replaces the
file atomically; on any error the file is untouched.

Primary flags are not secret. When the file has `mac_only_encrypted: true` they are not covered
by the MAC either, so zdops flips them with a textual edit of exactly that value: no key is
needed, nothing else in the file moves, and it is the same edit a reviewer would make by hand in
a pull request. Without `mac_only_encrypted`, every value is in the MAC and the flag goes through
`sops set`, which needs a key.

sops numbers list items counting YAML comments as items (a sops bug), so a path such as
`["tokens"][1]` can name a comment. `sops_index` computes the index sops will use; every edit
is then checked against what was intended, so a wrong guess fails safely instead of damaging
the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from runner import secrets
from runner.errors import ConfigError, Problem, SecretsError, ZdopsError

if TYPE_CHECKING:
    from runner.config.models import Config, Token

KINDS = ("oauth", "api_token")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class TokenInfo:
    """What `tokens list` shows of a token: everything but the key."""

    name: str
    email: str
    kind: str
    primary: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email, "kind": self.kind, "primary": self.primary}


@dataclass(frozen=True)
class EditResult:
    """What an edit did: the tokens after it, and a sentence for the user."""

    tokens: list[TokenInfo]
    summary: str
    changed: bool = True


def _info(token: Token) -> TokenInfo:
    return TokenInfo(token.name, token.email, token.kind, token.primary)


# --- list ---------------------------------------------------------------------------------


def list_tokens(path: Path) -> list[TokenInfo]:
    """The declared tokens, in file order. Needs no key and no network."""
    from runner.config import load_config

    return [_info(t) for t in load_config(path).config.tokens]


# --- add ----------------------------------------------------------------------------------


def add_token(
    path: Path,
    name: str,
    *,
    email: str,
    key: secrets.Secret,
    kind: str = "oauth",
    primary: bool = False,
    sops: secrets.Sops | None = None,
) -> EditResult:
    """Add a token with its key encrypted by sops; with `primary`, it replaces the old primary.

    The first token of a file becomes primary whether asked or not: a config with tokens needs
    exactly one.
    """
    config = _load_for_add(path)
    _require_encrypted(path, config)
    _check_new_token(path, config, name, email, kind)
    _check_key(key)
    old_primary = next((t.name for t in config.tokens if t.primary), None)
    primary = primary or old_primary is None

    entry: dict[str, Any] = {"name": name, "email": email, "kind": kind, "key": key.reveal()}
    if primary:
        entry["primary"] = True
    expected = [
        TokenInfo(t.name, t.email, t.kind, t.primary and not primary) for t in config.tokens
    ]
    expected.append(TokenInfo(name, email, kind, primary))

    def edit(work: _WorkingCopy) -> None:
        # Any index past the end appends; sops' list is never longer than the file has lines.
        beyond = len(work.text().splitlines()) + 1
        work.sops_run(
            ["set", "--value-stdin", str(work.path), f'["tokens"][{beyond}]'],
            input=json.dumps(entry).encode(),
            redact=[key.reveal()],
        )
        if primary and old_primary is not None:
            work.set_flag(old_primary, False)

    _edit(path, config, edit, expected, sops=sops, new_token=name)
    summary = f"added token {name!r} ({kind}, {email})"
    if primary:
        summary += "; it is now the primary: automated actions will be performed as " + email
        if old_primary is not None:
            summary += f" (was {old_primary!r})"
    return EditResult(tokens=expected, summary=summary)


def _load_for_add(path: Path) -> Config:
    """The config, also when its only fault is having no token yet (what `add` is for)."""
    from pydantic import ValidationError

    from runner.config import Config, load_config

    try:
        return load_config(path).config
    except ConfigError as error:
        errors = [p for p in error.problems if p.severity == "error"]
        if not errors or any(p.path != "tokens" for p in errors):
            raise
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            config = Config.model_validate(document)
        except (yaml.YAMLError, ValidationError, OSError):
            raise error from None
        if config.tokens:
            raise
        return config


# --- set-primary --------------------------------------------------------------------------


def set_primary(path: Path, name: str, *, sops: secrets.Sops | None = None) -> EditResult:
    """Make `name` the primary token and unmark the old one."""
    from runner.config import load_config

    config = load_config(path).config
    token = _find(path, config, name)
    infos = [_info(t) for t in config.tokens]
    if token.primary:
        return EditResult(infos, f"token {name!r} is already the primary; nothing changed", False)
    _require_encrypted(path, config)
    old = [t.name for t in config.tokens if t.primary]
    expected = [TokenInfo(t.name, t.email, t.kind, t.name == name) for t in config.tokens]

    def edit(work: _WorkingCopy) -> None:
        work.set_flag(name, True)
        for old_name in old:
            work.set_flag(old_name, False)

    _edit(path, config, edit, expected, sops=sops)
    was = f" (was {', '.join(repr(n) for n in old)})" if old else ""
    return EditResult(
        expected,
        f"token {name!r} is now the primary{was}: automated actions will appear in Zendesk as "
        f"performed by the user of {token.email}",
    )


# --- remove -------------------------------------------------------------------------------


def remove_token(path: Path, name: str, *, sops: secrets.Sops | None = None) -> EditResult:
    """Remove a token and its key. The primary cannot go until another token is primary."""
    from runner.config import load_config

    config = load_config(path).config
    token = _find(path, config, name)
    if token.primary:
        others = [t.name for t in config.tokens if t.name != name]
        hint = (
            f"Make another token primary first: `zdops tokens set-primary {others[0]}`."
            if others
            else "Add the token that should replace it with `zdops tokens add NAME --primary`, "
            "then remove this one."
        )
        raise ZdopsError(f"token {name!r} is the primary token; it cannot be removed.", hint=hint)
    users = [rule.name for rule in config.rules if rule.run_as == name]
    if users:
        raise ZdopsError(
            f"token {name!r} is used by rule(s) {', '.join(users)} (run_as).",
            hint="Change or remove their run_as first.",
        )
    _require_encrypted(path, config)
    expected = [_info(t) for t in config.tokens if t.name != name]

    def edit(work: _WorkingCopy) -> None:
        index = work.sops_index(name)
        work.sops_run(["unset", str(work.path), f'["tokens"][{index}]'])

    _edit(path, config, edit, expected, sops=sops)
    return EditResult(expected, f"removed token {name!r} ({token.email})")


# --- checks -------------------------------------------------------------------------------


def _problem(path: Path, where: str, message: str) -> ConfigError:
    return ConfigError([Problem(file=str(path), line=0, column=0, path=where, message=message)])


def _find(path: Path, config: Config, name: str) -> Token:
    for token in config.tokens:
        if token.name == name:
            return token
    names = ", ".join(t.name for t in config.tokens) or "none"
    raise _problem(path, "tokens", f"there is no token named {name!r} (tokens: {names})")


def _require_encrypted(path: Path, config: Config) -> None:
    if config.sops is None:
        raise SecretsError(
            f"{path} is not encrypted with sops, so zdops cannot add or change keys in it.",
            hint="Encrypt it first with `sops encrypt -i` and a .sops.yaml that sets "
            "`encrypted_regex: ^key$` and `mac_only_encrypted: true` (`zdops init` writes one).",
        )


def _check_new_token(path: Path, config: Config, name: str, email: str, kind: str) -> None:
    where = f"tokens[{name}]"
    if not _NAME_RE.match(name):
        raise _problem(
            path,
            where + ".name",
            f"{name!r} is not a valid token name: use letters, digits, '.', '_' or '-' "
            "(up to 64, starting with a letter or digit)",
        )
    if any(t.name == name for t in config.tokens):
        raise _problem(
            path, where, f"a token named {name!r} already exists; remove it first or pick "
            "another name"
        )
    if not _EMAIL_RE.match(email):
        raise _problem(path, where + ".email", f"{email!r} is not an email address")
    if kind not in KINDS:
        raise _problem(path, where + ".kind", f"{kind!r} is not a token kind: use oauth or "
                       "api_token")


def _check_key(key: secrets.Secret) -> None:
    value = key.reveal()
    if not value:
        raise ZdopsError("the key is empty.", hint="Paste the token's key when asked.")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ZdopsError(
            "the key contains spaces, tabs, newlines or control characters.",
            hint="Paste only the key itself (a Zendesk key is one word).",
        )


# --- editing a copy of the file -----------------------------------------------------------


class _WorkingCopy:
    """An encrypted copy of the config next to it, edited with sops or by exact text edits."""

    def __init__(
        self, path: Path, *, original: Path, mac_only: bool, sops: secrets.Sops | None
    ) -> None:
        self.path = path
        self.original = original
        self.mac_only = mac_only
        self._sops = sops
        self._indent_dir: tempfile.TemporaryDirectory[str] | None = None

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def sops_run(
        self, args: list[str], *, input: bytes | None = None, redact: Sequence[str] = ()
    ) -> None:
        if self._sops is None:
            self._sops = secrets.locate()
        # The working copy's name does not end in .yaml, so say what it is; and give sops a
        # config with only the file's own indentation, since it re-serialises the whole file.
        command, *rest = args
        self._sops.run(
            [command, "--input-type", "yaml", "--output-type", "yaml", *rest],
            file=self.path,
            input=input,
            config=self._indent_config(),
            redact=redact,
            shown=self.original,
        )

    def _indent_config(self) -> str:
        if self._indent_dir is None:
            self._indent_dir = tempfile.TemporaryDirectory(prefix="zdops-sops-")
        config = Path(self._indent_dir.name) / "sops.yaml"
        config.write_text(f"stores:\n  yaml:\n    indent: {detect_indent(self.text())}\n")
        return str(config)

    def sops_index(self, name: str) -> int:
        return sops_index(self.text(), name)

    def set_flag(self, name: str, value: bool) -> None:
        """Set `primary` of token `name`: a text edit under mac_only_encrypted, else sops."""
        if not self.mac_only:
            index = self.sops_index(name)
            literal = "true" if value else "false"
            self.sops_run(["set", str(self.path), f'["tokens"][{index}]["primary"]', literal])
            return
        text = self.text()
        self.path.write_text(set_flag_in_text(text, name, value), encoding="utf-8")

    def cleanup(self) -> None:
        if self._indent_dir is not None:
            self._indent_dir.cleanup()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _edit(
    path: Path,
    config: Config,
    edit: Callable[[_WorkingCopy], None],
    expected: list[TokenInfo],
    *,
    sops: secrets.Sops | None,
    new_token: str | None = None,
) -> None:
    """Run `edit` on a copy of `path`, check the result is `expected`, then replace `path`."""
    from runner.config import parse_config

    original = path.read_bytes()
    mode = path.stat().st_mode & 0o777
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".zdops-tmp", dir=path.parent)
    with os.fdopen(handle, "wb") as out:
        out.write(original)
    os.chmod(temp, mode)
    mac_only = bool(config.sops and config.sops.mac_only_encrypted)
    work = _WorkingCopy(Path(temp), original=path, mac_only=mac_only, sops=sops)
    try:
        edit(work)
        result = parse_config(work.text(), str(path)).config
        _check_result(path, config, result, expected, new_token)
        if path.read_bytes() != original:
            raise ZdopsError(
                f"{path} changed while zdops was editing it; nothing was written.",
                hint="Run the command again.",
            )
        os.replace(temp, path)
    finally:
        work.cleanup()


def _check_result(
    path: Path, before: Config, after: Config, expected: list[TokenInfo], new_token: str | None
) -> None:
    got = [_info(t) for t in after.tokens]
    old_keys = {t.name: t.key for t in before.tokens}
    kept_keys_intact = all(
        t.key == old_keys[t.name] for t in after.tokens if t.name in old_keys
    )
    new_key_fresh = new_token is None or all(
        t.key not in old_keys.values() for t in after.tokens if t.name == new_token
    )
    if got != expected or not kept_keys_intact or not new_key_fresh:
        raise ZdopsError(
            f"editing {path} through sops did not give the expected tokens "
            f"(expected {[e.name for e in expected]}, got {[g.name for g in got]}); "
            "nothing was written.",
            hint="This can happen when YAML comments sit between the items of `tokens:` in "
            "unusual places (sops counts comments as list items); move those comments out of "
            "the list and try again.",
        )


# --- positions in the YAML text -----------------------------------------------------------


def _compose(text: str) -> yaml.MappingNode:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise ZdopsError("the config is not a YAML mapping")
    return root


def _child(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node  # type: ignore[no-any-return]
    return None


def _token_items(text: str) -> tuple[int, yaml.SequenceNode, list[yaml.MappingNode]]:
    """The line of the `tokens:` key, its sequence node, and the token mappings in it."""
    root = _compose(text)
    for key_node, tokens in root.value:
        if key_node.value == "tokens" and isinstance(tokens, yaml.SequenceNode):
            items = [item for item in tokens.value if isinstance(item, yaml.MappingNode)]
            return int(key_node.start_mark.line), tokens, items
    raise ZdopsError("the config has no `tokens:` list")


def _item_named(items: list[yaml.MappingNode], name: str) -> int:
    for position, item in enumerate(items):
        value = _child(item, "name")
        if isinstance(value, yaml.ScalarNode) and value.value == name:
            return position
    raise ZdopsError(f"token {name!r} is not in the file")


def detect_indent(text: str) -> int:
    """The indentation sops used for this file (it writes one width throughout): 4 if unsure."""
    try:
        root = _compose(text)
    except yaml.YAMLError:
        return 4
    for preferred in ("sops", "zendesk", "defaults"):
        node = _child(root, preferred)
        if isinstance(node, yaml.MappingNode) and node.value:
            column = int(node.value[0][0].start_mark.column)
            if 1 <= column <= 8:
                return column
    return 4


def _last_line(node: yaml.Node) -> int:
    """The last line (0-based) holding content of `node`, comments excluded."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value:
        return _last_line(node.value[-1])
    end = node.end_mark
    # Block scalars end at the start of the following line.
    return int(end.line) - 1 if end.column == 0 and end.line > node.start_mark.line else int(
        end.line
    )


def _comment_column(line: str) -> int | None:
    stripped = line.lstrip(" ")
    return len(line) - len(stripped) if stripped.startswith("#") else None


def _has_trailing_comment(line: str) -> bool:
    quote: str | None = None
    for position, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1] in " \t"):
            return True
    return False


def sops_index(text: str, name: str) -> int:
    """The index sops gives token `name` in `["tokens"][i]`, counting comments as sops does.

    As measured with sops 3.11 (yaml.v3 comment attachment): a comment line at the column of
    the list's dashes, between two items, is an extra list item, except a block of them right
    under the previous item and followed by a blank line (that block belongs to the previous
    item); a comment at the end of an item's dash line (`- name: a  # x`) is one too. Comments
    indented deeper, or less deep, belong to the surrounding mappings.
    """
    key_line, tokens, items = _token_items(text)
    target = _item_named(items, name)
    lines = text.splitlines()
    dash_column = int(tokens.start_mark.column)
    index = 0
    previous_end = key_line
    for position, item in enumerate(tokens.value):
        dash_line = _dash_line(lines, int(item.start_mark.line), dash_column)
        index += _comments_between(lines, previous_end + 1, dash_line, dash_column, position > 0)
        if _has_trailing_comment(lines[dash_line]):
            index += 1
        if isinstance(item, yaml.MappingNode) and item is items[target]:
            return index
        index += 1
        previous_end = _last_line(item)
    raise ZdopsError(f"token {name!r} is not in the file")  # unreachable: target was found


def _dash_line(lines: list[str], start: int, dash_column: int) -> int:
    for number in range(start, -1, -1):
        line = lines[number]
        if len(line) > dash_column and line[dash_column] == "-" and not line[:dash_column].strip():
            return number
    return start


def _comments_between(
    lines: list[str], first: int, stop: int, column: int, after_item: bool
) -> int:
    groups: list[tuple[int, int, int]] = []  # (first line, last line, comments at column)
    number = first
    while number < stop:
        if _comment_column(lines[number]) is None:
            number += 1
            continue
        start = number
        count = 0
        while number < stop and _comment_column(lines[number]) is not None:
            count += _comment_column(lines[number]) == column
            number += 1
        groups.append((start, number - 1, count))
    total = 0
    for start, end, count in groups:
        below_previous = after_item and start == first
        followed_by_blank = end + 1 < stop and not lines[end + 1].strip()
        if below_previous and followed_by_blank:
            continue
        total += count
    return total


def set_flag_in_text(text: str, name: str, value: bool) -> str:
    """Set `primary: <value>` of token `name` by editing only that value's characters."""
    _, _, items = _token_items(text)
    item = items[_item_named(items, name)]
    literal = "true" if value else "false"
    for key_node, value_node in item.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == "primary":
            start, end = value_node.start_mark.index, value_node.end_mark.index
            return text[:start] + literal + text[end:]
    if not value:
        return text  # absent means false
    # Add the line under the item's last single-line value, at the item's key column.
    column = int(item.value[0][0].start_mark.column)
    last_key, last_value = item.value[-1]
    after = int(last_value.end_mark.line)
    if last_value.end_mark.line != last_key.start_mark.line:
        after = int(item.value[0][1].end_mark.line)
    lines = text.splitlines(keepends=True)
    lines.insert(after + 1, " " * column + "primary: true\n")
    return "".join(lines)



# --- verify -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """Who one token really acts as, and what is wrong with that (nothing, when `ok`)."""

    name: str
    declared_email: str
    kind: str
    primary: bool
    user: dict[str, Any] | None
    problems: tuple[str, ...]
    unreached: bool = False  # Zendesk gave no verdict (network, 5xx, rate limit)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "declared_email": self.declared_email,
            "kind": self.kind,
            "primary": self.primary,
            "user": self.user,
            "email_matches": bool(self.user)
            and str((self.user or {}).get("email") or "").lower() == self.declared_email.lower(),
            "ok": self.ok,
            "problems": list(self.problems),
        }


USER_FIELDS = ("id", "name", "email", "role", "role_type", "active", "suspended")


def verify_tokens(
    path: Path,
    names: Sequence[str] = (),
    *,
    allow_hosts: Sequence[str] = (),
    env: dict[str, str] | None = None,
    transport: Any = None,
    sops: secrets.Sops | None = None,
) -> tuple[str, list[Verification]]:
    """Ask Zendesk who each named token (default: all) acts as; returns (base URL, results).

    The destination is checked before any key is decrypted, and all keys come from one sops
    run. A failure of one token does not stop the others from being checked.
    """
    from runner.config import load_config
    from runner.errors import (
        ZendeskAuthError,
        ZendeskError,
        ZendeskRateLimitError,
        ZendeskServerError,
        ZendeskTransportError,
    )
    from runner.trust import check_destination
    from runner.zendesk import Credentials, ZendeskClient

    config = load_config(path).config
    chosen = [_find(path, config, n) for n in dict.fromkeys(names)] if names else config.tokens
    if not chosen:
        raise _problem(path, "tokens", "the file declares no tokens; add one with "
                       "`zdops tokens add NAME --email EMAIL --primary`")
    base_url = check_destination(
        config.zendesk, allow_hosts=allow_hosts, env=os.environ if env is None else env
    )
    keys = secrets.decrypt_keys(path, [t.name for t in chosen], sops=sops)

    results: list[Verification] = []
    for token in chosen:
        credentials = Credentials(token.kind, token.email, keys[token.name])
        user: dict[str, Any] | None = None
        unreached = False
        try:
            with ZendeskClient(base_url, credentials, transport=transport, max_wait=60.0) as zd:
                user = {k: v for k, v in zd.me().items() if k in USER_FIELDS}
        except ZendeskAuthError:
            problems: tuple[str, ...] = (rejected_key(token),)
        except ZendeskError as error:
            problems = (f"could not ask Zendesk: {error}",)
            # A 403 or 404 is an answer (a suspended user, a wrong URL): the file needs fixing.
            unreached = isinstance(
                error, ZendeskTransportError | ZendeskServerError | ZendeskRateLimitError)
        else:
            problems = identity_problems(token, user)
        results.append(Verification(
            token.name, token.email, token.kind, token.primary, user, problems, unreached
        ))
    return base_url, results


def rejected_key(token: Token) -> str:
    """What a 401 for `token` means, in the words every command uses."""
    # An API token authenticates as the email sent with it, so that may be wrong too.
    also = f", or {token.email} is not a user of this account" if token.kind == "api_token" else ""
    return f"Zendesk rejected the key (401): it is wrong, revoked or expired{also}"


def identity_problems(token: Token, user: dict[str, Any]) -> tuple[str, ...]:
    """Why the users/me answer for `token` is not an active agent with the declared email."""
    if user.get("id") is None:
        what = "the email and key" if token.kind == "api_token" else "the key"
        return (
            f"Zendesk answered as an anonymous user: {what} were not accepted",
        )
    problems: list[str] = []
    email = str(user.get("email") or "")
    if email.lower() != token.email.lower():
        problems.append(f"it acts as {email or 'a user without email'}, but the file declares "
                        f"{token.email}")
    if user.get("active") is False or user.get("suspended") is True:
        problems.append("the user is inactive or suspended")
    if user.get("role") == "end-user":
        problems.append("the user is an end-user, who cannot change tickets")
    elif user.get("role_type") == 1:
        problems.append("the user is a light agent, who cannot change tickets")
    return tuple(problems)
