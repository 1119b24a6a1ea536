"""`zdops demo`: the whole loop, from nothing, against the built-in Zendesk sandbox.

Every step is the real one a user runs (the same core functions the commands call): a new age
key, `init`, `tokens add` through the real sops, `validate`, `tokens verify`, `plan`, `apply`,
the audit Zendesk recorded, `tokens set-primary`, and a second plan that has nothing left to do.

The demo's key is the only key it hands sops: its sops children get SOPS_AGE_KEY_FILE pointing at
the demo's own key file (this process's environment is left alone), and the run's trust settings
ignore any
ZDOPS_SUBDOMAIN or ZDOPS_ALLOW_HOSTS of the caller, since the demo talks only to its loopback
sandbox. The private key is written only to the demo directory, mode 0600, and never printed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from runner.errors import ZdopsError

if TYPE_CHECKING:
    from runner.engine.plan import Plan
    from runner.engine.run import Run
    from runner.sandbox import Sandbox, Server
    from runner.secrets import Sops

DEMO_TICKETS = 100
DEMO_SEED = 1
DEMO_PORT = 8765  # `zdops sandbox`'s default, so "try next" works on the same URL
PRIMARY = "automation-bot"
SECOND = "jane"
KEY_FILE = "age-key.txt"


class Output(Protocol):
    """Where the demo speaks: a step title, a sentence, or a block shown as is."""

    def step(self, number: int, title: str) -> None: ...

    def say(self, text: str) -> None: ...

    def show(self, text: str) -> None: ...


@dataclass(frozen=True)
class DemoResult:
    """What the demo did, for tests and for the CLI's last words."""

    directory: Path
    sandbox_url: str
    changed: int
    applied: int
    audited_ticket: int
    audit_author: str
    replanned: int


def run_demo(
    out: Output,
    *,
    directory: Path | None = None,
    tickets: int = DEMO_TICKETS,
    port: int = DEMO_PORT,
) -> DemoResult:
    """Run the demo in `directory` (default: a new temp dir, kept for the user to explore)."""
    from runner import secrets
    from runner.sandbox import Sandbox

    workdir = _prepare(directory)
    sops = secrets.locate(env=_sops_env(workdir / KEY_FILE))
    sandbox = Sandbox(tickets=tickets, seed=DEMO_SEED)
    try:
        server = _listen(sandbox, port).start()
    except BaseException:
        sandbox.close()
        raise
    try:
        return _loop(out, workdir, sandbox, server.url, sops, tickets)
    finally:
        server.stop()
        sandbox.close()


