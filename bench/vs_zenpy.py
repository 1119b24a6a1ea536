"""zdops apply vs a plain and a careful zenpy script: the same job, on identical sandboxes.

    python bench/vs_zenpy.py                 # 1,000 / 10,000 / 100,000 tickets x 1% / 10% / 50%
    python bench/vs_zenpy.py --quick         # 1,000 tickets, 10% changing
    python bench/vs_zenpy.py --sizes 10000 --shares 1,10 --rpm 700 --latency 20

The job: every ticket tagged `bench-due` gets priority high and the tag `bench-done`. A share
of the account's open tickets is tagged `bench-due` before each run (setup, not measured), so
"changing" is exact. Each way runs against a freshly seeded, identical sandbox with an emulated
latency and account rate limit, in its own child process (CPU time and peak memory come from
os.wait4 on that child, sops included for zdops, started by bench/measure.py so that it does
not inherit this process's memory):

- zdops: `python -m runner apply CONFIG --yes`, the config encrypted by the real sops;
- plain zenpy: search, then update each ticket (bench/zenpy_jobs.py plain);
- careful zenpy: search export, update_many in 100s, job polling (bench/zenpy_jobs.py careful).

After each run every target ticket is checked in the sandbox, so a way that skipped work cannot
look fast. API calls are the sandbox's own count. The theoretical minimum (bench/minimum.py)
is one search-export page per 1,000 tickets, one update_many per 100, and one
job_statuses/show_many per wave of 30 jobs (no look-ups: the job needs none; zdops also reads
users/me); a way measured below it stops the script, since the formula would be wrong. The
rate-limit bound is that many calls at the account's steady rate (calls / --rpm per minute), and
the floor what the sandbox's fixed window (the whole minute's quota at once) really imposes.
A way whose own calls would take longer than --max-minutes at the limit is not run; its row says
so, with the time the limit alone would impose.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.* when run as a script
from bench.measure import run_measured
from bench.minimum import check_not_below, minimum_calls

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WAYS = ("zdops", "plain", "careful")
DUE, DONE = "bench-due", "bench-done"
RULES = f"""rules:
  - name: bench-job
    when:
      query: 'tags:{DUE} -tags:{DONE}'
    actions:
      priority: high
      tags: {{add: [{DONE}]}}
"""


@dataclass
class Run:
    tickets: int
    share: float
    changing: int
    way: str
    calls: int | None = None
    wall: float | None = None
    cpu: float | None = None
    peak_mb: float | None = None
    note: str = ""


def expected_calls(way: str, changing: int) -> int:
    """A way's calls before running it, to cut runs the rate limit would make too long."""
    if way == "plain":
        # search pages of 100 (export pages of 100 past 1,000 results), one PUT per ticket
        return max(1, math.ceil(changing / 100)) + changing + (1 if changing > 1000 else 0)
    return minimum_calls([changing], changing) + math.ceil(changing / 100) + 2  # polls, users/me


def limit_seconds(calls: int, rpm: int) -> float:
    """The least time `calls` take under a fixed window of `rpm` requests per minute."""
    return (max(calls, 1) - 1) // rpm * 60.0


def mark(sandbox: Any, share: float, seed: int) -> list[int]:
    """Tag an exact share of the account's tickets (open ones: closed refuse updates) as due."""
    store = sandbox.store
    with store.lock:
        open_ids = [i for i in range(1, store.ticket_count + 1)
                    if store.ticket_data(i)["status"] != "closed"]
        count = min(len(open_ids), round(share * store.ticket_count))
        due = sorted(random.Random(f"bench:{seed}").sample(open_ids, count))
        for ticket_id in due:
            ticket = store.writable(ticket_id)
            ticket["tags"] = sorted({*ticket["tags"], DUE})
    return due


def zdops_config(workdir: Path, sandbox: Any, url: str) -> tuple[Path, dict[str, str]]:
    """An encrypted config for the sandbox, as `zdops init` + `tokens add` write it."""
    from runner import agekeys, secrets, tokens
    from runner.init import init_project

    key_file = workdir / "age-key.txt"
    key = agekeys.generate()
    agekeys.append_identity(key_file, key)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "ZDOPS_"))}
    env.update(HOME=str(workdir), XDG_CONFIG_HOME=str(workdir / ".config"),
               SOPS_AGE_KEY_FILE=str(key_file))
    sops = secrets.locate()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # sops children inherit os.environ
    try:
        init_project(workdir, recipients=[key.recipient], url=url, sops=sops)
        config = workdir / "config.yaml"
        bot = sandbox.bot
        tokens.add_token(config, "bot", email=bot["email"], kind="oauth", primary=True,
                         key=secrets.Secret(sandbox.credentials(bot["email"])), sops=sops)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    text = config.read_text(encoding="utf-8")
    # mac_only_encrypted: rules are plain YAML outside the MAC, so they can be swapped as text
    text = re.sub(r"(?ms)^rules:.*?(?=^\S)", RULES, text, count=1)
    config.write_text(text, encoding="utf-8")
    return config, env


