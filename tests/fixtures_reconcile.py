"""Fixtures and helpers of the plan/apply end-to-end tests (CLI -> real sops -> sandbox).

Fixtures:
    configure   factory: configure(rules, primary=..., kind=..., key=..., url=..., extra_tokens=...)
                -> a config for the served sandbox, encrypted by the real sops binary

Helpers the test modules import: the rule snippets and rules_yaml; run_as and api_token (a rule
acting through a second token); config_factory (for a sandbox other than the `sandbox` fixture's);
zdops (the CLI through CliRunner) and refused (a run that must end on a clear error); saved_plan,
apply_with_report, read_report and outcomes; the sandbox look-ups tickets, open_with_tag,
billing_targets, routed and group_id; assert_no_secret.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fixtures_sandbox import ServedSandbox
from fixtures_sops import EncryptedConfig, MakeConfig

from runner.cli import main

BILLING_RULE = """
  - name: route-billing
    when:
      query: 'tags:billing'
      all:
        - {field: tags, operator: not_includes, value: billing-routed}
    actions:
      group: Billing
      tags: {add: [billing-routed]}
"""

REFUND_NOTE_RULE = """
  - name: note-refunds
    when:
      query: 'tags:refund'
      all:
        - {field: tags, operator: not_includes, value: refund-noted}
    actions:
      tags: {add: [refund-noted]}
      comment: {body: "Refund noted by {{rule.name}} on #{{ticket.id}}.", public: false}
"""

# A public reply and an internal note on the same tickets: apply needs two updates for those.
REPLY_AND_NOTE_RULE = """
  - name: answer-refunds
    when:
      query: 'tags:refund'
      all:
        - {field: tags, operator: not_includes, value: refund-answered}
    actions:
      tags: {add: [refund-answered]}
      comment: {body: "We received your refund request #{{ticket.id}}.", public: true}
  - name: note-answered
    when:
      query: 'tags:refund'
      all:
        - {field: tags, operator: not_includes, value: refund-noted}
    actions:
      tags: {add: [refund-noted]}
      comment: {body: "Answered by {{rule.name}}.", public: false}
"""


def rules_yaml(*rules: str) -> str:
    """A `rules:` block from rule snippets written at any indentation."""
    return "rules:\n" + "".join(textwrap.indent(textwrap.dedent(rule), "  ") for rule in rules)


def run_as(rule: str, token: str) -> str:
    """The rule snippet acting through `token` instead of the primary one."""
    head, when, tail = rule.partition("\n    when:")
    assert when, "the rule snippet has no `when:` at the rule's own indentation"
    return f"{head}\n    run_as: {token}{when}{tail}"


def api_token(sandbox: ServedSandbox, name: str, user: Mapping[str, Any]) -> dict[str, object]:
    """A secondary token entry holding the sandbox's real API token of `user`."""
    email = user["email"]
    return {"name": name, "email": email, "kind": "api_token",
            "key": sandbox.credentials(email, "api_token")}


Configure = Callable[..., EncryptedConfig]


@pytest.fixture
def configure(sandbox: ServedSandbox, make_config: MakeConfig) -> Configure:
    """configure(rules, primary=email, kind=..., key=..., url=...) -> an encrypted config."""
    return config_factory(sandbox, make_config)


def config_factory(sandbox: ServedSandbox, make_config: MakeConfig) -> Configure:
    def make(
        rules: str = rules_yaml(BILLING_RULE),
        *,
        primary: str | None = None,
        kind: str = "oauth",
        key: str | None = None,
        url: str | None = None,
        extra_tokens: Iterable[Mapping[str, object]] = (),
    ) -> EncryptedConfig:
        email = primary or sandbox.bot["email"]
        tokens: list[Mapping[str, object]] = [
            {
                "name": "bot",
                "email": email,
                "kind": kind,
                "key": key if key is not None else sandbox.credentials(email, kind),
                "primary": True,
            },
            *extra_tokens,
        ]
        return make_config(tokens, zendesk=f"url: {url or sandbox.url}", rules=rules)

    return make


def zdops(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def refused(*args: str, input: str | None = None) -> Result:
    """`zdops ARGS...` that must stop on a clear error: exit 1 and no traceback."""
    result = zdops(*args, input=input)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result


def saved_plan(config: EncryptedConfig, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """`zdops plan --out` into tmp_path: the plan file and its JSON."""
    out = tmp_path / "plan.json"
    result = zdops("plan", str(config.path), "--out", str(out))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(out.read_text())
    return out, data


def apply_with_report(config: EncryptedConfig, tmp_path: Path, *args: str) -> tuple[Result, Path]:
    """`zdops apply CONFIG ARGS... --report tmp_path/report.json`: the result, the report path."""
    report_path = tmp_path / "report.json"
    return zdops("apply", str(config.path), *args, "--report", str(report_path)), report_path


def read_report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    assert data["format"] == "zdops-apply-report" and data["version"] == 1
    return data


def outcomes(report: Mapping[str, Any]) -> dict[int, str]:
    return {t["ticket_id"]: t["outcome"] for t in report["tickets"]}


def tickets(sandbox: ServedSandbox) -> list[dict[str, Any]]:
    return [sandbox.sb.ticket(i) for i in range(1, sandbox.sb.ticket_count + 1)]


def open_with_tag(sandbox: ServedSandbox, tag: str) -> list[dict[str, Any]]:
    return [t for t in tickets(sandbox) if t["status"] != "closed" and tag in t["tags"]]


def billing_targets(sandbox: ServedSandbox) -> list[int]:
    """The tickets BILLING_RULE selects now: open, tagged billing, not yet routed."""
    return [t["id"] for t in open_with_tag(sandbox, "billing") if "billing-routed" not in t["tags"]]


def routed(sandbox: ServedSandbox, ticket_ids: Iterable[int]) -> list[int]:
    """Those of the tickets that carry the tag BILLING_RULE adds."""
    return [i for i in ticket_ids if "billing-routed" in sandbox.sb.ticket(i)["tags"]]


def group_id(sandbox: ServedSandbox, name: str) -> int:
    found: int = next(g["id"] for g in sandbox.sb.groups if g["name"] == name)
    return found


def assert_no_secret(config: EncryptedConfig, *outputs: Result | str) -> None:
    """No token key and no age identity in any CLI result (stdout and stderr) or text."""
    texts: list[str] = []
    for output in outputs:
        if isinstance(output, str):
            texts.append(output)
        else:
            texts += [output.output, output.stderr or ""]
    for secret in [*config.keys.values(), config.key.identity]:
        for text in texts:
            assert secret not in text