def _loop(
    out: Output, workdir: Path, sandbox: Sandbox, url: str, sops: Sops, tickets: int
) -> DemoResult:
    from runner import agekeys, tokens
    from runner.config import load_config
    from runner.init import init_project
    from runner.secrets import Secret

    config = workdir / "config.yaml"
    env = _trust_env()

    out.step(1, "A local Zendesk")
    out.say(f"Working in {workdir}")
    out.say(f"The sandbox serves a seeded account with {tickets} tickets at {url}.")

    out.step(2, "An age key for sops")
    key = agekeys.generate()
    stored = agekeys.append_identity(workdir / KEY_FILE, key)
    out.say(f"New key {stored.recipient}; its private half is in {stored.path} "
            f"(mode {stored.mode:04o}).")
    out.say("In your own repository, `zdops init` makes one in ~/.config/sops/age/keys.txt.")

    out.step(3, "zdops init: config.yaml and .sops.yaml")
    init_project(workdir, recipients=[key.recipient], url=url, sops=sops)
    out.say("config.yaml holds one starter rule; .sops.yaml encrypts only `key` values.")

    out.step(4, "zdops tokens add: two Zendesk tokens, keys encrypted by sops")
    bot, agent = sandbox.bot, sandbox.agent
    for name, user, primary in ((PRIMARY, bot, True), (SECOND, agent, False)):
        minted = Secret(sandbox.credentials(user["email"], "oauth"))
        out.say(tokens.add_token(config, name, email=user["email"], key=minted, kind="oauth",
                                 primary=primary, sops=sops).summary)
    out.show(_tokens_section(config.read_text(encoding="utf-8")))

    out.step(5, "zdops validate (no key, no network)")
    loaded = load_config(config)
    for warning in loaded.warnings:
        out.say(str(warning))
    out.say(f"{config.name}: valid")

    out.step(6, "zdops tokens verify: who will the actions appear as?")
    base_url, checks = tokens.verify_tokens(config, env=env, sops=sops)
    out.say(f"Zendesk  {base_url}")
    for check in checks:
        user = check.user or {}
        role = "primary" if check.primary else "run_as only"
        state = "ok" if check.ok else "FAILED: " + "; ".join(check.problems)
        out.say(f"token {check.name} ({role}) acts as {user.get('name')} <{user.get('email')}>, "
                f"{user.get('role')}: {state}")
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise ZdopsError(f"demo: token verification failed for {', '.join(failed)}.")
    primary_user = f"{bot['name']} <{bot['email']}>"
    out.say(f"Every automated change will show {primary_user} as its author in Zendesk.")

    out.step(7, "zdops plan")
    with _open(config, env, sops) as run:
        plan = run.plan()
        out.show(_render(plan))
        if not plan.changes:
            raise ZdopsError("demo: the first plan found nothing to change in the sandbox.",
                             hint="This is a bug in the demo's data; please report it.")

        out.step(8, "zdops apply --yes")
        applied = _apply(run, plan, out)
    sandbox.wait_for_jobs()

    out.step(9, "The audit Zendesk recorded")
    # the change that touches the most, so the audit shows several kinds of event
    ticket_id = max(plan.changes, key=lambda c: len(c.fields) + len(c.comments)).ticket_id
    author = _show_audit(out, sandbox, ticket_id)

    out.step(10, f"zdops tokens set-primary {SECOND}")
    out.say(tokens.set_primary(config, SECOND, sops=sops).summary)
    out.say("Only a `primary: true` line moved: under mac_only_encrypted no key was needed.")

    out.step(11, "zdops plan, again")
    with _open(config, env, sops) as run:
        replan = run.plan()
    out.show(_render(replan))
    if replan.changes:
        raise ZdopsError(
            f"demo: the second plan still has {len(replan.changes)} change(s) after apply.",
            hint="This is a bug in the demo or the engine; please report it.",
        )
    out.say("Nothing to change: Zendesk already matches the file. That is the reconcile loop.")

    _next_steps(out, workdir, url, tickets)
    return DemoResult(
        directory=workdir,
        sandbox_url=url,
        changed=len(plan.changes),
        applied=applied,
        audited_ticket=ticket_id,
        audit_author=author,
        replanned=len(replan.changes),
    )


# --- steps --------------------------------------------------------------------------------


def _open(config: Path, env: Mapping[str, str], sops: Sops) -> Run:
    from runner.engine.run import RunOptions, open_run

    return open_run(config, RunOptions(env=env, sops=sops))


def _render(plan: Plan) -> str:
    from runner.render.plan_text import render_text

    return render_text(plan).rstrip("\n")


def _apply(run: Run, plan: Plan, out: Output) -> int:
    """Apply the plan just shown, in the same run, as `zdops apply --yes` does."""
    from runner.engine.apply import apply_plan, reevaluator

    reevaluate = reevaluator(run.rules, run.resolver, run.context(),
                             query_matches=run.query_matches, source=run.loaded.filename)
    report = apply_plan(plan, run.clients, reevaluate)
    out.say(report.summary())
    applied = report.counts()["applied"]
    if applied != len(plan.changes) or report.error:
        raise ZdopsError(
            f"demo: apply changed {applied} of {len(plan.changes)} planned tickets"
            f"{': ' + report.error if report.error else ''}.",
            hint="This is a bug in the demo or the engine; please report it.",
        )
    return applied


