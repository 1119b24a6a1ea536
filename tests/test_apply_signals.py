"""Interrupting `zdops apply`: SIGTERM to a real process, in the middle of a slow job."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from fixtures_reconcile import BILLING_RULE, REPLY_AND_NOTE_RULE, Configure, rules_yaml
from fixtures_sandbox import ServedSandbox


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_sigterm_mid_apply_finishes_the_job_in_flight_writes_the_report_and_exits_130(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    config = configure(rules_yaml(BILLING_RULE, REPLY_AND_NOTE_RULE))
    sandbox.sb.set_faults("slowjobs:2")
    report_path = tmp_path / "report.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "apply", str(config.path), "--yes",
         "--report", str(report_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: sandbox.sb.jobs.in_flight(), 60), "apply never submitted a job"
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "SIGTERM" in stderr and "interrupted" in stderr and "Traceback" not in stderr
    report = json.loads(report_path.read_text())
    assert report["interrupted"] is True
    by_outcome: dict[str, list[int]] = {}
    for entry in report["tickets"]:
        by_outcome.setdefault(entry["outcome"], []).append(entry["ticket_id"])
    # the job in flight was waited for; nothing new was sent after the signal
    assert by_outcome.get("applied"), by_outcome
    assert by_outcome.get("not-attempted"), by_outcome
    assert set(by_outcome) <= {"applied", "not-attempted"}
    for ticket_id in by_outcome["not-attempted"]:
        ticket = sandbox.sb.ticket(ticket_id)
        assert "refund-answered" not in ticket["tags"] and "billing-routed" not in ticket["tags"]
    for ticket_id in by_outcome["applied"]:
        assert "billing-routed" in sandbox.sb.ticket(ticket_id)["tags"]
    for secret in config.keys.values():
        assert secret not in stdout + stderr + report_path.read_text()

