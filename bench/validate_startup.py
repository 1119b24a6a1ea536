"""Wall time of `zdops validate config.example.yaml` as a whole process (pre-commit hook budget).

    python bench/validate_startup.py [--runs N] [--strict]

Target: median under 0.5 s on a 2-core machine, interpreter start included. Prints the
median, min and max, and the slowest imports (from `python -X importtime`) so that a heavy
import creeping into the validate path shows up here. A heavy import always fails the run (it
does not depend on the machine's load); a missed time target fails it only with --strict, so
that the CI smoke run on a busy shared runner asserts no timing.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.yaml"
TARGET_SECONDS = 0.5
COMMAND = [sys.executable, "-m", "runner", "validate", str(EXAMPLE)]


def wall_times(runs: int) -> list[float]:
    env = {**os.environ, "GITHUB_ACTIONS": "false"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(COMMAND, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def imports() -> list[tuple[int, int, str]]:
    """(cumulative microseconds, nesting depth, module) of every import validate makes."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *COMMAND[1:]], capture_output=True, text=True
    )
    found = []
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            found.append((int(match.group(1)), len(match.group(2)) // 2, match.group(3)))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--target", type=float, default=TARGET_SECONDS, metavar="SECONDS",
                        help=f"median wall time to stay under (default {TARGET_SECONDS})")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when the median misses the target")
    args = parser.parse_args()
    times = wall_times(max(1, args.runs))
    median = statistics.median(times)
    verdict = "met" if median < args.target else "MISSED"
    print(
        f"zdops validate config.example.yaml: median {median * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; n={len(times)}; "
        f"target {args.target * 1000:.0f} ms: {verdict})"
    )
    bare = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    print(f"bare interpreter start: median {statistics.median(bare) * 1000:.0f} ms")
    seen = imports()
    print("slowest imports up to two levels deep (cumulative):")
    for micros, _, module in sorted((i for i in seen if i[1] <= 2), reverse=True)[:10]:
        print(f"  {micros / 1000:7.1f} ms  {module}")
    heavy = ("httpx", "jsonschema", "runner.engine", "runner.zendesk", "runner.sandbox")
    forbidden = sorted({m for _, _, m in seen if m.startswith(heavy)})
    if forbidden:
        print(f"heavy imports on the validate path: {', '.join(forbidden)}")
        return 1
    return 1 if args.strict and verdict == "MISSED" else 0


if __name__ == "__main__":
    sys.exit(main())
