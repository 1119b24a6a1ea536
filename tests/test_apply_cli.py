"""`zdops apply` end to end: CLI -> real sops -> users/me -> plan -> update_many -> sandbox.

Every test runs against the sandbox served on 127.0.0.1 with a config encrypted by the real sops
binary and tokens minted by the sandbox. What changed is checked through the sandbox's own
Python API (tickets and audits), never only through zdops' own report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fixtures_reconcile import (
    BILLING_RULE,
    REFUND_NOTE_RULE,
    Configure,
    api_token,
    apply_with_report,
    assert_no_secret,
    billing_targets,
    group_id,
    open_with_tag,
    outcomes,
    read_report,
    refused,
    routed,
    rules_yaml,
    run_as,
    saved_plan,
    zdops,
)
from fixtures_sandbox import ServedSandbox


def audits_by(sandbox: ServedSandbox, ticket_id: int, user_id: int) -> list[dict[str, Any]]:
    return [a for a in sandbox.sb.audits(ticket_id) if a["author_id"] == user_id]


# --- the loop: plan, apply, plan again -------------------------------------------------------


def test_apply_then_plan_again_finds_nothing(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    targets = billing_targets(sandbox)
    assert len(targets) > 5
    result, report_path = apply_with_report(config, tmp_path, "--yes")
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
        assert ticket["group_id"] == group_id(sandbox, "Billing")
        assert "billing-routed" in ticket["tags"]
        # Zendesk records the primary token's user as the author of the change
        assert audits_by(sandbox, ticket_id, sandbox.bot["id"])

    again = zdops("plan", str(config.path), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    second, _ = apply_with_report(config, tmp_path, "--yes")
    assert second.exit_code == 0, second.output
    assert "Nothing to apply" in second.stdout
    assert read_report(report_path)["tickets"] == []
    assert_no_secret(config, result.output, second.output, report_path.read_text())


def test_apply_refuses_to_wait_for_an_answer_without_a_terminal(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    config = configure()
    targets = billing_targets(sandbox)
    before = sandbox.sb.stats()["requests"]
    result = refused("apply", str(config.path), input="y\n")
    assert "stdin is not a terminal" in result.stderr and "--yes" in result.stderr
    assert sandbox.sb.stats()["requests"] == before  # refused before anything was read
    assert targets and routed(sandbox, targets) == []


# --- saved plans -----------------------------------------------------------------------------


def test_saved_plan_is_applied_exactly(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure(rules_yaml(BILLING_RULE, REFUND_NOTE_RULE))
    plan_path, plan = saved_plan(config, tmp_path)
    planned = {c["ticket_id"] for c in plan["changes"]}
    assert planned
    # a saved plan was reviewed already: no --yes needed, even without a terminal
    result, report_path = apply_with_report(config, tmp_path, str(plan_path))
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


def test_the_saved_plan_alone_applies_with_the_default_config(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path, monkeypatch: Any
) -> None:
    # `zdops plan --out plan.json` with the default config says how to apply it; that command,
    # and the shorter `zdops apply plan.json`, must read plan.json as the plan, not the config
    config = configure()
    monkeypatch.setenv("ZDOPS_CONFIG", str(config.path))
    plan_path = tmp_path / "plan.json"
    made = zdops("plan", "--out", str(plan_path))
    assert made.exit_code == 0, made.output
    assert f"`zdops apply {config.path} {plan_path}`" in made.stderr
    planned = {c["ticket_id"] for c in json.loads(plan_path.read_text())["changes"]}
    assert planned
    result = zdops("apply", str(plan_path), "--report", str(tmp_path / "report.json"))
    assert result.exit_code == 0, result.output
    assert outcomes(read_report(tmp_path / "report.json")) == dict.fromkeys(planned, "applied")
    assert sorted(routed(sandbox, planned)) == sorted(planned)


def test_report_never_overwrites_the_config_or_the_plan(
    configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, _ = saved_plan(config, tmp_path)
    inputs = {config.path: config.path.read_bytes(), plan_path: plan_path.read_bytes()}
    for target, what in ((config.path, "config"), (plan_path, "plan")):
        result = refused("apply", str(config.path), str(plan_path), "--report", str(target))
        assert f"--report {target} is the {what} this run reads" in result.stderr
    assert {path: path.read_bytes() for path in inputs} == inputs


def test_saved_plan_is_refused_after_the_config_changed(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, plan = saved_plan(config, tmp_path)
    configure(rules_yaml(REFUND_NOTE_RULE))  # the same file, now with other rules
    before = sandbox.sb.stats()["requests"]
    result = refused("apply", str(config.path), str(plan_path), "--yes")
    assert "different version" in result.stderr and "zdops plan --out" in result.stderr
    assert sandbox.sb.stats()["requests"] == before  # refused before decrypting or reading
    assert plan["changes"] and routed(sandbox, [c["ticket_id"] for c in plan["changes"]]) == []


def test_tampered_plan_is_refused(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, plan = saved_plan(config, tmp_path)
    plan["changes"][0]["tags_added"] = ["something-else"]
    plan_path.write_text(json.dumps(plan))
    result = refused("apply", str(config.path), str(plan_path), "--yes")
    assert "checksum" in result.stderr
    assert not any("something-else" in sandbox.sb.ticket(c["ticket_id"])["tags"]
                   for c in plan["changes"])


def test_saved_plan_over_the_budget_needs_max_changes(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, plan = saved_plan(config, tmp_path)
    count = len(plan["changes"])
    over = refused("apply", str(config.path), str(plan_path), "--max-changes", str(count - 1))
    assert f"--max-changes {count}" in over.stderr
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

    result, report_path = apply_with_report(config, tmp_path, str(plan_path))
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
    assert sandbox.sb.ticket(unrelated)["group_id"] == group_id(sandbox, "Billing")
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
    result, report_path = apply_with_report(config, tmp_path, str(plan_path))
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
    both = {t["id"] for t in open_with_tag(sandbox, "billing")} & {
        t["id"] for t in open_with_tag(sandbox, "vip")}
    assert both, "the seed should have open tickets tagged both billing and vip"
    audits_before = {i: len(sandbox.sb.audits(i)) for i in both}
    result, _ = apply_with_report(config, tmp_path, "--yes")
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
    result, report_path = apply_with_report(config, tmp_path, str(plan_path))
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
    config = configure(
        rules_yaml(BILLING_RULE, run_as(REFUND_NOTE_RULE, "jane")),
        extra_tokens=[api_token(sandbox, "jane", jane)],
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
    assert routed(sandbox, targets) == []

    over_budget = zdops("apply", str(config.path), "--yes", "--limit-override", "500",
                        "--max-changes", "2")
    assert over_budget.exit_code == 0, over_budget.output
    assert "Nothing to apply" in over_budget.stdout and "--max-changes" in over_budget.output

    allowed = zdops("apply", str(config.path), "--yes", "--limit-override", str(len(targets)))
    assert allowed.exit_code == 0, allowed.output
    assert f"Applied: {len(targets)} tickets changed" in allowed.stdout


def test_a_plan_is_told_from_a_config_by_its_content(tmp_path: Path) -> None:
    from runner.engine.plan import FORMAT
    from runner.engine.saved_plan import is_saved_plan

    def written(name: str, data: bytes) -> Path:
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    plan = {"checksum": "sha256:x", "format": FORMAT, "plan": {"changes": [1] * 5000}}
    assert is_saved_plan(written("p.json", json.dumps(plan).encode()))
    # keys sorted (`jq -S`: "format" far from the start) and a BOM are still a plan
    assert is_saved_plan(written("sorted.json", json.dumps(plan, sort_keys=True).encode()))
    assert is_saved_plan(written("bom.json", b"\xef\xbb\xbf" + json.dumps(plan).encode()))
    assert not is_saved_plan(written("c.yaml", b"version: 1\nzendesk: {subdomain: acme}\n"))
    assert not is_saved_plan(written("c.json", b'{"version": 1, "format": "yaml"}'))
    assert not is_saved_plan(written("broken.json", b'{"format": "zdops-plan",'))
    assert not is_saved_plan(tmp_path / "missing.json")
    assert not is_saved_plan(tmp_path)
