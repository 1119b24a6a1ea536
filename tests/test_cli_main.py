"""The CLI's one error handler: exit codes for usage errors, bugs and interrupts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from runner.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["--bogus"],
        ["nosuch"],
        ["plan", "--bogus"],
        ["plan", "--detailed-exitcode", "--format", "xml"],
        ["validate", "--format", "xml"],
        ["tokens", "nosuch"],
        ["tokens", "add"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_usage_errors_exit_1_never_2(argv: list[str]) -> None:
    # 2 is "changes pending" under --detailed-exitcode: a typo in a CI step must not read as that.
    result = CliRunner().invoke(main, argv, prog_name="zdops")
    assert result.exit_code == 1, result.output
    assert "Usage: zdops" in result.output
    assert "Error:" in result.output
    assert "Traceback" not in result.output


def test_help_and_version_exit_0() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--help"]).exit_code == 0
    assert runner.invoke(main, ["plan", "--help"]).exit_code == 0
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("zdops, version ")


@pytest.mark.parametrize("argv", [[], ["tokens"]], ids=["zdops", "zdops tokens"])
def test_a_group_without_a_command_prints_its_help_once_and_exits_1(argv: list[str]) -> None:
    result = CliRunner().invoke(main, argv, prog_name="zdops")
    assert result.exit_code == 1
    assert result.output.count("Usage: zdops") == 1 and "Commands:" in result.output
    assert "Error:" not in result.output
