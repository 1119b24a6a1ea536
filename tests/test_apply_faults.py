"""`zdops apply` against a misbehaving Zendesk: failed job items, collisions, lost answers.

Faults are switched on in the sandbox after the plan is saved, so only the apply meets them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fixtures_reconcile import (
    BILLING_RULE,
    REFUND_NOTE_RULE,
    REPLY_AND_NOTE_RULE,
    Configure,
    apply_with_report,
    outcomes,
    read_report,
    routed,
    rules_yaml,
    saved_plan,
    zdops,
)
from fixtures_sandbox import ServedSandbox


def test_failing_job_items_are_reported_with_zendesks_message(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure()
    plan_path, plan = saved_plan(config, tmp_path)
    sandbox.sb.set_faults("jobfail:1")
    result, report_path = apply_with_report(config, tmp_path, str(plan_path))
    assert result.exit_code == 1
    count = len(plan["changes"])
    assert f"Applied: 0 tickets changed, {count} failed, 0 skipped (stale)." in result.stdout
    assert f"{count} of {count} changes failed" in result.stderr
    report = read_report(report_path)
    assert set(outcomes(report).values()) == {"failed"}
    assert all(t["error"] and t["message"] and t["job_id"] for t in report["tickets"])
    assert plan["changes"] and routed(sandbox, [c["ticket_id"] for c in plan["changes"]]) == []


def test_collisions_from_a_busy_agent_are_rechecked_never_overwritten(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure(rules_yaml(BILLING_RULE, REFUND_NOTE_RULE))
    plan_path, plan = saved_plan(config, tmp_path)
    # the agent edits tickets the runner has read, before most requests: stamps go stale
    sandbox.sb.set_faults("agent:0.8")
    for change in plan["changes"][:10]:
        sandbox.sb.agent_edit(change["ticket_id"])
    result, report_path = apply_with_report(config, tmp_path, str(plan_path))
    sandbox.sb.set_faults(None)
    assert result.exit_code == 0, result.output
    report = read_report(report_path)
    assert {t["ticket_id"] for t in report["tickets"]} == {c["ticket_id"] for c in plan["changes"]}
    assert set(outcomes(report).values()) <= {"applied", "collision"}
    rechecked = [t for t in report["tickets"] if t["message"] and "re-checked" in t["message"]]
    assert rechecked, "the stale stamps should have made some tickets go through a re-check"
    for entry in report["tickets"]:
        ticket = sandbox.sb.ticket(entry["ticket_id"])
        notes = [c for c in sandbox.sb.comments(entry["ticket_id"])
                 if c["body"].startswith("Refund noted by")]
        assert len(notes) <= 1
        if entry["outcome"] == "collision":
            assert "billing-routed" not in ticket["tags"] and not notes
    assert zdops("plan", str(config.path), "--detailed-exitcode").exit_code in (0, 2)


def test_lost_answers_never_duplicate_a_comment(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure(rules_yaml(REFUND_NOTE_RULE, REPLY_AND_NOTE_RULE))
    plan_path, plan = saved_plan(config, tmp_path)
    # one public reply and one internal note: those tickets are updated one update at a time
    assert any(len({c["public"] for c in ch["comments"]}) == 2 for ch in plan["changes"])
    before = {c["ticket_id"]: Counter(e["body"] for e in sandbox.sb.comments(c["ticket_id"]))
              for c in plan["changes"]}
    sandbox.sb.reset_stats()
    sandbox.sb.set_faults("lost:0.5")
    result, report_path = apply_with_report(config, tmp_path, str(plan_path))
    stats = sandbox.sb.stats()
    sandbox.sb.set_faults(None)
    assert stats["faults"].get("lost", 0) >= 2, stats["faults"]  # the faults did fire
    report = read_report(report_path)
    assert len(report["tickets"]) == len(plan["changes"])
    assert result.exit_code == (1 if report["counts"]["unknown"] else 0), result.output
    for change in plan["changes"]:
        after = Counter(e["body"] for e in sandbox.sb.comments(change["ticket_id"]))
        added = after - before[change["ticket_id"]]
        assert all(n == 1 for n in added.values()), (change["ticket_id"], added)
        if outcomes(report)[change["ticket_id"]] == "applied":
            assert len(added) == len({c["public"] for c in change["comments"]})
    assert report["counts"]["applied"] > 0