def run_way(run: Run, args: argparse.Namespace, workdir: Path) -> None:
    from runner.sandbox import Sandbox, serve

    sandbox = Sandbox(tickets=run.tickets, seed=args.seed, rate_limit=args.rpm,
                      latency_ms=args.latency)
    try:
        due = mark(sandbox, run.share, args.seed)
        with serve(sandbox) as server:
            email = sandbox.bot["email"]
            if run.way == "zdops":
                config, env = zdops_config(workdir, sandbox, server.url)
                n = str(max(len(due), 1))
                argv = [sys.executable, "-m", "runner", "apply", str(config), "--yes",
                        "--max-changes", n, "--limit-override", n]
            else:
                env = {**os.environ, "ZENPY_BENCH_TOKEN": sandbox.credentials(email)}
                argv = [sys.executable, str(HERE / "zenpy_jobs.py"), run.way, server.url, email]
            sandbox.reset_stats()
            if sandbox.rate_limit is not None:
                sandbox.rate_limit.reset()
            log = workdir / f"{run.way}.log"
            measured = run_measured(argv, log, env=env, cwd=ROOT)
            code, run.wall, run.cpu, run.peak_mb = (measured.code, measured.wall_s,
                                                     measured.cpu_s, measured.max_rss_mb)
            stats = sandbox.stats()
            run.calls = stats["requests"]
            check_not_below(f"{run.way} at {run.tickets} x {run.share:.0%}", run.calls,
                            minimum_calls([len(due)], len(due)))
            refused = stats["by_status"].get("429", 0)
            if refused:
                run.note = f"{refused} of the calls answered 429"
            sandbox.wait_for_jobs(120)
            missing = [i for i in due if DONE not in sandbox.ticket(i)["tags"]
                       or sandbox.ticket(i)["priority"] != "high"]
            if code != 0 or missing:
                tail = log.read_text(errors="replace")[-1500:]
                raise SystemExit(f"{run.way} at {run.tickets} x {run.share:.0%}: exit {code}, "
                                 f"{len(missing)} of {len(due)} tickets not done\n{tail}")
    finally:
        sandbox.close()


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def report(runs: list[Run], args: argparse.Namespace) -> str:
    lines = [
        f"sandbox: rate limit {args.rpm}/min (fixed window), latency {args.latency:g} ms, "
        f"seed {args.seed}; ways cut past {args.max_minutes:g} min at the limit",
        "",
        f"{'tickets':>8} {'chg':>4} {'changed':>7} {'way':<8} {'calls':>7} {'wall s':>8} "
        f"{'cpu s':>7} {'peak MB':>8}  note",
    ]
    for r in runs:
        lines.append(
            f"{r.tickets:>8} {r.share:>4.0%} {r.changing:>7} {r.way:<8} "
            f"{num(r.calls, 'd'):>7} {num(r.wall, '.1f'):>8} {num(r.cpu, '.1f'):>7} "
            f"{num(r.peak_mb, '.0f'):>8}  {r.note}"
        )
    lines += [
        "",
        "ratios: calls, then wall time (~: calls the plain script makes, counted, not run)",
        f"{'tickets':>8} {'chg':>4} {'min calls':>9} {'bound s':>7} {'floor s':>7} "
        f"{'zd/plain':>9} {'zd/careful':>10} {'zd/min':>7} {'zd/plain':>9} {'zd/careful':>10}",
    ]
    cases: dict[tuple[int, float], dict[str, Run]] = {}
    for r in runs:
        cases.setdefault((r.tickets, r.share), {})[r.way] = r
    for (tickets, share), ways in cases.items():
        z, p, c = (ways.get(w) for w in WAYS)
        changing = next(iter(ways.values())).changing
        least = minimum_calls([changing], changing)
        zc, cc = (r.calls if r else None for r in (z, c))
        zw, pw, cw = (r.wall if r else None for r in (z, p, c))
        plain_calls = ratio(zc, p.calls) if p and p.calls is not None else (
            "~" + ratio(zc, expected_calls("plain", changing)) if p else "-")
        lines.append(
            f"{tickets:>8} {share:>4.0%} {least:>9} {least * 60 / args.rpm:>7.1f} "
            f"{limit_seconds(least, args.rpm):>7.0f} "
            f"{plain_calls:>9} {ratio(zc, cc):>10} {ratio(zc, least):>7} "
            f"{ratio(zw, pw):>9} {ratio(zw, cw):>10}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 tickets, 10%% changing")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--shares", default="1,10,50", help="percent of tickets changing")
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--rpm", type=int, default=700,
                        help="account limit, requests per minute (Zendesk Enterprise: 700)")
    parser.add_argument("--latency", type=float, default=20.0, help="ms added to every answer")
    parser.add_argument("--max-minutes", type=float, default=4.0,
                        help="skip a way whose calls alone would take longer at the limit")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",")]
    shares = [0.10] if args.quick else [float(s) / 100 for s in args.shares.split(",")]
    ways = [w for w in args.ways.split(",") if w]
    unknown = set(ways) - set(WAYS)
    if unknown:
        parser.error(f"unknown way {', '.join(sorted(unknown))}; choose from {', '.join(WAYS)}")

    runs: list[Run] = []
    for tickets in sizes:
        for share in shares:
            changing = _changing(tickets, share, args.seed)
            for way in ways:
                run = Run(tickets, share, changing, way)
                runs.append(run)
                bound = limit_seconds(expected_calls(way, changing), args.rpm)
                if bound > args.max_minutes * 60:
                    run.note = f"not run: >= {bound / 60:.0f} min at the limit"
                    continue
                print(f"{tickets} x {share:.0%}: {way} ...", file=sys.stderr, flush=True)
                with tempfile.TemporaryDirectory(prefix="zdops-bench-") as workdir:
                    run_way(run, args, Path(workdir))
    print(report(runs, args))
    return 0


def _changing(tickets: int, share: float, seed: int) -> int:
    """How many tickets `mark` will tag, without keeping a sandbox around."""
    from runner.sandbox import Sandbox

    sandbox = Sandbox(tickets=tickets, seed=seed)
    try:
        with sandbox.store.lock:
            open_count = sum(1 for t in sandbox.store.iter_tickets() if t["status"] != "closed")
        return min(open_count, round(share * tickets))
    finally:
        sandbox.close()


if __name__ == "__main__":
    sys.exit(main())
