"""A known key, run through every command that reads keys, must appear nowhere.

Not in stdout or stderr, not in log records, not in any file under the test's directory
(temp files included: TMPDIR points there; plans and reports are written there), and not on
the command line or in the environment of any sops child: ZDOPS_SOPS is a wrapper that records
both, then runs sops. The age identity must not appear either, except in its own key file.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fixtures_reconcile import BILLING_RULE, REFUND_NOTE_RULE, rules_yaml
from fixtures_sops import EncryptedConfig, MakeConfig

from runner.cli import main
from runner.sandbox.emulator import Sandbox
from runner.sandbox.server import serve

ADDED_KEY = "added-key-Wm4Rt8Yq2Lk6Hn0s3cr3t"


@pytest.fixture
def sops_log(
    tmp_path: Path, sops_bin: str, sops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    log = tmp_path / "sops-children.log"
    wrapper = tmp_path / "sops-wrapper"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'printf "argv: %s\\n" "$*" >> "{log}"\n'
        f'env >> "{log}"\n'
        f'exec "{sops_bin}" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("ZDOPS_SOPS", str(wrapper))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return log


@pytest.fixture
def sandbox_url() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(tickets=0, seed=5)
    with serve(sandbox) as server:
        yield sandbox, server.url


def test_no_key_leaks_from_any_command(
    sandbox_url: tuple[Sandbox, str],
    make_config: MakeConfig,
    sops_log: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox, url = sandbox_url
    config, keys = bot_and_jane(sandbox, url, make_config)
    path = str(config.path)
    runner = CliRunner()
    outputs: list[str] = []

    def run(*args: str, input: str | None = None, expect: int = 0) -> None:
        result = runner.invoke(main, list(args), input=input)
        outputs.extend([result.stdout, result.stderr])
        assert result.exit_code == expect, result.output

    run("validate", path)
    run("tokens", "list", path)
    run("tokens", "list", "--format", "json", path)
    run("tokens", "add", "ops", "--email", "ops@example.com", path, input=ADDED_KEY + "\n")
    run("tokens", "verify", path, expect=1)  # ops is not a sandbox user: reported, exit 1
    run("tokens", "verify", "bot", "jane", "--format", "json", path)
    run("tokens", "set-primary", "jane", path)
    run("tokens", "remove", "bot", path)
    run("tokens", "add", "ops", "--email", "o@example.com", path, input=ADDED_KEY, expect=1)
    run("tokens", "remove", "nobody", path, expect=1)
    run("--debug", "tokens", "verify", "nobody", path, expect=1)

    children = sops_log.read_text()
    assert children.count("argv: ") >= 4  # one sops run each: add, two verifies, remove
    assert "SOPS_DISABLE_VERSION_CHECK=1" in children
    assert_nowhere(config, [*keys, ADDED_KEY], outputs, caplog.text, sops_log, tmp_path)


def bot_and_jane(
    sandbox: Sandbox, url: str, make_config: MakeConfig, **extra: Any
) -> tuple[EncryptedConfig, list[str]]:
    """A config with the sandbox's bot (oauth, primary) and Jane (api_token), and their keys."""
    bot, jane = sandbox.bot, sandbox.agent
    keys = [sandbox.credentials(bot["email"], "oauth"),
            sandbox.credentials(jane["email"], "api_token")]
    config = make_config(
        [
            {"name": "bot", "email": bot["email"], "kind": "oauth", "key": keys[0],
             "primary": True},
            {"name": "jane", "email": jane["email"], "kind": "api_token", "key": keys[1]},
        ],
        zendesk=f"url: {url}",
        **extra,
    )
    return config, keys


def assert_nowhere(
    config: EncryptedConfig,
    secrets: list[str],
    outputs: list[str],
    logs: str,
    sops_log: Path,
    tmp_path: Path,
) -> None:
    children = sops_log.read_text()
    written = {
        str(p): p.read_bytes()
        for p in tmp_path.rglob("*")
        if p.is_file() and p != sops_log
    }
    assert written, "the scan must see the files the commands wrote"
    for secret in secrets:
        for text in outputs:
            assert secret not in text
        assert secret not in logs
        assert secret not in children
        for name, data in written.items():
            assert secret.encode() not in data, name
    identity = config.key.identity
    assert all(identity not in text for text in outputs) and identity not in logs
    assert identity not in children
    for name, data in written.items():
        if name != str(config.key.path):
            assert identity.encode() not in data, name


def test_no_key_leaks_from_plan_and_apply(
    make_config: MakeConfig,
    sops_log: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox = Sandbox(tickets=200, seed=5)
    with serve(sandbox) as server:
        run_plan_and_apply(sandbox, server.url, make_config, sops_log, tmp_path, caplog)


def run_plan_and_apply(
    sandbox: Sandbox,
    url: str,
    make_config: MakeConfig,
    sops_log: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, keys = bot_and_jane(sandbox, url, make_config,
                                rules=rules_yaml(BILLING_RULE, REFUND_NOTE_RULE))
    path = str(config.path)
    plan, report = tmp_path / "plan.json", tmp_path / "report.json"
    runner = CliRunner()
    outputs: list[str] = []

    def run(*args: str, expect: tuple[int, ...] = (0,)) -> None:
        result = runner.invoke(main, list(args))
        outputs.extend([result.stdout, result.stderr])
        assert result.exit_code in expect, result.output

    run("plan", path, "--out", str(plan))
    run("plan", path, "--format", "json")
    run("plan", path, "--format", "markdown", "--detailed-exitcode", expect=(2,))
    run("apply", path, str(plan), "--report", str(report))
    run("apply", path, "--yes", "--report", str(report))
    run("--debug", "plan", path, "--rule", "no-such-rule", expect=(1,))
    run("--debug", "apply", path, str(plan), expect=(0, 1))  # applied already: all stale
    assert plan.is_file() and report.is_file()
    assert_nowhere(config, keys, outputs, caplog.text, sops_log, tmp_path)
