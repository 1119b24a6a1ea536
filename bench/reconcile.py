"""The reconciler against the sandbox: API calls, wall time under a rate limit, CPU, memory.

    python bench/reconcile.py --quick    # small sizes, seconds: the CI smoke run
    python bench/reconcile.py --only calls,wall,cpu    # full sizes: ~15 minutes on 2 cores
    python bench/reconcile.py --only memory --memory-read 20000,100000,200000
    python bench/reconcile.py --only calls --calls 20000:25%   # one medium case

Every figure comes from the real code path: a config encrypted by the real sops (age key made
here, tokens minted by the sandbox), `runner.engine.run.open_run` -> `Run.plan()` ->
`runner.engine.apply.apply_plan` (what `zdops apply --yes` does), or `zdops apply` itself as a
child process for memory. The sandbox always runs as its own process (`zdops sandbox`), so its
CPU and memory never count as ours; its request counters are read from `/_sandbox/stats`.

(a) calls: the requests of one reconcile (reads N tickets, changes C) by endpoint, next to
    the minimum (bench/minimum.py): one search-export page per 1,000 tickets read (per rule),
    one update_many per 100 changed tickets, one job_statuses/show_many per wave of 30 jobs,
    and one each of users/me, groups and ticket_fields when the run needs them (groups and
    fields only when a rule names one). A run below that minimum stops the script: the
    formula would be wrong.
(b) wall: the same under an emulated 700 requests/minute account limit, next to the bound
    that limit sets (calls / 700 per minute). The sandbox's window is fixed (it starts with
    the first request and allows the whole minute's quota at once), so a run can finish
    inside that bound: the "fixed-window floor" column is what a perfect client needs there.
(c) cpu: process CPU time of the plan phase for 100,000 tickets and 20 rules.
(d) memory: peak RSS of a `zdops apply --yes` process that reads 1,000,000 tickets (or the
    --memory-read sizes), ~1% changing. The sandbox serves a 1.29M-ticket account's export
    pages at ~11 s each, so the default full size takes hours there.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.* when run as a script
from bench.measure import run_measured
from bench.minimum import check_not_below, minimum_calls

NOW = "2026-01-15T12:00:00Z"
# Of the sandbox's seeded tickets, this share is not closed (measured on seed 1): a rule
# without a query reads that many, so the account is seeded with N / OPEN_SHARE tickets.
OPEN_SHARE = 0.777
RATE_LIMIT = 700
CONSTANT_CALLS = ("GET /api/v2/users/me", "GET /api/v2/groups", "GET /api/v2/ticket_fields")

# Which share of the open tickets a rule changes, by tag and priority (seed 1).
CHANGE_SELECTORS: dict[str, tuple[str, ...]] = {
    "1%": ("{field: tags, operator: includes, value: refund-requested}",
           "{field: priority, operator: greater_than, value: normal}"),
    "8%": ("{field: tags, operator: includes, value: vip}",),
    "25%": ("{field: tags, operator: includes, value: billing}",),
}


# --- the sandbox, the key and the config ---------------------------------------------------


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    bot_email: str
    bot_key: str

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_sandbox/stats", timeout=30) as answer:
            data: dict[str, Any] = json.load(answer)
            return data

    def reset_stats(self) -> None:
        request = urllib.request.Request(f"{self.url}/_sandbox/stats/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass

    def wait_idle(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.stats().get("jobs_in_flight") and time.monotonic() < deadline:
            time.sleep(0.1)


@contextmanager
def sandbox(tickets: int, *, rate_limit: int | None = None,
            latency_ms: float = 0) -> Iterator[Served]:
    """`zdops sandbox` as a child process; its banner gives the URL and the bot's key."""
    argv = [sys.executable, "-u", "-m", "runner", "sandbox", "--port", "0",
            "--tickets", str(tickets), "--now", NOW, "--latency", str(latency_ms)]
    if rate_limit:
        argv += ["--rate-limit", str(rate_limit)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    try:
        url = key = email = ""
        assert process.stdout is not None
        for line in process.stdout:
            found = re.match(r"Zendesk sandbox\s+(\S+)", line)
            if found:
                url = found.group(1)
            words = line.split()
            if len(words) == 4 and words[0] == "bot" and words[2] == "oauth":
                email, key = words[1], words[3]
            if line.startswith("Ctrl-C"):
                break
        if not (url and key):
            raise RuntimeError(f"zdops sandbox exited before its banner ({process.poll()})")
        yield Served(process, url, email, key)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def isolated_sops(workdir: Path) -> Iterator[Path]:
    """A HOME of our own and a fresh age key as SOPS_AGE_KEY_FILE (children inherit both)."""
    from pyrage import x25519

    names = ("HOME", "XDG_CONFIG_HOME", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY",
             "ZDOPS_SUBDOMAIN", "ZDOPS_ALLOW_HOSTS")
    saved = {name: os.environ.get(name) for name in names}
    home = workdir / "home"
    (home / ".config").mkdir(parents=True)
    identity = x25519.Identity.generate()
    key_file = workdir / "age-key.txt"
    key_file.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    key_file.chmod(0o600)
    os.environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                      SOPS_AGE_KEY_FILE=str(key_file))
    for name in ("SOPS_AGE_KEY", "ZDOPS_SUBDOMAIN", "ZDOPS_ALLOW_HOSTS"):
        os.environ.pop(name, None)
    try:
        yield key_file
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def write_config(directory: Path, served: Served, recipient: str, rules: str) -> Path:
    """`zdops init` + `zdops tokens add` through the real sops, then our rules in plaintext
    (with mac_only_encrypted the MAC covers only the keys, as for a user editing rules)."""
    from runner import secrets
    from runner.init import init_project
    from runner.secrets import Secret
    from runner.tokens import add_token

    sops = secrets.locate()
    directory.mkdir(parents=True, exist_ok=True)
    init_project(directory, recipients=[recipient], url=served.url, sops=sops)
    config = directory / "config.yaml"
    add_token(config, "bot", email=served.bot_email, key=Secret(served.bot_key),
              kind="oauth", primary=True, sops=sops)
    text = config.read_text(encoding="utf-8")
    start, end = text.index("\nrules:\n") + 1, text.index("\nsops:\n") + 1
    config.write_text(text[:start] + rules + text[end:], encoding="utf-8")
    return config


