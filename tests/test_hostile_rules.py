"""Hostile rule content: regexes that backtrack without end, and templates that reach for more.

A pull request can put anything in a rule. Python's `re` cannot be timed out (it holds the GIL
while it matches, so no signal or thread stops it), so a catastrophic pattern must never reach
a ticket: validate refuses it with a located error, the engine refuses it again, and what is
left is matched against at most MATCH_TEXT_LIMIT characters. The tests that evaluate a pattern
on a hostile text would hang without those fixes; pytest-timeout turns a hang into a failure.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from runner.cli import main
from runner.config import parse_config
from runner.config.models import Actions, Condition
from runner.config.regex_safety import MATCH_TEXT_LIMIT, backtracking_risk
from runner.engine.actions import compile_actions
from runner.engine.conditions import compile_condition
from runner.engine.resolve import InMemoryNames, Resolver
from runner.engine.templates import render
from runner.errors import ConfigError

ENC = "ENC[AES256_GCM,data:c2VjcmV0,iv:aXZpdml2aXZpdg==,tag:dGFndGFndGFn,type:str]"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
RESOLVER = Resolver(
    InMemoryNames(ticket_fields=[{"id": 501, "type": "text", "title": "Order number"}])
)

# Each takes longer than the test timeout on HOSTILE_TEXT without the fix (measured: `a*a*a*b`
# alone needs over a minute on 1,000 characters).
CATASTROPHIC = [
    r"(a+)+$",
    r"(a*)*$",
    r"(a|aa)+$",
    r"(a|ab)*c",
    r"(\w+\s?)*$",
    r"^(a+)+b",
    r"a*a*a*b",
    r"\s*\s*\s*x",
    r"(?i)a+A+b",
    r"(.*a){20}",
    r"(?=(a+)+b)",
    r"(x+x+)+y",
]
SAFE = [
    r"(?i)refund",
    r"^\s*urgent\s*$",
    r"(?i)(?:refund|return)s?\b",
    r"(?:foo|bar)+",
    r"\d{3}-\d{4}",
    r"(\d{3}-)+\d{4}",
    r"[A-Z]+[a-z]+",
    r"\w+@\w+\.com",
    r"order #?\d+",
    r".*x.*y",
    r"(?>a+)+b",
    r"a++a++b",
]
HOSTILE_TEXT = "a" * 5_000 + "!"


def config(pattern: str, field: str = "subject") -> str:
    return (
        "version: 1\nzendesk: {subdomain: acme}\ntokens:\n"
        f"  - {{name: bot, email: bot@acme.test, key: '{ENC}', primary: true}}\n"
        "rules:\n"
        "  - name: hostile\n"
        "    when:\n"
        "      all:\n"
        f"        - {{field: {field}, operator: matches, value: '{pattern}'}}\n"
        "    actions: {priority: high}\n"
        "sops: {mac_only_encrypted: true}\n"
    )


@pytest.mark.timeout(10)
@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_validate_refuses_catastrophic_patterns_with_a_located_error(pattern: str) -> None:
    re.compile(pattern)  # each is a valid regex: only its shape is the problem
    with pytest.raises(ConfigError) as caught:
        parse_config(config(pattern), "hostile.yaml")
    [problem] = [p for p in caught.value.problems if p.severity == "error"]
    assert (problem.file, problem.line) == ("hostile.yaml", 9)
    assert problem.column > 1
    assert problem.path == "rules[hostile].when.all[0].value"
    assert "refused" in problem.message and "Rewrite" in problem.message


@pytest.mark.parametrize("pattern", SAFE)
def test_common_patterns_stay_allowed(pattern: str) -> None:
    assert backtracking_risk(pattern) is None
    parse_config(config(pattern), "ok.yaml")


@pytest.mark.parametrize("field", ["description", "custom_fields.Order number"])
def test_the_check_covers_every_text_field(field: str) -> None:
    with pytest.raises(ConfigError, match="refused"):
        parse_config(config(r"(a+)+$", field=f"'{field}'"), "hostile.yaml")


@pytest.mark.timeout(10)
def test_cli_validate_reports_the_pattern_as_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(config(r"(a+)+$"))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:9:" in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


def ticket(**fields: Any) -> dict[str, Any]:
    return {"id": 1, "status": "open", "subject": "", "custom_fields": [], **fields}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_engine_refuses_what_validate_refuses_before_any_ticket_is_matched(pattern: str) -> None:
    condition = Condition(field="subject", operator="matches", value=pattern)
    with pytest.raises(ConfigError, match="refused"):
        # Without the engine's own check this compiles, and the match below never returns.
        predicate = compile_condition("hostile", condition, RESOLVER, NOW)
        predicate(ticket(subject=HOSTILE_TEXT))


@pytest.mark.timeout(10)
def test_engine_matches_a_bounded_prefix_of_huge_text() -> None:
    # `.*x.*y` is quadratic: about a minute on 300,000 characters, a fraction of a second on
    # the first MATCH_TEXT_LIMIT of them.
    condition = Condition(field="description", operator="matches", value=r".*x.*y")
    predicate = compile_condition("big", condition, RESOLVER, NOW)
    assert not predicate(ticket(description="a" * 300_000))
    assert predicate(ticket(description="x" + "a" * 100 + "y"))


def test_the_text_bound_is_where_the_docs_say() -> None:
    condition = Condition(field="subject", operator="matches", value="needle")
    predicate = compile_condition("bound", condition, RESOLVER, NOW)
    assert predicate(ticket(subject="a" * (MATCH_TEXT_LIMIT - 6) + "needle"))
    assert not predicate(ticket(subject="a" * (MATCH_TEXT_LIMIT - 5) + "needle"))


ATTRIBUTE_GRABS = [
    "{{ticket.__class__}}",
    "{{ticket.__class__.__mro__}}",
    "{{rule.name.upper}}",
    "{{ rule.name.__len__ }}",
    "{{ticket.requester.__dict__}}",
    "{{ticket['subject']}}",
    "{{ticket.id|upper}}",
    "{{ticket.subject()}}",
    "{{ticket}}",
    "{{config.tokens}}",
    "{{{{rule.name}}}}",
    "{{ {{ticket.id}} }}",
    "{{ticket.id",
]


def comment_config(body: str) -> str:
    quoted = body.replace("'", "''")
    return (
        "version: 1\nzendesk: {subdomain: acme}\ntokens:\n"
        f"  - {{name: bot, email: bot@acme.test, key: '{ENC}', primary: true}}\n"
        "rules:\n"
        "  - name: note\n"
        "    when: {query: 'status:open -tags:noted'}\n"
        "    actions:\n"
        "      tags: {add: [noted]}\n"
        f"      comment: {{body: 'Hello {quoted}', public: false}}\n"
        "sops: {mac_only_encrypted: true}\n"
    )


@pytest.mark.parametrize("body", ATTRIBUTE_GRABS)
def test_validate_rejects_templates_that_reach_for_attributes(body: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(comment_config(body), "t.yaml")
    problems = [p for p in caught.value.problems if p.severity == "error"]
    assert problems and all(p.line == 10 for p in problems)
    assert all(p.path == "rules[note].actions.comment.body" for p in problems)


@pytest.mark.parametrize("body", ATTRIBUTE_GRABS)
def test_the_engine_refuses_them_too(body: str) -> None:
    with pytest.raises(ConfigError, match="placeholder"):
        compile_actions("note", Actions.model_validate({"comment": {"body": body}}), RESOLVER)


@pytest.mark.parametrize("body", ATTRIBUTE_GRABS)
def test_rendering_leaves_unknown_placeholders_inert(body: str) -> None:
    values = {"ticket.id": "1", "ticket.subject": "Refund", "rule.name": "note"}
    out = render(body, values)
    # Only the four known placeholders are filled; everything else stays literally as written,
    # so nothing Python-ish (a class, a bound method, a dict) can be evaluated into a comment.
    assert out == body.replace("{{rule.name}}", "note").replace("{{ticket.id}}", "1")


def test_values_are_inserted_once_and_never_expanded_again() -> None:
    body = "{{ticket.subject}} / {{rule.name}}"
    hostile_subject = "{{ticket.requester.name}} {{rule.name}} {{ticket.__class__}}"
    out = render(body, {"ticket.subject": hostile_subject, "rule.name": "r"})
    assert out == f"{hostile_subject} / r"


def test_a_pattern_python_warns_about_prints_no_python_warning(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "version: 1\nzendesk: {subdomain: acme}\ntokens: []\nrules:\n  - name: r\n"
        "    when:\n      all:\n        - {field: subject, operator: matches, value: '[[a]'}\n"
        "    actions: {priority: high}\n"
    )
    completed = subprocess.run(
        [sys.executable, "-W", "default", "-m", "runner", "validate", str(config)],
        capture_output=True, text=True, check=False,
    )
    assert "FutureWarning" not in completed.stderr
    assert "no tokens" in completed.stderr + completed.stdout
