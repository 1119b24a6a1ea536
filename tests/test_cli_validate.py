"""`zdops validate`: formats, several files, exit codes, and never a traceback or a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import main
from runner.errors import Problem
from runner.render.problems import github_annotation

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path(__file__).parent / "data" / "configs"
EXAMPLE = ROOT / "config.example.yaml"
GOOD = CONFIGS / "good" / "minimal.yaml"
PLAINTEXT = CONFIGS / "bad" / "plaintext-key.yaml"
SECRET = "hunter2-plaintext-token"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"GITHUB_ACTIONS": None, **(env or {})})
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def test_example_is_valid() -> None:
    code, out = run("validate", str(EXAMPLE))
    assert code == 0
    assert out.splitlines()[-1] == f"{EXAMPLE}: valid (1 warning)"
    assert "warning: tokens[jane].kind: Zendesk turns API tokens off on 2027-04-30" in out


def test_several_files_one_bad() -> None:
    code, out = run("validate", str(GOOD), str(PLAINTEXT))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"{GOOD}: valid"
    assert lines[1].startswith(
        f"{PLAINTEXT}:9:10: tokens[bot].key: the key is not a sops-encrypted"
    )
    assert lines[2] == f"{PLAINTEXT}: invalid (1 error)"


def test_default_config_from_environment(tmp_path: Path) -> None:
    code, out = run("validate", env={"ZDOPS_CONFIG": str(GOOD)})
    assert (code, out) == (0, f"{GOOD}: valid\n")
    missing = tmp_path / "config.yaml"
    code, out = run("validate", env={"ZDOPS_CONFIG": str(missing)})
    assert code == 1 and out.startswith(f"{missing}: no such file; ")


def test_json_format() -> None:
    code, out = run("validate", "--format", "json", str(EXAMPLE), str(PLAINTEXT))
    assert code == 1
    document = json.loads(out)
    assert document["valid"] is False
    example, bad = document["files"]
    assert (example["valid"], example["errors"], example["warnings"]) == (True, 0, 1)
    assert bad["problems"][0] | {"message": ""} == {
        "file": str(PLAINTEXT),
        "line": 9,
        "column": 10,
        "path": "tokens[bot].key",
        "severity": "error",
        "message": "",
    }


def test_github_format_is_chosen_in_actions() -> None:
    code, out = run("validate", str(PLAINTEXT), env={"GITHUB_ACTIONS": "true"})
    assert code == 1
    assert out.startswith(f"::error file={PLAINTEXT},line=9,col=10,title=zdops::tokens[bot].key: ")
    code, out = run("validate", "--format", "text", str(PLAINTEXT), env={"GITHUB_ACTIONS": "true"})
    assert out.startswith(f"{PLAINTEXT}:9:10: ")


def test_github_escaping() -> None:
    problem = Problem("a,b:c%.yaml", 3, 0, "x", "50% off\nnext", "warning")
    assert github_annotation(problem) == (
        "::warning file=a%2Cb%3Ac%25.yaml,line=3,col=1,title=zdops::x: 50%25 off%0Anext"
    )
    assert (
        github_annotation(Problem("f.yaml", 0, 0, "", "gone"))
        == "::error file=f.yaml,title=zdops::gone"
    )


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_plaintext_key_is_never_echoed(fmt: str) -> None:
    code, out = run("validate", "--format", fmt, str(PLAINTEXT))
    assert code == 1
    assert SECRET not in out and "hunter2" not in out
    assert "sops encrypt -i FILE" in out


def test_subprocess_exit_codes_and_no_traceback(tmp_path: Path) -> None:
    bad = sorted((CONFIGS / "bad").glob("*.yaml"))
    env = {**os.environ, "GITHUB_ACTIONS": "false"}
    result = subprocess.run(
        [sys.executable, "-m", "runner", "validate", str(tmp_path), *map(str, bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    summaries = [
        line for line in result.stdout.splitlines() if line.endswith(")") and ": invalid (" in line
    ]
    assert len(summaries) == len(bad) + 1
    good = subprocess.run(
        [sys.executable, "-m", "runner", "validate", str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert good.returncode == 0 and good.stderr == ""