def recipient_of(key_file: Path) -> str:
    return key_file.read_text().split("public key: ")[1].split()[0]


def touch_rule(name: str, selector: tuple[str, ...], query: str = "") -> str:
    """A rule that tags what `selector` picks, once (it skips what it already tagged)."""
    lines = [f"  - name: {name}", "    when:"]
    if query:  # no query: the rule reads every open ticket (an empty one is an error)
        lines.append(f"      query: {json.dumps(query)}")
    lines.append("      all:")
    lines += [f"        - {condition}" for condition in selector]
    lines += [f"        - {{field: tags, operator: not_includes, value: {name}}}",
              "    actions:", f"      tags: {{add: [{name}]}}"]
    return "\n".join(lines) + "\n"


# --- (a) and (b): calls and wall time of one reconcile ----------------------------------------


@dataclass
class Reconcile:
    read: int
    changed: int
    applied: int
    calls: dict[str, int]
    wall_s: float
    client_cpu_s: float  # this process: planning, JSON, HTTP client
    sandbox_cpu_s: float  # the emulator's process, all its threads
    paced_s: float  # waits the client chose, to stay under the account limit
    rate_limited: int  # 429 answers it met anyway

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def minimum(self, reads_per_rule: Mapping[str, int]) -> int:
        # one call to each look-up endpoint the run needed at all (groups and fields only
        # when a rule names one)
        lookups = sum(1 for name in CONSTANT_CALLS if self.calls.get(name))
        return minimum_calls(reads_per_rule.values(), self.changed, lookups)