def _show_audit(out: Output, sandbox: Sandbox, ticket_id: int) -> str:
    audit = sandbox.audits(ticket_id)[-1]
    users = {u["id"]: u for u in sandbox.users}
    author = users.get(audit["author_id"], {})
    who = f"{author.get('name')} <{author.get('email')}>"
    out.say(f"Ticket #{ticket_id}, latest audit {audit['id']} at {audit['created_at']}:")
    out.say(f"  author  {who}")
    for event in audit["events"]:
        out.say("  " + _event_line(event))
    return who


def _event_line(event: Mapping[str, Any]) -> str:
    kind = event.get("type")
    if kind == "Comment":
        visibility = "public comment" if event.get("public") else "internal note"
        return f"{visibility}: {str(event.get('body', '')).strip()}"
    if kind in ("Change", "Create"):
        before, after = event.get("previous_value"), event.get("value")
        return f"{event.get('field_name')}: {before!r} -> {after!r}"
    return str(kind)


def _tokens_section(text: str) -> str:
    """The `tokens:` block of the file, as committed: names in clear, keys as ENC[...]."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("tokens:"))
    end = next((i for i in range(start + 1, len(lines))
                if lines[i] and not lines[i].startswith((" ", "-", "#"))), len(lines))
    return "\n".join(_shorten(line) for line in lines[start:end])


def _shorten(line: str, width: int = 96) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."


def _next_steps(out: Output, workdir: Path, url: str, tickets: int) -> None:
    out.step(12, "What to try next")
    # config.yaml names the demo's own port, so the sandbox must come back on that one: when
    # 8765 was busy a bare `zdops sandbox` would fail on it, or answer for another account.
    port = urlsplit(url).port
    flag = "" if port == DEMO_PORT else f" --port {port}"
    out.show(
        "\n".join(
            [
                f"The files are in {workdir}. To keep playing with them:",
                f"  cd {workdir}",
                f"  export SOPS_AGE_KEY_FILE=$PWD/{KEY_FILE}   # the demo's key, for these files",
                f"  zdops sandbox --tickets {tickets}{flag} &   "
                f"# the same account and keys, at {url}",
                "  zdops tokens verify",
                "  zdops plan                                   # edit config.yaml, plan again",
                "  zdops apply",
                "Your own account: `zdops init` in a new git repository, then "
                "`zdops tokens add` (see the README).",
                f"When done: rm -rf {workdir}",
            ]
        )
    )


# --- set-up -------------------------------------------------------------------------------


def _prepare(directory: Path | None) -> Path:
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="zdops-demo-"))
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ZdopsError(f"{directory} is not an empty directory.",
                         hint="Give --dir a new or empty directory, or leave it out.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ZdopsError(f"cannot create the directory {directory}: {error.strerror or error}.",
                         hint="Give --dir a new or empty directory you can write to, or leave "
                         "it out.") from None
    return directory


def _listen(sandbox: Sandbox, port: int) -> Server:
    """A server on `port` (so the printed next steps work), or on any free port if it is taken.

    Binding is the test: a probe first would leave a window for another process to take it.
    """
    from runner.sandbox import Server

    failure = ""
    for candidate in dict.fromkeys((port, 0)):
        try:
            return Server(sandbox, candidate)
        except OSError as error:
            failure = error.strerror or str(error)
    raise ZdopsError(
        f"demo: cannot listen on 127.0.0.1: {failure}.",
        hint="Check that the loopback interface is up, or pass another --port.",
    )


def _trust_env() -> dict[str, str]:
    # The demo talks only to its own loopback sandbox: a caller's CI pinning must not refuse it.
    return {k: v for k, v in os.environ.items()
            if k not in ("ZDOPS_SUBDOMAIN", "ZDOPS_ALLOW_HOSTS")}


def _sops_env(key_file: Path) -> dict[str, str]:
    """The environment of the demo's sops children: its own key file, no other key variable."""
    env = {k: v for k, v in os.environ.items() if k != "SOPS_AGE_KEY"}
    env["SOPS_AGE_KEY_FILE"] = str(key_file)
    return env
