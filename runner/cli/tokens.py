"""`zdops tokens`: list, add, set-primary, remove and verify the file's Zendesk tokens."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from runner.cli._options import config_argument, config_path
from runner.errors import IdentityError, ZdopsError

if TYPE_CHECKING:
    from runner.tokens import Verification

FORMATS = click.Choice(["text", "json"])


@click.group("tokens")
def tokens() -> None:
    """The Zendesk tokens declared in the config; keys stay sops-encrypted."""


@tokens.command("list")
@config_argument
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
def list_command(config: str | None, fmt: str) -> None:
    """Name, email, kind and primary of each token (no key, no network)."""
    from runner.tokens import list_tokens

    found = list_tokens(config_path(config))
    if fmt == "json":
        click.echo(json.dumps([t.as_dict() for t in found], indent=2))
        return
    if not found:
        click.echo("no tokens (add one with `zdops tokens add NAME --email EMAIL --primary`)")
        return
    width = max(len(t.name) for t in found)
    for t in found:
        mark = "  primary" if t.primary else ""
        click.echo(f"{t.name:<{width}}  {t.email}  {t.kind}{mark}")


@tokens.command("add")
@click.argument("name")
@click.option("--email", required=True, help="The Zendesk user this token belongs to.")
@click.option(
    "--kind",
    type=click.Choice(["oauth", "api_token"]),
    default="oauth",
    show_default=True,
    help="oauth: an OAuth access token (recommended). api_token: a legacy API token.",
)
@click.option("--primary", is_flag=True, help="Act with this token from now on.")
@click.option(
    "--key", hidden=True, expose_value=False, is_eager=True,
    callback=lambda _ctx, _param, value: _refuse_key_option(value),
)
# Not `config_argument`: click would echo a stray extra argument, and that may be the key.
@click.argument("args", nargs=-1, metavar="[CONFIG]")
def add_command(name: str, email: str, kind: str, primary: bool, args: tuple[str, ...]) -> None:
    """Add token NAME; its key is read from a hidden prompt, or from stdin when piped."""
    from runner.secrets import Secret
    from runner.tokens import add_token

    config = _add_config(args)
    key = Secret(_read_key(name))
    result = add_token(
        config_path(config), name, email=email, key=key, kind=kind, primary=primary
    )
    click.echo(result.summary)


KEY_ARGUMENT_HINT = (
    "Pipe the key on stdin (`zdops tokens add NAME --email EMAIL < key.txt`) or type it at the "
    "hidden prompt; check your shell history, and revoke the key if it was shared."
)


def _refuse_key_option(value: str | None) -> None:
    # Declared only to answer a `--key` with why, instead of click's "No such option".
    if value is not None:
        _key_argument()


def _key_argument() -> NoReturn:
    raise ZdopsError(
        "`zdops tokens add` takes no key on the command line: every user of the machine can "
        "read a process's arguments, and shells keep them in their history.",
        hint=KEY_ARGUMENT_HINT,
    )


def _add_config(args: tuple[str, ...]) -> str | None:
    """The optional CONFIG of `tokens add`. Anything else there may be a key pasted as an
    argument by mistake, so it is refused without being repeated."""
    if not args:
        return None
    config = args[0]
    if len(args) > 1 or not (Path(config).exists() or config.endswith((".yaml", ".yml"))):
        what = "more than one argument follows NAME" if len(args) > 1 else (
            "the argument after NAME is not an existing file or a .yaml path")
        raise ZdopsError(
            f"`zdops tokens add NAME [CONFIG]`: {what}. It is not shown, in case it is a key: "
            "keys are never taken as arguments.",
            hint=KEY_ARGUMENT_HINT,
        )
    return config


def _read_key(name: str) -> str:
    # Never an argument: argv is visible to every user of the machine and kept in shell history.
    if sys.stdin.isatty():
        value: str = click.prompt(
            f"Key for token {name}", hide_input=True, confirmation_prompt=True, err=True
        )
        return value.strip()
    return sys.stdin.read().strip()


@tokens.command("set-primary")
@click.argument("name")
@config_argument
def set_primary_command(name: str, config: str | None) -> None:
    """Make NAME the token every rule acts with (unless a rule says run_as)."""
    from runner.tokens import set_primary

    click.echo(set_primary(config_path(config), name).summary)


@tokens.command("remove")
@click.argument("name")
@config_argument
def remove_command(name: str, config: str | None) -> None:
    """Remove token NAME and its key (not the primary: switch the primary first)."""
    from runner.tokens import remove_token

    click.echo(remove_token(config_path(config), name).summary)


@tokens.command("verify")
@click.argument("args", nargs=-1, metavar="[NAME ...] [CONFIG]")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="HOST",
    help="Also allow sending tokens to HOST over HTTPS (also ZDOPS_ALLOW_HOSTS).",
)
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
def verify_command(args: tuple[str, ...], allow_hosts: tuple[str, ...], fmt: str) -> None:
    """Ask Zendesk who each token (default: all) acts as, and check it is the declared agent."""
    from runner.tokens import verify_tokens

    names, config = _split_config(args)
    base_url, results = verify_tokens(config_path(config), names, allow_hosts=allow_hosts)
    if fmt == "json":
        click.echo(json.dumps({"zendesk": base_url, "tokens": [r.as_dict() for r in results]},
                              indent=2))
    else:
        click.echo(f"Zendesk  {base_url}")
        for result in results:
            _echo_verification(result)
    failed = [r for r in results if not r.ok]
    if failed:
        unreached = all(r.unreached for r in failed)
        raise IdentityError(
            f"{len(failed)} of {len(results)} token(s) failed verification: "
            f"{', '.join(r.name for r in failed)}.",
            hint="Zendesk could not be asked: check the network and zendesk.url, then run "
            "again." if unreached else "Fix the token's email or key in the file (`zdops "
            "tokens remove` and `zdops tokens add`), or the user in Zendesk.",
        )


def _split_config(args: tuple[str, ...]) -> tuple[list[str], str | None]:
    """Token names cannot hold '/' and rarely end in .yaml: the last such argument is CONFIG."""
    if args:
        last = args[-1]
        if "/" in last or (last.endswith((".yaml", ".yml")) and Path(last).is_file()):
            return list(args[:-1]), last
    return list(args), None


def _echo_verification(result: Verification) -> None:
    primary = ", primary" if result.primary else ""
    status = "ok" if result.ok else "FAILED"
    click.echo(f"\ntoken {result.name} ({result.kind}{primary}): {status}")
    user = result.user or {}
    if user.get("id") is not None:
        active = "active" if user.get("active") and not user.get("suspended") else "inactive"
        light = " (light agent)" if user.get("role_type") == 1 else ""
        click.echo(f"  acts as   {user.get('name')} <{user.get('email')}>")
        click.echo(f"  role      {user.get('role')}{light}, {active}")
        same = str(user.get("email") or "").lower() == result.declared_email.lower()
        click.echo(f"  declared  {result.declared_email} ({'matches' if same else 'MISMATCH'})")
        if result.primary and result.ok:
            click.echo(
                "  automated actions will appear in Zendesk as performed by "
                f"{user.get('name')} <{user.get('email')}>"
            )
    for problem in result.problems:
        click.echo(f"  problem   {problem}")