def process_cpu_s(pid: int) -> float:
    """utime + stime of a process and all its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reconcile(config: Path, served: Served, budget: int) -> tuple[Reconcile, dict[str, int]]:
    """Plan and apply once, in this process, as `zdops apply --yes` does."""
    from runner.engine.apply import apply_plan, reevaluator
    from runner.engine.run import RunOptions, open_run

    served.wait_idle()
    served.reset_stats()
    options = RunOptions(max_changes=budget, limit_override=budget)
    started, cpu = time.perf_counter(), time.process_time()
    sandbox_cpu = process_cpu_s(served.process.pid)
    with open_run(config, options) as run:
        plan = run.plan()
        reevaluate = reevaluator(run.rules, run.resolver, run.context(),
                                 query_matches=run.query_matches, source=run.loaded.filename)
        report = apply_plan(plan, run.clients, reevaluate)
        reads = dict(run.reads)
        client = run.clients[run.primary].stats
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    sandbox_cpu = process_cpu_s(served.process.pid) - sandbox_cpu
    if report.error or report.failed:
        raise RuntimeError(f"apply did not go through: {report.summary()} {report.error or ''}")
    stats = served.stats()
    calls = {name: entry["total"] for name, entry in stats["by_endpoint"].items()}
    result = Reconcile(
        read=sum(reads.values()),
        changed=len(plan.changes),
        applied=report.counts()["applied"],
        calls=calls,
        wall_s=wall,
        client_cpu_s=cpu,
        sandbox_cpu_s=sandbox_cpu,
        paced_s=client.paced,
        rate_limited=client.rate_limited,
    )
    return result, reads


@dataclass
class CallsRow:
    label: str
    result: Reconcile
    minimum: int

    def cells(self) -> list[str]:
        r = self.result
        jobs = r.calls.get("PUT /api/v2/tickets/update_many", 0)
        polls = sum(v for k, v in r.calls.items() if "job_statuses" in k)
        pages = r.calls.get("GET /api/v2/search/export", 0)
        other = r.total - jobs - polls - pages
        return [self.label, f"{r.read:,}", f"{r.changed:,}", str(pages), str(jobs),
                str(polls), str(other), str(r.total), str(self.minimum),
                f"{r.total / self.minimum:.2f}x", f"{r.wall_s:.1f}", f"{r.client_cpu_s:.1f}",
                f"{r.sandbox_cpu_s:.1f}"]

    def wall_cells(self, unlimited: Reconcile) -> list[str]:
        r = self.result
        bound = r.total / RATE_LIMIT * 60
        floor = (math.ceil(r.total / RATE_LIMIT) - 1) * 60
        need = max(bound, unlimited.wall_s)
        per_call_ms = r.client_cpu_s / r.total * 1000
        return [self.label, str(r.total), f"{r.wall_s:.1f}", f"{bound:.1f}", str(floor),
                f"{unlimited.wall_s:.1f}", f"{r.paced_s:.1f}", str(r.rate_limited),
                f"{per_call_ms:.0f}", f"{60_000 / RATE_LIMIT:.0f}", f"{r.wall_s / bound:.2f}x",
                f"{r.wall_s / need:.2f}x"]


def run_calls(workdir: Path, key_file: Path, label: str, read: int, share: str,
              *, rate_limit: int | None, latency_ms: float) -> CallsRow:
    tickets = round(read / OPEN_SHARE)
    with sandbox(tickets, rate_limit=rate_limit, latency_ms=latency_ms) as served:
        rules = "rules:\n" + touch_rule("bench-touched", CHANGE_SELECTORS[share])
        folder = workdir / label.replace(" ", "-").replace("/", "-")
        config = write_config(folder, served, recipient_of(key_file), rules)
        result, reads = reconcile(config, served, budget=tickets)
    minimum = result.minimum(reads)
    check_not_below(label, result.total, minimum)
    return CallsRow(label, result, minimum)


# --- (c): planning CPU for many tickets and rules ----------------------------------------------

# 20 rules as a real account has them: most select with a query, some read every open ticket.
RULE_QUERIES = (
    "", "tags:billing", "tags:refund", "status:new", "priority:urgent", "tags:vip",
    "tags:shipping", "status:open tags:bug", "tags:login", "", "tags:enterprise",
    "status:pending", "tags:escalated", "priority:high", "tags:outage", "tags:api",
    "tags:churn-risk", "status:hold", "tags:how-to", "priority:low",
)


def twenty_rules() -> str:
    rules = ["rules:"]
    selectors = list(CHANGE_SELECTORS.values())
    for index, query in enumerate(RULE_QUERIES):
        rules.append(touch_rule(f"rule-{index:02d}", selectors[index % 2], query).rstrip())
    return "\n".join(rules) + "\n"


@dataclass
class CpuRow:
    tickets: int
    rules: int
    read: int
    changed: int
    calls: int
    plan_s: float
    plan_cpu_s: float


def run_cpu(workdir: Path, key_file: Path, tickets: int) -> CpuRow:
    from runner.engine.run import RunOptions, open_run

    with sandbox(tickets) as served:
        config = write_config(workdir / "cpu", served, recipient_of(key_file), twenty_rules())
        served.reset_stats()
        with open_run(config, RunOptions(max_changes=tickets, limit_override=tickets)) as run:
            started, cpu = time.perf_counter(), time.process_time()
            plan = run.plan()
            cpu_s, wall_s = time.process_time() - cpu, time.perf_counter() - started
            read = sum(run.reads.values())
        calls = served.stats()["requests"]
    return CpuRow(tickets, len(RULE_QUERIES), read, len(plan.changes), calls, wall_s, cpu_s)


# --- (d): peak memory of a zdops process ----------------------------------------------------


@dataclass
class MemoryRow:
    read: int
    changed: int
    applied: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    exit_code: int


def run_memory(workdir: Path, key_file: Path, read: int) -> MemoryRow:
    tickets = round(read / OPEN_SHARE)
    with sandbox(tickets) as served:
        config = write_config(workdir / f"memory-{read}", served, recipient_of(key_file),
                              "rules:\n" + touch_rule("bench-touched", CHANGE_SELECTORS["1%"]))
        report = workdir / f"memory-{read}-report.json"
        output = workdir / f"memory-{read}-output.txt"
        served.reset_stats()
        argv = [sys.executable, "-m", "runner", "apply", str(config), "--yes",
                "--max-changes", str(tickets), "--limit-override", str(tickets),
                "--report", str(report)]
        measured = run_measured(argv, output)
        text = output.read_text(encoding="utf-8", errors="replace")
        if measured.code != 0:
            raise RuntimeError(f"zdops apply exited {measured.code}: {text[-2000:]}")
    data = json.loads(report.read_text())
    return MemoryRow(
        read=tickets_read(text),
        changed=len(data["tickets"]),
        applied=data["counts"]["applied"],
        wall_s=measured.wall_s,
        cpu_s=measured.cpu_s,
        max_rss_mb=measured.max_rss_mb,
        exit_code=measured.code,
    )


# The plan's rule line: `rule NAME — C of M matching tickets change (R read)`, the read part
# only when the rule's conditions dropped some of what its search returned.
RULE_LINE = re.compile(r"^rule \S+ — [\d,]+ of ([\d,]+) matching tickets change"
                       r"(?: \(([\d,]+) read\))?", re.MULTILINE)


def tickets_read(plan_text: str) -> int:
    """How many tickets the plan says its rules read, from the child's own output."""
    found = RULE_LINE.findall(plan_text)
    if not found:
        raise RuntimeError(f"no rule line in zdops apply's output: {plan_text[:2000]}")
    return sum(int((read or matched).replace(",", "")) for matched, read in found)


