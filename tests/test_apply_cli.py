"""`zdops apply` end to end: CLI -> real sops -> users/me -> plan -> update_many -> sandbox.

Every test runs against the sandbox served on 127.0.0.1 with a config encrypted by the real sops
binary and tokens minted by the sandbox. What changed is checked through the sandbox's own
Python API (tickets and audits), never only through zdops' own report.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fixtures_sandbox import ServedSandbox
from fixtures_sops import EncryptedConfig, MakeConfig

from runner.cli import main

BILLING_RULE = """
  - name: route-billing
    when:
      query: 'tags:billing'
      all:
        - {field: tags, operator: not_includes, value: billing-routed}
    actions:
      group: Billing
      tags: {add: [billing-routed]}
"""

REFUND_NOTE_RULE = """
  - name: note-refunds
    when:
      query: 'tags:refund'
      all:
        - {field: tags, operator: not_includes, value: refund-noted}
    actions:
      tags: {add: [refund-noted]}
      comment: {body: "Refund noted by {{rule.name}} on #{{ticket.id}}.", public: false}
"""


def rules_yaml(*rules: str) -> str:
    return "rules:\n" + "".join(textwrap.indent(textwrap.dedent(rule), "  ") for rule in rules)


Configure = Callable[..., EncryptedConfig]


@pytest.fixture
def configure(sandbox: ServedSandbox, make_config: MakeConfig) -> Configure:
    """configure(rules, extra_tokens=...) -> a config for the sandbox, encrypted by sops."""

    def make(
        rules: str = rules_yaml(BILLING_RULE), *, extra_tokens: Iterable[Mapping[str, object]] = ()
    ) -> EncryptedConfig:
        email = sandbox.bot["email"]
        tokens: list[Mapping[str, object]] = [
            {"name": "bot", "email": email, "kind": "oauth",
             "key": sandbox.credentials(email), "primary": True},
            *extra_tokens,
        ]
        return make_config(tokens, zendesk=f"url: {sandbox.url}", rules=rules)

    return make


def zdops(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def open_tickets(sandbox: ServedSandbox, tag: str) -> list[dict[str, Any]]:
    found = (sandbox.sb.ticket(i) for i in range(1, sandbox.sb.ticket_count + 1))
    return [t for t in found if t["status"] != "closed" and tag in t["tags"]]


def billing_targets(sandbox: ServedSandbox) -> list[int]:
    return [t["id"] for t in open_tickets(sandbox, "billing") if "billing-routed" not in t["tags"]]


def saved_plan(config: EncryptedConfig, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "plan.json"
    result = zdops("plan", str(config.path), "--out", str(out))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(out.read_text())
    return out, data


def read_report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    assert data["format"] == "zdops-apply-report" and data["version"] == 1
    return data


def outcomes(report: Mapping[str, Any]) -> dict[int, str]:
    return {t["ticket_id"]: t["outcome"] for t in report["tickets"]}


def audits_by(sandbox: ServedSandbox, ticket_id: int, user_id: int) -> list[dict[str, Any]]:
    return [a for a in sandbox.sb.audits(ticket_id) if a["author_id"] == user_id]


def assert_no_secret(config: EncryptedConfig, *texts: str) -> None:
    for secret in [*config.keys.values(), config.key.identity]:
        for text in texts:
            assert secret not in text


def billing_id(sandbox: ServedSandbox) -> int:
    return next(g["id"] for g in sandbox.sb.groups if g["name"] == "Billing")


# --- the loop: plan, apply, plan again -------------------------------------------------------


def test_apply_then_plan_again_finds_nothing(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    targets = billing_targets(sandbox)
    assert len(targets) > 5
    report_path = tmp_path / "report.json"
    result = zdops("apply", str(config.path), "--yes", "--report", str(report_path))
    assert result.exit_code == 0, result.output
    assert f"Applied: {len(targets)} tickets changed, 0 failed, 0 skipped (stale)." in (
        result.stdout
    )
    # the fresh plan is shown before it is applied
    assert "rule route-billing" in result.stdout

    report = read_report(report_path)
    assert outcomes(report) == dict.fromkeys(targets, "applied")
    assert report["counts"]["applied"] == len(targets)
    for ticket_id in targets:
        ticket = sandbox.sb.ticket(ticket_id)
        assert ticket["group_id"] == billing_id(sandbox)
        assert "billing-routed" in ticket["tags"]
        # Zendesk records the primary token's user as the author of the change
        assert audits_by(sandbox, ticket_id, sandbox.bot["id"])

    again = zdops("plan", str(config.path), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    second = zdops("apply", str(config.path), "--yes", "--report", str(report_path))
    assert second.exit_code == 0, second.output
    assert "Nothing to apply" in second.stdout
    assert read_report(report_path)["tickets"] == []
    assert_no_secret(config, result.output, second.output, report_path.read_text())


def test_apply_refuses_to_wait_for_an_answer_without_a_terminal(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    config = configure()
    before = sandbox.sb.stats()["requests"]
    result = zdops("apply", str(config.path), input="y\n")
    assert result.exit_code == 1
    assert "stdin is not a terminal" in result.stderr and "--yes" in result.stderr
    assert "Traceback" not in result.output
    assert sandbox.sb.stats()["requests"] == before  # refused before anything was read
    assert all("billing-routed" not in sandbox.sb.ticket(i)["tags"]
               for i in billing_targets(sandbox))


# --- saved plans -----------------------------------------------------------------------------


def test_saved_plan_is_applied_exactly(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure(rules_yaml(BILLING_RULE, REFUND_NOTE_RULE))
    plan_path, plan = saved_plan(config, tmp_path)
    planned = {c["ticket_id"] for c in plan["changes"]}
    assert planned
    report_path = tmp_path / "report.json"
    # a saved plan was reviewed already: no --yes needed, even without a terminal
    result = zdops("apply", str(config.path), str(plan_path), "--report", str(report_path))
    assert result.exit_code == 0, result.output
    report = read_report(report_path)
    assert report["plan_checksum"] == plan["checksum"]
    assert outcomes(report) == dict.fromkeys(planned, "applied")
    for change in plan["changes"]:
        ticket = sandbox.sb.ticket(change["ticket_id"])
        assert set(change["tags_added"]) <= set(ticket["tags"])
        notes = [c for c in sandbox.sb.comments(change["ticket_id"])
                 if c["body"].startswith("Refund noted by note-refunds")]
        assert len(notes) == len(change["comments"])

    again = zdops("plan", str(config.path), "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_saved_plan_is_refused_after_the_config_changed(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, _ = saved_plan(config, tmp_path)
    configure(rules_yaml(REFUND_NOTE_RULE))  # the same file, now with other rules
    before = sandbox.sb.stats()["requests"]
    result = zdops("apply", str(config.path), str(plan_path), "--yes")
    assert result.exit_code == 1
    assert "different version" in result.stderr and "zdops plan --out" in result.stderr
    assert sandbox.sb.stats()["requests"] == before  # refused before decrypting or reading
    assert all("billing-routed" not in sandbox.sb.ticket(i)["tags"]
               for i in billing_targets(sandbox))


def test_tampered_plan_is_refused(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, plan = saved_plan(config, tmp_path)
    plan["changes"][0]["tags_added"] = ["something-else"]
    plan_path.write_text(json.dumps(plan))
    result = zdops("apply", str(config.path), str(plan_path), "--yes")
    assert result.exit_code == 1
    assert "checksum" in result.stderr and "Traceback" not in result.output
    assert not any("something-else" in sandbox.sb.ticket(c["ticket_id"])["tags"]
                   for c in plan["changes"])


def test_saved_plan_over_the_budget_needs_max_changes(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, plan = saved_plan(config, tmp_path)
    count = len(plan["changes"])
    refused = zdops("apply", str(config.path), str(plan_path), "--max-changes", str(count - 1))
    assert refused.exit_code == 1
    assert f"--max-changes {count}" in refused.stderr
    allowed = zdops("apply", str(config.path), str(plan_path), "--max-changes", str(count))
    assert allowed.exit_code == 0, allowed.output


# --- stale tickets ---------------------------------------------------------------------------


def test_ticket_edited_since_the_plan(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, plan = saved_plan(config, tmp_path)
    ids = [c["ticket_id"] for c in plan["changes"]]
    no_longer, unrelated = ids[0], ids[1]
    admin = sandbox.client(sandbox.admin["email"])
    # someone takes the billing tag off: the rule no longer selects the ticket
    response = admin.put(f"/api/v2/tickets/{no_longer}.json",
                         json={"ticket": {"remove_tags": ["billing"]}})
    assert response.status_code == 200, response.text
    # an agent adds a note: the same change is still right
    assert sandbox.sb.agent_edit(unrelated) is not None
    group_before = sandbox.sb.ticket(no_longer)["group_id"]

    report_path = tmp_path / "report.json"
    result = zdops("apply", str(config.path), str(plan_path), "--report", str(report_path))
    assert result.exit_code == 0, result.output  # a skipped ticket is not a failure
    assert "1 skipped (stale)" in result.stdout
    report = read_report(report_path)
    by_id = {t["ticket_id"]: t for t in report["tickets"]}
    assert by_id[no_longer]["outcome"] == "skipped-stale"
    assert "no longer select" in by_id[no_longer]["message"]
    stale = sandbox.sb.ticket(no_longer)
    assert stale["group_id"] == group_before and "billing-routed" not in stale["tags"]

    assert by_id[unrelated]["outcome"] == "applied"
    assert "re-checked" in by_id[unrelated]["message"]
    assert sandbox.sb.ticket(unrelated)["group_id"] == billing_id(sandbox)
    assert all(by_id[i]["outcome"] == "applied" for i in ids[2:])


def test_ticket_already_changed_by_someone_else_is_unchanged(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure(rules_yaml(BILLING_RULE.replace(
        "group: Billing\n      tags: {add: [billing-routed]}", "priority: high")))
    plan_path, plan = saved_plan(config, tmp_path)
    done_by_hand = plan["changes"][0]["ticket_id"]
    admin = sandbox.client(sandbox.admin["email"])
    response = admin.put(f"/api/v2/tickets/{done_by_hand}.json",
                         json={"ticket": {"priority": "high"}})
    assert response.status_code == 200, response.text
    report_path = tmp_path / "report.json"
    result = zdops("apply", str(config.path), str(plan_path), "--report", str(report_path))
    assert result.exit_code == 0, result.output
    assert outcomes(read_report(report_path))[done_by_hand] == "unchanged"
    assert not audits_by(sandbox, done_by_hand, sandbox.bot["id"])


# --- overlapping rules, closed tickets, authorship -------------------------------------------


def test_overlapping_rules_merge_into_one_update_per_ticket(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    high = """
      - name: billing-high
        when: {query: 'tags:billing'}
        actions: {priority: high, tags: {add: [seen-billing]}}
    """
    urgent = """
      - name: vip-urgent
        when: {query: 'tags:vip'}
        actions: {priority: urgent}
    """
    config = configure(rules_yaml(high, urgent))
    both = {t["id"] for t in open_tickets(sandbox, "billing")} & {
        t["id"] for t in open_tickets(sandbox, "vip")}
    assert both, "the seed should have open tickets tagged both billing and vip"
    audits_before = {i: len(sandbox.sb.audits(i)) for i in both}
    report_path = tmp_path / "report.json"
    result = zdops("apply", str(config.path), "--yes", "--report", str(report_path))
    assert result.exit_code == 0, result.output
    for ticket_id in both:
        ticket = sandbox.sb.ticket(ticket_id)
        assert ticket["priority"] == "urgent" and "seen-billing" in ticket["tags"]
        assert len(sandbox.sb.audits(ticket_id)) == audits_before[ticket_id] + 1
    assert zdops("plan", str(config.path), "--detailed-exitcode").exit_code == 0


def test_closed_since_the_plan_fails_with_zendesks_message(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, plan = saved_plan(config, tmp_path)
    closable = next(c["ticket_id"] for c in plan["changes"]
                    if sandbox.sb.ticket(c["ticket_id"])["assignee_id"])
    admin = sandbox.client(sandbox.admin["email"])
    response = admin.put(f"/api/v2/tickets/{closable}.json", json={"ticket": {"status": "closed"}})
    assert response.status_code == 200, response.text
    report_path = tmp_path / "report.json"
    result = zdops("apply", str(config.path), str(plan_path), "--report", str(report_path))
    assert result.exit_code == 1
    assert "1 failed" in result.stdout
    assert f"#{closable} failed" in result.stderr
    entry = next(t for t in read_report(report_path)["tickets"] if t["ticket_id"] == closable)
    assert entry["outcome"] == "failed"
    assert "closed prevents ticket update" in entry["message"]
    others = [t for t in read_report(report_path)["tickets"] if t["ticket_id"] != closable]
    assert others and all(t["outcome"] == "applied" for t in others)


def test_run_as_records_the_other_tokens_user_as_author(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    jane = sandbox.agent
    as_jane = REFUND_NOTE_RULE.replace("    when:", "    run_as: jane\n    when:", 1)
    config = configure(
        rules_yaml(BILLING_RULE, as_jane),
        extra_tokens=[{"name": "jane", "email": jane["email"], "kind": "api_token",
                       "key": sandbox.credentials(jane["email"], "api_token")}],
    )
    plan_path, plan = saved_plan(config, tmp_path)
    result = zdops("apply", str(config.path), str(plan_path))
    assert result.exit_code == 0, result.output
    for change in plan["changes"]:
        author = jane["id"] if change["token"] == "jane" else sandbox.bot["id"]
        latest = sandbox.sb.audits(change["ticket_id"])[-1]
        assert latest["author_id"] == author
    assert {c["token"] for c in plan["changes"]} == {"bot", "jane"}
    assert_no_secret(config, result.output)


def test_a_rule_over_its_limit_changes_nothing_until_overridden(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    limited = BILLING_RULE + "    limit: 2\n"
    config = configure(rules_yaml(limited))
    targets = billing_targets(sandbox)
    assert len(targets) > 2
    blocked = zdops("apply", str(config.path), "--yes")
    assert blocked.exit_code == 0, blocked.output
    assert "Nothing to apply" in blocked.stdout and "--limit-override" in blocked.output
    assert all("billing-routed" not in sandbox.sb.ticket(i)["tags"] for i in targets)

    over_budget = zdops("apply", str(config.path), "--yes", "--limit-override", "500",
                        "--max-changes", "2")
    assert over_budget.exit_code == 0, over_budget.output
    assert "Nothing to apply" in over_budget.stdout and "--max-changes" in over_budget.output

    allowed = zdops("apply", str(config.path), "--yes", "--limit-override", str(len(targets)))
    assert allowed.exit_code == 0, allowed.output
    assert f"Applied: {len(targets)} tickets changed" in allowed.stdout
