"""`zdops tokens add` on a terminal: the key is asked twice at a hidden prompt, never echoed."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from fixtures_sops import EncryptedConfig

from runner.secrets import decrypt_keys

KEY = "typed-at-prompt-Hd72Kq1s3cr3t"
DEADLINE = 30.0


class Terminal:
    """A child process on a pseudo-terminal, driven like a person at a keyboard."""

    def __init__(self, argv: list[str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True
        )
        os.close(slave)
        self.seen = b""

    def wait_for(self, text: str, times: int = 1) -> None:
        """Wait until `text` has been shown `times` times: getpass flushes keys typed ahead."""
        end = time.monotonic() + DEADLINE
        while self.seen.count(text.encode()) < times:
            assert time.monotonic() < end, f"no {text!r} in {self.seen!r}"
            ready, _, _ = select.select([self.master], [], [], 1.0)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    break
        assert self.seen.count(text.encode()) >= times, self.seen

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self) -> int:
        code = self.process.wait(timeout=DEADLINE)
        while select.select([self.master], [], [], 0.2)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        os.close(self.master)
        return code


def test_key_typed_at_the_hidden_prompt_is_confirmed_and_never_echoed(
    encrypted_config: EncryptedConfig,
) -> None:
    path = encrypted_config.path
    term = Terminal([sys.executable, "-m", "runner", "tokens", "add", "ops",
                     "--email", "ops@acme.test", str(path)])
    term.wait_for("Key for token ops: ")
    term.type(KEY)
    term.wait_for("Repeat for confirmation: ")
    term.type("a different key")
    term.wait_for("do not match")  # asked again, nothing written yet
    term.wait_for("Key for token ops: ", times=2)
    term.type(KEY)
    term.wait_for("Repeat for confirmation: ", times=2)
    term.type(KEY)
    assert term.finish() == 0, term.seen
    assert b"added token 'ops'" in term.seen
    assert KEY.encode() not in term.seen
    assert KEY not in path.read_text()
    assert decrypt_keys(path, ["ops"])["ops"].reveal() == KEY