# --- the report -------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


CALLS_HEADER = ["scenario", "read", "changed", "export", "update_many", "polls", "other",
                "calls", "minimum", "calls/min", "wall s", "zdops CPU s", "sandbox CPU s"]
WALL_HEADER = ["scenario", "calls", "wall s", "bound s", "fixed-window floor s",
               "unlimited wall s", "paced s", "429s", "zdops CPU ms/call", "ms/call at limit",
               "wall/bound", "wall/max(bound, unlimited)"]


@dataclass(frozen=True)
class Sizes:
    calls: tuple[tuple[int, str], ...]
    wall: tuple[int, str]
    cpu_tickets: int
    memory_read: tuple[int, ...]
    latency_ms: float


QUICK = Sizes(calls=((2_000, "8%"),), wall=(2_000, "25%"), cpu_tickets=5_000,
              memory_read=(20_000,), latency_ms=5)
FULL = Sizes(calls=((10_000, "1%"), (100_000, "1%"), (100_000, "25%")),
             wall=(200_000, "25%"), cpu_tickets=100_000, memory_read=(1_000_000,),
             latency_ms=20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--only", default="calls,wall,cpu,memory",
                        help="comma-separated parts: calls, wall, cpu, memory")
    parser.add_argument("--memory-read", default=None, metavar="N[,N...]",
                        help="tickets read by the memory part (default 1,000,000: a "
                        "1.29M-ticket account, several minutes)")
    parser.add_argument("--calls", default=None, metavar="READ:SHARE[,...]",
                        help="tickets read and share changing of the calls part, e.g. "
                        f"20000:25% (shares: {', '.join(CHANGE_SELECTORS)})".replace("%", "%%"))
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.calls:
        try:
            cases = tuple(_calls_case(item) for item in args.calls.split(","))
        except ValueError as error:
            parser.error(f"--calls: {error}")
        sizes = replace(sizes, calls=cases)
    if args.memory_read:
        reads = tuple(int(n.replace("_", "")) for n in args.memory_read.split(","))
        sizes = replace(sizes, memory_read=reads)
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    print(f"machine: nproc {os.cpu_count()}, {_cpu_model()}; python {platform.python_version()}")
    workdir = Path(tempfile.mkdtemp(prefix="zdops-bench-reconcile-"))
    try:
        with isolated_sops(workdir) as key_file:
            if "calls" in parts:
                rows = [run_calls(workdir, key_file, f"{read // 1000}k-{share}", read, share,
                                  rate_limit=None, latency_ms=sizes.latency_ms)
                        for read, share in sizes.calls]
                print(f"\n(a) API calls of one reconcile, no rate limit, latency "
                      f"{sizes.latency_ms:g} ms (target calls/min <= 1.10x)")
                print(table(CALLS_HEADER, [r.cells() for r in rows]))
                _print_other(rows)
            if "wall" in parts:
                read, share = sizes.wall
                label = f"{read // 1000}k-{share}"
                free = run_calls(workdir, key_file, f"{label} unlimited", read, share,
                                 rate_limit=None, latency_ms=sizes.latency_ms)
                limited = run_calls(workdir, key_file, f"{label} {RATE_LIMIT}/min", read, share,
                                    rate_limit=RATE_LIMIT, latency_ms=sizes.latency_ms)
                print(f"\n(b) wall time under {RATE_LIMIT} requests/minute, latency "
                      f"{sizes.latency_ms:g} ms (target wall/bound <= 1.20x)")
                print(table(WALL_HEADER, [limited.wall_cells(free.result)]))
                print(table(CALLS_HEADER, [free.cells(), limited.cells()]))
            if "cpu" in parts:
                cpu = run_cpu(workdir, key_file, sizes.cpu_tickets)
                print(f"\n(c) planning CPU: {cpu.tickets:,} tickets, {cpu.rules} rules")
                print(table(["tickets", "rules", "read (all rules)", "changed", "calls",
                             "plan wall s", "plan CPU s", "CPU us/ticket read"],
                            [[f"{cpu.tickets:,}", str(cpu.rules), f"{cpu.read:,}",
                              f"{cpu.changed:,}", str(cpu.calls), f"{cpu.plan_s:.1f}",
                              f"{cpu.plan_cpu_s:.1f}", f"{cpu.plan_cpu_s / cpu.read * 1e6:.0f}"]]))
            if "memory" in parts:
                mems = [run_memory(workdir, key_file, read) for read in sizes.memory_read]
                print("\n(d) peak memory of a `zdops apply --yes` process, ~1% changing")
                print(table(["read", "changed", "applied", "wall s", "CPU s", "max RSS MB"],
                            [[f"{m.read:,}", f"{m.changed:,}", f"{m.applied:,}",
                              f"{m.wall_s:.1f}", f"{m.cpu_s:.1f}", f"{m.max_rss_mb:.0f}"]
                             for m in mems]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\nbench process: max RSS {usage.ru_maxrss / 1024:.0f} MB")
    return 0


def _calls_case(item: str) -> tuple[int, str]:
    read, _, share = item.strip().partition(":")
    if share not in CHANGE_SELECTORS or not read.replace("_", "").isdigit():
        raise ValueError(f"{item!r} is not READ:SHARE with SHARE one of "
                         f"{', '.join(CHANGE_SELECTORS)}")
    return int(read.replace("_", "")), share


def _print_other(rows: list[CallsRow]) -> None:
    for row in rows:
        other = {k: v for k, v in row.result.calls.items()
                 if "export" not in k and "update_many" not in k and "job_statuses" not in k}
        print(f"  {row.label} other calls: {other}")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
