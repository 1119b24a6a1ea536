"""The benchmarks' own arithmetic and switches: what their tables claim must be what they compute.

The suites themselves run in CI as `python -m bench --quick` (a smoke run); these tests pin the
parts a smoke run cannot catch: a minimum that a real client beats, a read count that is an
estimate, a timing verdict that fails CI on a busy runner.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from engine_builders import make_plan

from runner.config.loader import parse_config
from runner.engine.plan import RuleSummary
from runner.render.plan_text import render_text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import reconcile, vs_zenpy  # noqa: E402
from bench.minimum import BelowMinimum, check_not_below, job_polls, minimum_calls  # noqa: E402


def test_the_minimum_polls_once_per_wave_of_30_jobs_not_once_per_job() -> None:
    # 2,026 tickets read, 490 changed: 3 export pages, 5 update_many, one show_many for the
    # five jobs (they fit in one wave of 30), users/me. zdops measured 10 calls for exactly
    # this in the quick run; a per-job poll count made the "minimum" 14, and zdops 0.71x it.
    assert minimum_calls([2026], 490, lookups=1) == 10
    assert [job_polls(n) for n in (0, 1, 30, 31, 60, 61)] == [0, 1, 1, 2, 2, 3]
    # an empty search still costs its one page
    assert minimum_calls([0, 1000, 1001], 0) == 1 + 1 + 2


def test_reconcile_minimum_counts_only_the_lookups_the_run_made() -> None:
    calls = {"GET /api/v2/search/export": 3, "PUT /api/v2/tickets/update_many": 5,
             "GET /api/v2/job_statuses/show_many": 1, "GET /api/v2/users/me": 1}
    run = reconcile.Reconcile(read=2026, changed=490, applied=490, calls=calls, wall_s=1,
                              client_cpu_s=1, sandbox_cpu_s=1, paced_s=0, rate_limited=0)
    assert run.minimum({"bench-touched": 2026}) == 10
    assert run.total == 10
    with_groups = reconcile.Reconcile(**{**run.__dict__,
                                         "calls": {**calls, "GET /api/v2/groups": 1}})
    assert with_groups.minimum({"bench-touched": 2026}) == 11


def test_vs_zenpy_uses_the_same_minimum() -> None:
    # 100,000 x 50%: 50 pages, 500 jobs, 17 waves (the figure bench/README.md cites)
    assert minimum_calls([50_000], 50_000) == 567
    assert vs_zenpy.expected_calls("careful", 50_000) >= 567


def test_a_run_below_the_minimum_stops_the_benchmark() -> None:
    check_not_below("at the minimum", 10, 10)
    with pytest.raises(BelowMinimum, match="7 calls measured, below the computed minimum of 8"):
        check_not_below("2k-8%", 7, 8)


def test_memory_rows_count_the_reads_the_plan_reports_not_an_estimate() -> None:
    plan = make_plan(
        rules=(RuleSummary("bench-touched", "automation-bot", 1_000_123, 1_000_123, 7_977, 0),
               RuleSummary("other", "automation-bot", 5_000, 4_000, 0, 4_000)),
    )
    assert reconcile.tickets_read(render_text(plan)) == 1_005_123
    with pytest.raises(RuntimeError, match="no rule line"):
        reconcile.tickets_read("Error: the sandbox went away\n")


def test_reconcile_calls_cases_are_checked() -> None:
    assert reconcile._calls_case("20_000:25%") == (20_000, "25%")
    for bad in ("20000", "20000:50%", "many:1%"):
        with pytest.raises(ValueError, match="is not READ:SHARE"):
            reconcile._calls_case(bad)


@pytest.mark.timeout(120)
def test_validate_startup_fails_on_time_only_when_strict() -> None:
    # CI runs the quick suite on shared runners: no timing may fail it. --strict (the full
    # suite) keeps the pre-commit budget honest.
    argv = [sys.executable, str(ROOT / "bench" / "validate_startup.py"), "--runs", "1",
            "--target", "0.000001"]
    relaxed = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    assert relaxed.returncode == 0, relaxed.stderr
    assert "MISSED" in relaxed.stdout
    strict = subprocess.run([*argv, "--strict"], capture_output=True, text=True, cwd=ROOT,
                            check=False)
    assert strict.returncode == 1
    assert "Traceback" not in strict.stderr


def with_rules(rules: str) -> str:
    """config.example.yaml (encrypted keys, sops metadata) with its rules replaced."""
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    start, end = text.index("\nrules:\n") + 1, text.index("\nsops:\n") + 1
    return text[:start] + rules + text[end:]


@pytest.mark.parametrize("name", ["reconcile 1%", "reconcile 20 rules", "vs_zenpy"])
def test_the_benchmarks_rules_pass_validate(name: str) -> None:
    # A benchmark whose config stopped validating would only fail at its full size, by hand.
    rules = {
        "reconcile 1%": "rules:\n" + reconcile.touch_rule("bench-touched",
                                                         reconcile.CHANGE_SELECTORS["1%"]),
        "reconcile 20 rules": reconcile.twenty_rules(),
        "vs_zenpy": vs_zenpy.RULES,
    }[name]
    loaded = parse_config(with_rules(rules), f"{name}.yaml")
    assert loaded.config.rules


@pytest.mark.parametrize(
    "script", sorted(p.name for p in (ROOT / "bench").glob("*.py")
                     if p.name not in ("__main__.py", "measure.py", "minimum.py", "zenpy_jobs.py"))
)
def test_every_benchmark_script_prints_its_help(script: str) -> None:
    # argparse formats help with %: a stray '%' in a help text breaks --help, and only --help
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:")


def test_a_measured_child_does_not_inherit_the_peak_of_a_large_parent(tmp_path: Path) -> None:
    from bench.measure import run_measured

    ballast = bytearray(400 * 1024 * 1024)  # this process now holds 400 MB more
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched, so it is resident
    measured = run_measured([sys.executable, "-c", "print('hi')"], tmp_path / "log")
    assert measured.code == 0 and (tmp_path / "log").read_text() == "hi\n"
    # a bare interpreter: a few tens of MB, nowhere near the parent's 400
    assert measured.max_rss_mb < 100, measured
    assert measured.cpu_s > 0 and measured.wall_s > 0
    del ballast
