"""`zdops apply` of a fresh plan asks before it changes anything: answered on a real terminal.

The child is `python -m runner apply CONFIG` with stdin, stdout and stderr on the slave side of
a pseudo-terminal, as a user's shell runs it; the test is the user at the master side. The
sandbox is served by this process and the config is encrypted by the real sops.

Why an earlier attempt never saw the prompt: apply asked through click.confirm (click 8.3.1
and later hand the whole question to `input()`), and CPython's `input()`, when stdin and
stdout are a terminal, writes its prompt to *stderr* (PyOS_StdioReadline, unless the readline
module is loaded). With stderr captured by a pipe, as a test naturally does, the question went
to that pipe and the pty showed the plan followed by nothing, while the child waited for an
answer. Users had the same bug with `zdops apply 2>log`; apply now writes the question to
stdout itself (commit 32dbb8a), and `test_question_reaches_a_user_who_redirects_stderr` keeps
it there. The other tests keep stderr on the pty too, as a user's terminal has it.

Other pty facts the helper handles: the master is read with select and a deadline (never a
blocking read); the slave is closed in the parent right after the spawn, or the master never
reports the child's end; once the child is gone, reading the master raises EIO (Linux) rather
than returning b""; the child gets its environment explicitly (PATH, the isolated HOME and
XDG_CONFIG_HOME, SOPS_AGE_KEY_FILE, TERM): without the key sops cannot decrypt and apply stops
with an error before any question.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from fixtures_reconcile import Configure, assert_no_secret, group_id
from fixtures_sandbox import ServedSandbox
from fixtures_sops import EncryptedConfig

QUESTION = b"Apply these changes to "
DEADLINE_S = 60.0


@dataclass
class Session:
    """A child on a pty, and everything it wrote there."""

    process: subprocess.Popen[bytes]
    master: int
    seen: bytearray

    def read_until(self, wanted: bytes, deadline: float) -> None:
        while wanted not in self.seen:
            if not self.read_some(deadline):
                shown = bytes(self.seen[-2000:]).decode(errors="replace")
                pytest.fail(f"{wanted!r} did not appear (child exit {self.process.poll()}); "
                            f"the terminal shows:\n{shown}")

    def answer(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, deadline: float) -> int:
        """Read to the end (EOF or EIO once the child has exited), then reap the child."""
        while self.read_some(deadline):
            pass
        return self.process.wait(timeout=max(1.0, deadline - time.monotonic()))

    def text(self) -> str:
        return bytes(self.seen).decode(errors="replace").replace("\r\n", "\n")

    def read_some(self, deadline: float) -> bool:
        """Read what is there; False at the deadline or once the child is gone."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
        if not ready:
            return self.process.poll() is None or self._drain_once()
        return self._drain_once()

    def _drain_once(self) -> bool:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the slave side is closed, the child is gone
            return False
        self.seen.extend(chunk)
        return bool(chunk)


def child_env(config: EncryptedConfig) -> dict[str, str]:
    """Only what the child needs: where python and sops live, the isolated HOME, the age key."""
    home = os.environ["HOME"]
    return {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
        "HOME": home,
        "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"],
        "SOPS_AGE_KEY_FILE": str(config.key.path),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }


def spawn_on_pty(argv: list[str], env: Mapping[str, str], stderr: IO[bytes] | None = None
                 ) -> Session:
    """`argv` with stdin and stdout on a new pty, and stderr too unless `stderr` is given."""
    master, slave = os.openpty()
    try:
        process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave if stderr is None else stderr,
            env=dict(env),
            start_new_session=True,  # its own session: Ctrl-C at the pytest terminal stays ours
            close_fds=True,
        )
    finally:
        os.close(slave)  # else the master never sees the child's end
    return Session(process, master, bytearray())


@pytest.fixture
def config(configure: Configure) -> EncryptedConfig:
    return configure()  # route-billing: open billing tickets go to Billing, tagged


def targets(sandbox: ServedSandbox) -> list[int]:
    found = (sandbox.sb.ticket(i) for i in range(1, sandbox.sb.ticket_count + 1))
    return [t["id"] for t in found if t["status"] != "closed" and "billing" in t["tags"]
            and "billing-routed" not in t["tags"]]


def writes(sandbox: ServedSandbox) -> dict[str, int]:
    by_endpoint = sandbox.sb.stats()["by_endpoint"]
    return {name: entry["total"] for name, entry in by_endpoint.items()
            if not name.startswith("GET ")}


def apply_answering(config: EncryptedConfig, reply: str) -> tuple[int, str]:
    session = spawn_on_pty([sys.executable, "-m", "runner", "apply", str(config.path)],
                           child_env(config))
    deadline = time.monotonic() + DEADLINE_S
    try:
        session.read_until(QUESTION, deadline)
        session.read_until(b"[y/N]", deadline)
        session.answer(reply + "\n")
        code = session.finish(deadline)
    finally:
        if session.process.poll() is None:
            session.process.kill()
            session.process.wait()
        os.close(session.master)
    return code, session.text()


def test_answering_no_changes_nothing(sandbox: ServedSandbox, config: EncryptedConfig) -> None:
    wanted = targets(sandbox)
    assert wanted
    before = {i: sandbox.sb.ticket(i) for i in wanted}

    code, shown = apply_answering(config, "n")

    assert code == 1, shown
    assert "rule route-billing" in shown  # the plan was shown before the question
    assert f"Apply these changes to {len(wanted)} tickets at {sandbox.url}?" in shown
    assert "Apply cancelled; nothing was changed." in shown
    assert "Traceback" not in shown
    assert writes(sandbox) == {}
    assert {i: sandbox.sb.ticket(i) for i in wanted} == before
    assert_no_secret(config, shown)


def test_answering_yes_applies_the_plan_shown(
    sandbox: ServedSandbox, config: EncryptedConfig
) -> None:
    wanted = targets(sandbox)
    billing = group_id(sandbox, "Billing")

    code, shown = apply_answering(config, "y")

    assert code == 0, shown
    assert f"Applied: {len(wanted)} tickets changed, 0 failed, 0 skipped (stale)." in shown
    assert writes(sandbox).get("PUT /api/v2/tickets/update_many")
    for ticket_id in wanted:
        ticket = sandbox.sb.ticket(ticket_id)
        assert ticket["group_id"] == billing and "billing-routed" in ticket["tags"]
        assert any(a["author_id"] == sandbox.bot["id"] for a in sandbox.sb.audits(ticket_id))
    assert targets(sandbox) == []
    assert_no_secret(config, shown)


def test_question_reaches_a_user_who_redirects_stderr(
    sandbox: ServedSandbox, config: EncryptedConfig, tmp_path: Path
) -> None:
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        session = spawn_on_pty([sys.executable, "-m", "runner", "apply", str(config.path)],
                               child_env(config), stderr=stderr)
    deadline = time.monotonic() + DEADLINE_S
    try:
        # wait until the question shows up somewhere: on the terminal, or in the log
        while QUESTION not in session.seen and QUESTION not in log.read_bytes():
            if not session.read_some(deadline):
                pytest.fail(f"no question anywhere; the terminal shows:\n{session.text()}")
        on_terminal = QUESTION in session.seen
        session.answer("n\n")
        code = session.finish(deadline)
    finally:
        if session.process.poll() is None:
            session.process.kill()
            session.process.wait()
        os.close(session.master)
    assert code == 1
    assert on_terminal, (
        "the question went to stderr (the log), not to the terminal the user reads: "
        + log.read_text(errors="replace")[-300:])
    assert writes(sandbox) == {}
