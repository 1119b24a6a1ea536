"""`zdops plan` end to end: CLI -> real sops -> trust -> users/me -> search export -> plan.

Every test runs against the sandbox served on 127.0.0.1 with a config encrypted by the real sops
binary and tokens minted by the sandbox. Expected counts are worked out independently, from the
sandbox's Python API, never from the plan itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from fixtures_reconcile import (
    BILLING_RULE,
    REFUND_NOTE_RULE,
    Configure,
    api_token,
    assert_no_secret,
    config_factory,
    group_id,
    open_with_tag,
    refused,
    rules_yaml,
    run_as,
    tickets,
    zdops,
)
from fixtures_sandbox import ServedSandbox
from fixtures_sops import EncryptedConfig, MakeConfig

from runner.engine.plan import Plan


def plan_json(result: Result) -> dict[str, Any]:
    assert result.exit_code in (0, 2), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def refused_plan(sandbox: ServedSandbox, config: EncryptedConfig, *args: str) -> Result:
    """`zdops plan` that must stop on a clear error, counted from a fresh sandbox tally."""
    sandbox.sb.reset_stats()
    return refused("plan", str(config.path), *args)


def ticket_reads(sandbox: ServedSandbox) -> dict[str, int]:
    """Requests to any endpoint that returns tickets (search, show, list, export)."""
    by_endpoint = sandbox.sb.stats()["by_endpoint"]
    return {
        name: entry["total"]
        for name, entry in by_endpoint.items()
        if "ticket" in name.lower() or "search" in name.lower()
    }


# --- the plan itself ------------------------------------------------------------------------


def test_plan_names_where_and_as_whom_then_counts_per_rule(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    config = configure(rules_yaml(BILLING_RULE, REFUND_NOTE_RULE))
    result = zdops("plan", str(config.path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    bot = sandbox.bot
    assert lines[0] == f"Zendesk  {sandbox.url}"
    assert lines[1] == (
        f'Acting as  {bot["name"]} <{bot["email"]}> ({bot["role"]}) — token "bot", primary'
    )
    billing = open_with_tag(sandbox, "billing")
    refunds = open_with_tag(sandbox, "refund")
    assert billing and refunds
    assert f"rule route-billing — {len(billing)} of {len(billing)} matching tickets change" in (
        result.stdout
    )
    assert f"rule note-refunds — {len(refunds)} of {len(refunds)} matching tickets change" in (
        result.stdout
    )
    assert f"#{billing[0]['id']} {billing[0]['subject']}" in result.stdout
    changed = {t["id"] for t in billing} | {t["id"] for t in refunds}
    assert f"Plan: {len(changed)} tickets to change by 2 rules" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colour
    assert_no_secret(config, result)


def test_json_plan_counts_reads_and_changes_independently(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    config = configure(rules_yaml(BILLING_RULE, REFUND_NOTE_RULE))
    data = plan_json(zdops("plan", str(config.path), "--format", "json"))
    assert data["format"] == "zdops-plan" and data["zendesk_url"] == sandbox.url
    assert data["identity"]["email"] == sandbox.bot["email"]
    billing = open_with_tag(sandbox, "billing")
    refunds = open_with_tag(sandbox, "refund")
    summaries = {r["name"]: r for r in data["rules"]}
    assert summaries["route-billing"]["read"] == len(billing)
    assert summaries["note-refunds"]["read"] == len(refunds)
    billing_group = group_id(sandbox, "Billing")
    by_id = {c["ticket_id"]: c for c in data["changes"]}
    for ticket in billing:
        change = by_id[ticket["id"]]
        assert change["updated_at"] == ticket["updated_at"]
        assert "billing-routed" in change["tags_added"]
        group = [f for f in change["fields"] if f["field"] == "group"]
        if ticket["group_id"] == billing_group:
            assert group == []
        else:
            assert group[0]["before"] == ticket["group_id"] and group[0]["after"] == billing_group
    for ticket in refunds:
        (comment,) = by_id[ticket["id"]]["comments"]
        assert comment["body"] == f"Refund noted by note-refunds on #{ticket['id']}."
        assert comment["public"] is False


def test_later_rule_sees_earlier_rules_effects(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    # The second rule's query selects what the first rule tags: search results cannot know that,
    # so only re-checking the query on the simulated tickets finds them.
    follow_up = """
      - name: follow-routed
        when:
          query: 'tags:billing-routed'
        actions:
          priority: high
    """
    config = configure(rules_yaml(BILLING_RULE, follow_up))
    data = plan_json(zdops("plan", str(config.path), "--format", "json"))
    billing = open_with_tag(sandbox, "billing")
    summaries = {r["name"]: r for r in data["rules"]}
    assert summaries["follow-routed"]["read"] == 0
    expected = [t for t in billing if t["priority"] != "high"]
    assert summaries["follow-routed"]["changing"] == len(expected)


def test_rule_filter_plans_only_the_named_rules(configure: Configure) -> None:
    config = configure(rules_yaml(BILLING_RULE, REFUND_NOTE_RULE))
    data = plan_json(zdops("plan", str(config.path), "--rule", "note-refunds", "--format", "json"))
    assert [r["name"] for r in data["rules"]] == ["note-refunds"]
    assert all(c["rules"] == ["note-refunds"] for c in data["changes"])
    unknown = refused("plan", str(config.path), "--rule", "nope")
    assert "no rule named 'nope'" in unknown.stderr and "route-billing" in unknown.stderr


def test_out_writes_the_plan_apply_reads(sandbox: ServedSandbox, configure: Configure) -> None:
    config = configure()
    out = config.directory / "plan.json"
    result = zdops("plan", str(config.path), "--out", str(out))
    assert result.exit_code == 0, result.output
    saved = Plan.from_json(out.read_text(), source=str(out))  # verifies the checksum
    assert saved.zendesk_url == sandbox.url
    assert saved.ticket_count == len(open_with_tag(sandbox, "billing"))
    assert [p.name for p in config.directory.iterdir() if p.name.startswith(".plan.json")] == []
    assert f"Saved the plan to {out}" in result.stderr
    assert_no_secret(config, result)
    assert all(secret not in out.read_text() for secret in config.keys.values())


def test_out_into_a_missing_directory_is_a_clear_error(configure: Configure) -> None:
    config = configure()
    result = refused("plan", str(config.path), "--out", str(config.directory / "no" / "p.json"))
    assert "--out" in result.stderr


def test_markdown_format(sandbox: ServedSandbox, configure: Configure) -> None:
    config = configure()
    result = zdops("plan", str(config.path), "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("### zdops plan")
    assert "route-billing" in result.stdout
    billing = open_with_tag(sandbox, "billing")
    assert billing[0]["subject"] not in result.stdout  # no subjects in a PR comment by default


def test_detailed_exitcode_is_2_with_changes_and_0_without(configure: Configure) -> None:
    config = configure()
    assert zdops("plan", str(config.path), "--detailed-exitcode").exit_code == 2
    nothing_to_do = """
      - name: keep-open
        when:
          query: 'status:open'
        actions:
          status: open
    """
    idle = configure(rules_yaml(nothing_to_do))
    result = zdops("plan", str(idle.path), "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "Plan: no changes" in result.stdout
    assert zdops("plan", str(idle.path)).exit_code == 0


def test_limit_hit_plans_none_and_says_why(sandbox: ServedSandbox, configure: Configure) -> None:
    limited = BILLING_RULE + "    limit: 3\n"
    config = configure(rules_yaml(limited))
    result = zdops("plan", str(config.path), "--detailed-exitcode")
    # nothing is planned, but the file asks for work it holds back: not in sync
    assert result.exit_code == 2, result.output
    would = len(open_with_tag(sandbox, "billing"))
    assert would > 3
    assert f"would change {would} tickets, more than its limit of 3" in result.stdout
    assert f"--limit-override {would}" in result.stdout
    overridden = zdops("plan", str(config.path), "--limit-override", str(would), "--format",
                       "json")
    assert len(plan_json(overridden)["changes"]) == would


def test_run_wide_budget(sandbox: ServedSandbox, configure: Configure) -> None:
    config = configure()
    data = plan_json(zdops("plan", str(config.path), "--max-changes", "2", "--format", "json"))
    (summary,) = data["rules"]
    assert data["changes"] == [] and "over the run's budget of 2" in summary["blocked"]


# --- refused before anything is read --------------------------------------------------------


def test_unknown_group_names_rule_and_group_before_any_search(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    bad = BILLING_RULE.replace("group: Billing", "group: Bilink")
    config = configure(rules_yaml(bad))
    result = refused_plan(sandbox, config)
    assert 'rule "route-billing"' in result.stderr and "'Bilink'" in result.stderr
    assert not any("search" in name for name in ticket_reads(sandbox))


@pytest.mark.parametrize("who", ["end_user", "light_agent"])
def test_identity_that_cannot_change_tickets_is_refused(
    sandbox: ServedSandbox, configure: Configure, who: str
) -> None:
    user = getattr(sandbox, who)
    config = configure(primary=user["email"])
    result = refused_plan(sandbox, config)
    assert 'token "bot"' in result.stderr
    assert ("end-user" if who == "end_user" else "light agent") in result.stderr
    assert ticket_reads(sandbox) == {}
    assert_no_secret(config, result)


def test_declared_email_must_match_the_identity(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    # the key acts as jane, but the file says it is the bot's
    config = configure(key=sandbox.credentials(sandbox.agent["email"]))
    result = refused_plan(sandbox, config)
    assert sandbox.agent["email"] in result.stderr and sandbox.bot["email"] in result.stderr
    assert ticket_reads(sandbox) == {}


@pytest.mark.parametrize("kind", ["oauth", "api_token"])
def test_wrong_key_is_refused_before_any_read(
    sandbox: ServedSandbox, configure: Configure, kind: str
) -> None:
    config = configure(kind=kind, key="not-the-key-4242xyz")
    result = refused_plan(sandbox, config)
    assert 'token "bot"' in result.stderr
    assert "Zendesk rejected the key (401): it is wrong, revoked or expired" in result.stderr
    assert ("is not a user of this account" in result.stderr) == (kind == "api_token")
    assert "zdops tokens remove bot" in result.stderr
    assert ticket_reads(sandbox) == {}
    assert_no_secret(config, result)


def test_plain_http_to_another_host_is_refused_before_decrypting(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    config = configure(url="http://zendesk.example.net")
    result = refused_plan(sandbox, config, "--allow-host", "zendesk.example.net")
    assert f"{config.path}:3:" in result.stderr and "plain http" in result.stderr.lower()
    assert sandbox.sb.stats()["requests"] == 0
    assert_no_secret(config, result)


def test_https_host_not_allowed_from_outside_the_file_is_refused(
    sandbox: ServedSandbox, configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configure(url="https://zendesk.example.net")
    result = refused_plan(sandbox, config)
    assert "no token will be sent there" in result.stderr
    assert "--allow-host zendesk.example.net" in result.stderr
    monkeypatch.setenv("ZDOPS_SUBDOMAIN", "acme")
    pinned = refused("plan", str(configure().path))  # the sandbox URL, but CI pins acme
    assert "ZDOPS_SUBDOMAIN pins this run" in pinned.stderr
    assert sandbox.sb.stats()["requests"] == 0
    assert_no_secret(config, result, pinned)


def test_run_as_token_is_verified_and_shown(sandbox: ServedSandbox, configure: Configure) -> None:
    jane = sandbox.agent
    config = configure(
        rules_yaml(BILLING_RULE, run_as(REFUND_NOTE_RULE, "jane")),
        extra_tokens=[api_token(sandbox, "jane", jane)],
    )
    result = zdops("plan", str(config.path))
    assert result.exit_code == 0, result.output
    assert f'as {jane["name"]} <{jane["email"]}> (agent) — token "jane", run_as' in result.stdout
    assert_no_secret(config, result)


# --- reading everything -----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["'status<solved'", None])
def test_more_than_1000_matches_are_all_read_through_search_export(
    sandbox_factory: Callable[..., ServedSandbox], make_config: MakeConfig, query: str | None
) -> None:
    big = sandbox_factory(tickets=2600)
    when = f"query: {query}" if query else (
        "all:\n          - {field: subject, operator: contains, value: Invoice}"
    )
    rule = f"""
      - name: every-invoice
        when:
          {when}
        actions:
          tags: {{add: [invoice-seen]}}
        limit: 5000
    """
    config = config_factory(big, make_config)(rules_yaml(rule))
    big.sb.reset_stats()
    result = zdops("plan", str(config.path), "--format", "json", "--max-changes", "5000")
    data = plan_json(result)
    [summary] = data["rules"]
    assert ("reads every open ticket" in (summary["note"] or "")) == (query is None)
    everything = tickets(big)
    if query:
        selected = [t for t in everything if t["status"] in ("new", "open", "pending", "hold")]
    else:
        selected = [t for t in everything if t["status"] != "closed"]
    assert len(selected) > 1000
    (summary,) = data["rules"]
    assert summary["read"] == len(selected)
    if query:
        assert summary["matched"] == summary["changing"] == len(selected)
    else:
        invoices = [t for t in selected if "invoice" in t["subject"].lower()]
        assert 0 < summary["matched"] == summary["changing"] == len(invoices)
    assert (summary["note"] is None) == bool(query)
    endpoints = big.sb.stats()["by_endpoint"]
    exports = [e["total"] for name, e in endpoints.items() if "export" in name]
    assert exports and exports[0] >= 2  # 1,000 per page: more than one page was read
    assert not [name for name in endpoints if "search" in name and "export" not in name]


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from runner.cli.plan import use_color

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert use_color()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color()
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not use_color()


def test_out_never_overwrites_the_config(sandbox: ServedSandbox, configure: Configure) -> None:
    config = configure()
    before = config.path.read_bytes()
    sandbox.sb.reset_stats()
    result = refused("plan", str(config.path), "--out", str(config.path))
    assert f"--out {config.path} is the config this run reads" in result.stderr
    assert "plan.json" in result.stderr
    assert config.path.read_bytes() == before
    assert sandbox.sb.stats()["requests"] == 0
