"""`zdops demo` end to end: a subprocess from a clean HOME, nothing on PATH but python."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from runner.sandbox import Sandbox


def clean_env(home: Path) -> dict[str, str]:
    """A fresh machine: empty HOME, no SOPS_* variables, PATH holding only python (and zdops)."""
    return {
        "HOME": str(home),
        "PATH": str(Path(sys.executable).parent),
        "LANG": "C.UTF-8",
        # the demo talks to its own loopback sandbox even where CI pins another account
        "ZDOPS_SUBDOMAIN": "acme",
    }


def test_demo_runs_the_whole_loop_from_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    workdir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "runner", "demo", "--dir", str(workdir), "--port", "0"],
        env=clean_env(home), capture_output=True, text=True, timeout=120, check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out

    # who the actions appear as, before anything is read
    assert "token automation-bot (primary) acts as Automation Bot <bot@example.com>, agent: ok" \
        in out
    assert "token jane (run_as only) acts as Jane Agent <jane@example.com>, agent: ok" in out
    # a non-empty plan, then an apply of every planned ticket
    planned = re.search(r"Plan: (\d+) tickets? to change", out)
    assert planned and int(planned[1]) > 0
    assert f"Applied: {planned[1]} tickets changed, 0 failed, 0 skipped (stale)." in out
    # the audit of a changed ticket names the primary's user
    assert re.search(r"Ticket #\d+, latest audit .*\n\s+author  Automation Bot <bot@example\.com>",
                     out)
    # after set-primary, the re-plan acts as Jane and has nothing to do
    second = out.split("zdops plan, again", 1)[1]
    assert 'Acting as  Jane Agent <jane@example.com> (agent) — token "jane", primary' in second
    assert "Plan: no changes" in second
    assert "What to try next" in out

    # no secret anywhere in the output: the demo's age key, nor the tokens' keys
    identity = next(line for line in (workdir / "age-key.txt").read_text().splitlines()
                    if line.startswith("AGE-SECRET-KEY-1"))
    sandbox = Sandbox(tickets=1, seed=1)
    try:
        keys = [sandbox.credentials(user["email"], "oauth")
                for user in (sandbox.bot, sandbox.agent)]
    finally:
        sandbox.close()
    for secret in (identity, *keys):
        assert secret not in out
        for path in workdir.rglob("*"):
            if path.name != "age-key.txt":
                assert secret not in path.read_text(errors="replace"), path
    assert stat.S_IMODE((workdir / "age-key.txt").stat().st_mode) == 0o600
    assert sorted(p.name for p in workdir.iterdir()) == [".sops.yaml", "age-key.txt",
                                                         "config.yaml"]
    assert list(home.iterdir()) == []  # nothing written to the user's home


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    done = subprocess.run(
        [sys.executable, "-m", "runner", "demo", "--dir", str(tmp_path), "--port", "0"],
        env=clean_env(tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert f"error: {tmp_path} is not an empty directory." in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_demo_refuses_a_directory_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    done = subprocess.run(
        [sys.executable, "-m", "runner", "demo", "--dir", str(tmp_path / "notes.txt" / "d")],
        env=clean_env(tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert f"error: cannot create the directory {tmp_path / 'notes.txt' / 'd'}: Not a " \
        "directory." in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


def test_demo_hands_sops_only_its_own_key_and_leaves_the_callers_variables(
    tmp_path: Path, sops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.demo import run_demo

    class Quiet:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def step(self, number: int, title: str) -> None:
            self.lines.append(title)

        def say(self, text: str) -> None:
            self.lines.append(text)

        def show(self, text: str) -> None:
            self.lines.append(text)

    monkeypatch.setenv("SOPS_AGE_KEY_FILE", "/callers/own/keys.txt")
    monkeypatch.setenv("SOPS_AGE_KEY", "not-an-age-key")  # sops would refuse it if handed over
    result = run_demo(Quiet(), directory=tmp_path / "d", tickets=60, port=0)
    assert result.changed == result.applied > 0 and result.replanned == 0
    assert result.audit_author == "Automation Bot <bot@example.com>"
    assert os.environ["SOPS_AGE_KEY_FILE"] == "/callers/own/keys.txt"
    assert os.environ["SOPS_AGE_KEY"] == "not-an-age-key"


def test_demo_on_a_busy_port_prints_next_steps_that_work(tmp_path: Path) -> None:
    """With 8765 taken the demo moves to a free port, and its "try next" names that port."""
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    taken = busy.getsockname()[1]
    home = tmp_path / "home"
    home.mkdir()
    workdir = tmp_path / "demo"
    env = clean_env(home)
    del env["ZDOPS_SUBDOMAIN"]  # the next steps are for a terminal, not a pinned CI job
    try:
        done = subprocess.run(
            [sys.executable, "-m", "runner", "demo", "--dir", str(workdir), "--port", str(taken),
             "--tickets", "80"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        busy.close()
    assert done.returncode == 0, done.stdout + done.stderr
    url = re.search(r"seeded account with 80 tickets at (http://127\.0\.0\.1:(\d+))\.",
                    done.stdout)
    assert url and int(url[2]) != taken
    line = next(x for x in done.stdout.splitlines() if "zdops sandbox " in x)
    command = line.split("|", 1)[1].split("&", 1)[0].split()
    assert command == ["zdops", "sandbox", "--tickets", "80", "--port", url[2]]

    # the printed sandbox command serves the account and keys the demo's files were made for
    served = subprocess.Popen([sys.executable, "-m", "runner", *command[1:]], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert served.stdout is not None
        assert url[1] in served.stdout.readline()
        verify = subprocess.run(
            [sys.executable, "-m", "runner", "tokens", "verify"], cwd=workdir,
            env={**env, "SOPS_AGE_KEY_FILE": str(workdir / "age-key.txt")},
            capture_output=True, text=True, timeout=60, check=False,
        )
    finally:
        served.terminate()
        served.wait(timeout=10)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"Zendesk  {url[1]}" in verify.stdout
