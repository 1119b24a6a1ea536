"""Run one child process and measure it: exit code, wall and CPU seconds, peak RSS.

Linux keeps a process's peak RSS across exec, and a forked child starts out mapping all of its
parent's pages: a child forked straight from a benchmark process that has grown (an in-process
sandbox, a plan built in memory) reports that process's peak as its own. So the measured child
is started by a small launcher interpreter, whose few megabytes are all it can inherit, and
the launcher hands back the child's rusage from wait4 (its own children, such as sops,
included).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_LAUNCHER = """\
import json, os, subprocess, sys
with open(sys.argv[1], "wb") as out:
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status),
                  "cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss}))
"""


@dataclass(frozen=True)
class Measured:
    code: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float


def run_measured(argv: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None) -> Measured:
    """Run argv with its stdout and stderr in `log` (a file: a pipe nobody reads would block
    it) and no stdin; wall time includes the launcher's start, a few tens of milliseconds."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(log), *argv],
                          env=None if env is None else dict(env), cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the measuring launcher failed: {done.stderr[-2000:]}")
    usage = json.loads(done.stdout)
    return Measured(usage["code"], wall, usage["cpu_s"], usage["max_rss_kb"] / 1024)
