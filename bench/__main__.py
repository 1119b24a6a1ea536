"""Run the benchmark scripts side by side and report them in one table.

    python -m bench                       # every suite, full size
    python -m bench --quick               # every suite, small and short (the CI smoke test)
    python -m bench --quick query_filter validate_startup
    python -m bench --out bench/results.md
    python -m bench vs_zenpy              # one suite (vs_zenpy alone: ~13 minutes at full size)

Each suite is one script in this directory, run in its own interpreter (so one suite's memory,
imports and threads do not colour the next) with the arguments listed in SUITES. The report
starts with the machine and the exact command, then one row per suite (exit code, wall and
CPU seconds of the child), then each suite's own table as it printed it. With --quick (the CI
smoke run) the exit code says whether a script ran and its figures add up, never whether it
was fast enough; a full run of validate_startup also fails on a missed time target.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Suite:
    script: str
    what: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ("--quick",)


SUITES: dict[str, Suite] = {
    "validate_startup": Suite(
        "validate_startup.py",
        "`zdops validate` as a whole process (pre-commit budget)",
        full=("--runs", "15", "--strict"),
        quick=("--runs", "5"),
    ),
    "query_filter": Suite(
        "query_filter.py",
        "compiled query and conditions over 100,000 tickets",
    ),
    "client_throughput": Suite(
        "client_throughput.py",
        "Zendesk client against the sandbox: rate, 429s, retries",
    ),
    "sandbox_rps": Suite(
        "sandbox_rps.py",
        "sandbox requests per second on loopback",
        quick=("--seconds", "2", "--tickets", "2000"),
    ),
    "sandbox_seed": Suite("sandbox_seed.py", "sandbox seeding time and memory"),
    "reconcile": Suite(
        "reconcile.py",
        "the reconciler: calls vs the minimum, wall under 700/min, plan CPU, apply memory",
    ),
    "vs_zenpy": Suite(
        "vs_zenpy.py",
        "zdops apply vs a plain and a careful zenpy script, 1k/10k/100k tickets",
    ),
}


@dataclass
class Result:
    name: str
    argv: list[str]
    code: int
    wall: float
    cpu: float
    output: str


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"machine: {platform.system()} {platform.release()}, {os.cpu_count()} CPUs "
        f"(nproc {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}),"
        f" {cpu}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
    ]


def run(name: str, quick: bool) -> Result:
    suite = SUITES[name]
    argv = [sys.executable, str(HERE / suite.script), *(suite.quick if quick else suite.full)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        argv,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GITHUB_ACTIONS": "false"},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = completed.stdout
    if completed.returncode != 0 and completed.stderr.strip():
        output += "\n" + completed.stderr.strip()[-2000:]
    return Result(name, argv, completed.returncode, wall, cpu, output.rstrip())


def report(results: list[Result], command: str) -> str:
    lines = [
        "# zdops benchmarks",
        "",
        *(f"- {line}" for line in machine()),
        f"- command: `{command}`",
        "",
        "| suite | what | exit | wall s | child CPU s |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {SUITES[r.name].what} | {r.code} | {r.wall:.1f} | {r.cpu:.1f} |"
        )
    for r in results:
        shown = " ".join(shlex.quote(a) for a in ["python", *r.argv[1:]])
        shown = shown.replace(str(ROOT) + "/", "")
        lines += ["", f"## {r.name}", "", f"`{shown}`", "", "```", r.output, "```"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "suites", nargs="*", metavar="suite", help=f"any of: {', '.join(SUITES)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs")
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) here")
    args = parser.parse_args()
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        known = ", ".join(SUITES)
        parser.error(f"unknown suite {', '.join(unknown)}; choose from {known}")
    chosen = args.suites or list(SUITES)
    results = []
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.append(run(name, args.quick))
    command = " ".join(["python -m bench", *sys.argv[1:]])
    text = report(results, command)
    print(text, end="")
    if args.out:
        args.out.write_text(text)
    return 0 if all(r.code == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
