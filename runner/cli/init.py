"""`zdops init`: a starter config.yaml and .sops.yaml, and an age key if none is given."""

from __future__ import annotations

import shlex
from pathlib import Path

import click


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path())
@click.option("--age", "recipients", multiple=True, metavar="RECIPIENT",
              help="Encrypt keys for this age public key (repeatable, or comma-separated). "
                   "Without it, a new key is made and appended to your sops key file.")
@click.option("--subdomain", default=None, help="The Zendesk account, e.g. acme.")
@click.option("--url", default=None,
              help="A base URL instead of a subdomain, e.g. http://127.0.0.1:8765 (the sandbox).")
@click.option("--key-file", type=click.Path(dir_okay=False), default=None,
              help="Where a new age key goes (default: ~/.config/sops/age/keys.txt, appended).")
@click.option("--force", is_flag=True, help="Overwrite an existing config.yaml and .sops.yaml.")
def init(directory: str, recipients: tuple[str, ...], subdomain: str | None, url: str | None,
         key_file: str | None, force: bool) -> None:
    """Write a starter config.yaml and .sops.yaml in DIRECTORY (default: here)."""
    from runner.init import init_project

    result = init_project(
        Path(directory), recipients=recipients, force=force, subdomain=subdomain, url=url,
        key_file=Path(key_file) if key_file else None,
    )
    click.echo(f"wrote {result.config} (sops-encrypted; no tokens yet)")
    click.echo(f"wrote {result.sops_rules} (encrypts only `key` values, for "
               f"{', '.join(result.recipients)})")
    if result.new_key is not None:
        how = "created" if result.new_key.created_file else "appended to"
        click.echo(f"\nnew age key {result.new_key.recipient}: private half {how} "
                   f"{result.new_key.path} (mode {result.new_key.mode:04o})")
        if result.new_key.mode & 0o077:
            click.echo(f"  warning: other users can read it: chmod 600 {result.new_key.path}")
        click.echo("  Back it up now: copy the file's last AGE-SECRET-KEY-1... line (the one "
                   "under this public key) into a password manager. Without it nobody can "
                   "decrypt the tokens, and a lost key means adding every token again.")
        click.echo("  Never commit it. For CI, make a separate key (see the README) and store it "
                   "as the repository secret SOPS_AGE_KEY.")
    click.echo("\nnext:")
    step = 1
    if result.placeholder_subdomain:
        click.echo(f"  {step}. set zendesk.subdomain in {result.config} to your account")
        step += 1
    # quoted, so that the printed commands can be pasted as they are
    config = "" if result.config == Path("config.yaml") else f" {shlex.quote(str(result.config))}"
    click.echo(f"  {step}. zdops tokens add automation-bot --email BOT@EXAMPLE.COM --primary"
               f"{config}")
    click.echo(f"  {step + 1}. zdops validate{config} && zdops plan{config}")
