"""A saved plan (`zdops plan --out`) is applied only while it still fits what it was made from.

Two checks: `check_before_decrypting` (the same config digest, the same Zendesk, within the
run's budget) runs before any key is decrypted; `check_against_run` (nothing changed while the
run was starting, and every token still acts as the identity the plan shows) runs after
users/me has answered.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import PlanError

if TYPE_CHECKING:
    from runner.engine.plan import Plan
    from runner.engine.run import Run, RunOptions


def is_saved_plan(path: Path) -> bool:
    """Whether `path` holds a saved plan rather than a config, as its one argument to apply.

    A plan is a JSON object whose "format" is the plan format; a config never is one (even one
    written as JSON: the loader rejects unknown keys). Parsed, not pattern-matched, so a plan
    whose keys were reordered (`jq -S`) or that starts with a BOM is still recognised.
    """
    import json

    from runner.engine.plan import FORMAT

    try:
        with path.open("rb") as stream:
            if stream.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{":
                return False  # YAML: not worth reading further
            stream.seek(0)
            data = json.loads(stream.read().decode("utf-8-sig"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def read_plan(path: Path) -> Plan:
    """The plan in `path`; PlanError when it is unreadable, corrupt or tampered with."""
    from runner.engine.plan import Plan

    try:
        text = path.read_bytes()
    except OSError as error:
        raise PlanError(
            f"{path}: cannot read the plan: {error.strerror or error}.",
            hint="Pass the file written by `zdops plan --out`.",
        ) from None
    return Plan.from_json(text, source=str(path))


def check_before_decrypting(plan: Plan, path: Path, options: RunOptions, source: str) -> None:
    """Refuse a plan that does not fit the config before any key is decrypted."""
    from runner.config import load_config
    from runner.trust import check_destination

    loaded = load_config(path)
    if loaded.digest != plan.config_digest:
        raise PlanError(
            f"{source}: the plan was made from a different version of {loaded.filename} "
            f"(config digest {plan.config_digest}, the file now has {loaded.digest}); "
            "nothing was changed.",
            hint="Make a fresh plan from the current config with `zdops plan --out`, review "
            "it, and apply that.",
        )
    env = os.environ if options.env is None else options.env
    url = check_destination(loaded.config.zendesk, allow_hosts=options.allow_hosts, env=env)
    _check_url(plan, url, source)
    budget = options.budget()
    if len(plan.changes) > budget:
        raise PlanError(
            f"{source}: the plan changes {len(plan.changes)} tickets, more than this run's "
            f"budget of {budget}; nothing was changed.",
            hint=f"If that is intended, pass --max-changes {len(plan.changes)}.",
        )


def check_against_run(plan: Plan, run: Run, source: str) -> None:
    """The plan's identities must be who the tokens act as today (users/me just said)."""
    if run.loaded.digest != plan.config_digest:  # the file changed since the first check
        raise PlanError(
            f"{source}: {run.loaded.filename} changed while apply was starting; nothing was "
            "changed.",
            hint="Make a fresh plan with `zdops plan --out` and apply that.",
        )
    _check_url(plan, run.base_url, source)
    for identity in (plan.identity, *plan.run_as):
        now = run.identities.get(identity.token)
        if now is None or now.email.lower() != identity.email.lower():
            acting = now.email if now else "nobody"
            raise PlanError(
                f'{source}: the plan acts as {identity.email} with token "{identity.token}", '
                f"but that token now acts as {acting}; nothing was changed.",
                hint="Make a fresh plan with `zdops plan --out` and review it.",
            )


def _check_url(plan: Plan, url: str, source: str) -> None:
    if plan.zendesk_url.rstrip("/") != url.rstrip("/"):
        raise PlanError(
            f"{source}: the plan was made for {plan.zendesk_url}, but the config points at "
            f"{url}; nothing was changed.",
            hint="Apply a plan only to the Zendesk it was made for: make a fresh one.",
        )
