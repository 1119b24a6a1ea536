"""Defects found by using `zdops validate` as a user would, each pinned by a test.

Positions inside multi-line scalars, the nullifying-comment check on names and tag case,
custom field values, token checks that survive a broken token, and the model and the published
JSON Schema agreeing on values YAML writers produce.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from test_config_checks import commenting as commenting_rule
from test_config_checks import config as checks_config

from runner.cli import main
from runner.config import Config, parse_config
from runner.config.source import read_source
from runner.errors import ConfigError, Problem

ROOT = Path(__file__).resolve().parent.parent
ENC = "ENC[AES256_GCM,data:c2VjcmV0,iv:aXZpdml2aXZpdg==,tag:dGFndGFndGFn,type:str]"
HEAD = (
    "version: 1\nzendesk: {subdomain: acme}\ntokens:\n"
    f"  - {{name: bot, email: bot@acme.test, key: '{ENC}', primary: true}}\n"
    "sops: {mac_only_encrypted: true}\n"
)


def problems(text: str) -> list[Problem]:
    try:
        loaded = parse_config(text, "c.yaml")
    except ConfigError as error:
        return list(error.problems)
    return list(loaded.warnings)


def errors(text: str) -> list[str]:
    return [
        f"{p.line}:{p.column} {p.path}: {p.message}"
        for p in problems(text)
        if p.severity == "error"
    ]


# Positions inside block and multi-line scalars. A literal block followed by a key that is less
# indented used to take that key's indentation for the block's, shifting every column.


def test_template_fault_in_a_literal_block_followed_by_a_key_is_located_exactly() -> None:
    text = HEAD + (
        "rules:\n"
        "  - name: a\n"
        "    when: {query: 'status:open -tags:x'}\n"
        "    actions:\n"
        "      tags: {add: [x]}\n"
        "      comment:\n"
        "        body: |\n"
        "          Hello {{ticket.requester.name}},\n"
        "          see {{ticket.foo}} now\n"
        "        public: true\n"
    )
    found = errors(text)
    assert len(found) == 1
    # line 14 is "          see {{ticket.foo}} now": the braces start at column 15
    assert found[0].startswith("14:15 rules[a].actions.comment.body: '{{ticket.foo}}' is not")


def test_query_error_in_a_literal_block_followed_by_a_key_is_located_exactly() -> None:
    text = HEAD + (
        "rules:\n"
        "  - name: d\n"
        "    when:\n"
        "      query: |\n"
        '        status:open tags:"a b\n'
        "    actions: {priority: high}\n"
    )
    found = errors(text)
    assert len(found) == 1
    # line 10 is '        status:open tags:"a b': the quote is column 18 of the query
    assert found[0].startswith("10:26 rules[d].when.query: cannot parse the search query at")


def test_regex_error_in_a_folded_block_points_into_the_text() -> None:
    text = HEAD + (
        "rules:\n"
        "  - name: b\n"
        "    when:\n"
        "      all:\n"
        "        - field: subject\n"
        "          operator: matches\n"
        "          value: >-\n"
        "            abc\n"
        "            (def\n"
        "    actions: {priority: high}\n"
    )
    found = errors(text)
    assert len(found) == 1
    assert found[0].startswith("14:13 rules[b].when.all[0].value: not a valid Python regular")


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        ("a: one two\n  three {{x}}\nb: 1\n", ("a",), (2, 9)),
        ("a: 'one two\n   three {{x}}'\nb: 1\n", ("a",), (2, 10)),
        ("a: |\n  one\n\n  two {{x}}\n\nb: 1\n", ("a",), (4, 7)),
        ("a: >\n  one\n  two {{x}}\n# c\nb: 1\n", ("a",), (3, 7)),
        ("a:\r\n  b: |\r\n    one\r\n    two {{x}}\r\n  c: 1\r\n", ("a", "b"), (4, 9)),
        ("a:\n  - >-\n    one\n    two {{x}}\n  - 2\n", ("a", 0), (4, 9)),
        # an explicit indentation indicator is rare: the scalar's start is good enough
        ("a: |2\n   one {{x}}\n", ("a",), (1, 4)),
    ],
)
def test_positions_inside_multi_line_scalars(
    text: str, path: tuple[str | int, ...], expected: tuple[int, int]
) -> None:
    source = read_source(text, "c.yaml")
    offset = source.value_at(path).index("{{")
    assert source.position_in_scalar(path, offset) == expected


def test_the_cli_annotates_the_line_inside_the_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = HEAD + (
        "rules:\n"
        "  - name: a\n"
        "    when: {query: 'status:open -tags:x'}\n"
        "    actions:\n"
        "      tags: {add: [x]}\n"
        "      comment:\n"
        "        body: |\n"
        "          Hi {{rule.nme}}\n"
        "        public: false\n"
    )
    monkeypatch.chdir(tmp_path)
    Path("c.yaml").write_text(text)
    result = CliRunner().invoke(main, ["validate", "--format", "github", "c.yaml"])
    assert result.exit_code == 1
    assert result.output.startswith("::error file=c.yaml,line=13,col=14,title=zdops::")


# The nullifying-comment check: a name set by an action is not null, and that very name is
# known; tags compare in lower case as Zendesk stores them and the engine compares them.


def commenting(query: str, actions: str, conditions: str = "") -> str:
    return checks_config(commenting_rule(query, actions, conditions))


NULLIFIES = [
    ("status:open assignee:none", "assignee: jane@acme.test", ""),
    ("status:open -assignee:jane@acme.test", "assignee: Jane@Acme.test", ""),
    ("status:open group:none", "group: Billing", ""),
    ('status:open -group:"Billing Team"', "group: Billing Team", ""),
    (
        "status:open",
        "assignee: jane@acme.test",
        ", all: [{field: assignee, operator: not_present}]",
    ),
    ("status:open", "group: Billing", ", all: [{field: group, operator: is_not, value: billing}]"),
    ("status:open -tags:done", "tags: {add: [Done]}", ""),
    (
        "status:open",
        "tags: {add: [Done]}",
        ", all: [{field: tags, operator: not_includes, value: DONE}]",
    ),
]

DOES_NOT_NULLIFY = [
    ("status:open assignee:jane", "assignee: jane@acme.test", ""),  # a name may be that user
    ("status:open -assignee:jane", "assignee: jane@acme.test", ""),
    ("status:open -assignee:none", "assignee: jane@acme.test", ""),
    ("status:open assignee:jane@acme.test", "assignee: jane@acme.test", ""),
    ("status:open group:Support", "group: Billing", ""),  # another name: only the plan knows
    ("status:open", "group: Billing", ", all: [{field: group, operator: is_not, value: 123}]"),
    ("status:open assignee:none", "group: Billing", ""),
    ("status:open tags:vip", "tags: {add: [VIP]}", ""),
]


@pytest.mark.parametrize(("query", "actions", "conditions"), NULLIFIES)
def test_comment_that_nullifies_by_name_or_tag_case_is_accepted(
    query: str, actions: str, conditions: str
) -> None:
    assert errors(commenting(query, actions, conditions)) == []


@pytest.mark.parametrize(("query", "actions", "conditions"), DOES_NOT_NULLIFY)
def test_comment_that_may_keep_matching_is_still_rejected(
    query: str, actions: str, conditions: str
) -> None:
    found = errors(commenting(query, actions, conditions))
    assert len(found) == 1 and "would comment on the same tickets on every run" in found[0]


def test_a_tag_added_and_removed_in_different_case_is_reported() -> None:
    text = HEAD + (
        "rules:\n  - name: r\n    when: {query: 'status:open'}\n"
        "    actions: {tags: {add: [Done], remove: [done]}}\n"
    )
    assert errors(text) == [
        "9:28 rules[r].actions.tags.add[0]: tag 'Done' is both added and removed; keep it in "
        "one list"
    ]


# Custom field values of an action: the engine can only send scalars and option lists.


def test_custom_field_values_that_zendesk_cannot_take_are_located() -> None:
    text = HEAD + (
        "rules:\n  - name: a\n    when: {query: 'status:open'}\n    actions:\n"
        '      custom_fields: {"Order number": {a: 1}, "": 2, Regions: [EMEA, 3], Ok: [a], '
        "Clear: null, Count: 3, Flag: true}\n"
    )
    found = errors(text)
    assert [f.split(": ", 1)[0] for f in found] == [
        '10:39 rules[a].actions.custom_fields["Order number"]',
        '10:47 rules[a].actions.custom_fields[""]',
        "10:70 rules[a].actions.custom_fields.Regions[1]",
    ]
    assert "not a mapping" in found[0]
    assert "title or numeric id as the key" in found[1]
    assert "multiselect" in found[2]


# Token checks judged on the tokens as written, so one broken token hides nothing.


def test_no_primary_is_reported_even_when_another_token_is_broken() -> None:
    text = (
        "version: 1\nzendesk: {subdomain: acme}\ntokens:\n"
        f"  - {{name: bot, email: bot@acme.test, key: '{ENC}'}}\n"
        f"  - {{name: jane, email: not-an-email, kind: api_token, key: '{ENC}'}}\n"
        "sops: {mac_only_encrypted: true}\n"
    )
    found = problems(text)
    rendered = [(p.severity, p.path, p.message.split(";")[0].split(" such as")[0]) for p in found]
    assert rendered == [
        ("error", "tokens", "no token is primary (tokens: bot, jane)"),
        ("error", "tokens[jane].email", "'not-an-email' is not valid: expected an email address"),
        ("warning", "tokens[jane].kind", "Zendesk turns API tokens off on 2027-04-30"),
    ]


def test_two_primaries_are_reported_even_when_one_of_them_is_broken() -> None:
    text = (
        "version: 1\nzendesk: {subdomain: acme}\ntokens:\n"
        f"  - {{name: bot, email: bot@acme.test, key: '{ENC}', primary: true}}\n"
        "  - {name: jane, email: jane@acme.test, key: plaintext, primary: true}\n"
        "sops: {mac_only_encrypted: true}\n"
    )
    found = errors(text)
    assert any("several tokens are primary (bot, jane)" in f for f in found)
    assert not any("plaintext" in f for f in found)


def test_a_primary_that_is_not_a_boolean_gets_one_error_not_two() -> None:
    text = (
        "version: 1\nzendesk: {subdomain: acme}\ntokens:\n"
        f"  - {{name: bot, email: bot@acme.test, key: '{ENC}', primary: 'yes'}}\n"
        "sops: {mac_only_encrypted: true}\n"
    )
    found = errors(text)
    assert [f.split(" ", 1)[1] for f in found] == [
        "tokens[bot].primary: expected true or false, got a string"
    ]


# Rules whose selection or actions used to escape the checks.


@pytest.mark.parametrize("query", ["''", "'   '"])
def test_an_empty_query_is_not_a_silent_select_everything(query: str) -> None:
    text = HEAD + (
        f"rules:\n  - name: clear\n    when: {{query: {query}}}\n"
        "    actions: {tags: {set: []}}\n"
    )
    found = errors(text)
    assert len(found) == 1
    assert found[0].startswith("8:19 rules[clear].when.query: the query is empty, so it selects")


def test_a_bad_action_does_not_hide_a_bad_template_next_to_it() -> None:
    text = HEAD + (
        "rules:\n  - name: x\n    when: {query: 'status:open -tags:t'}\n"
        "    actions: {tags: {add: null}, comment: {body: 'Hi {{rule.nam}}'}}\n"
    )
    found = [f.split(";")[0] for f in errors(text)]
    assert found == [
        "9:27 rules[x].actions.tags.add: expected a list, got null",
        "9:54 rules[x].actions.comment.body: '{{rule.nam}}' is not a placeholder zdops fills",
    ]


# YAML-level messages that say where to look.


def test_a_yaml_syntax_error_says_where_the_unclosed_sequence_began() -> None:
    found = errors("version: 1\nzendesk:\n  subdomain: [acme\n")
    assert found == [
        "4:1 : YAML syntax error: while parsing a flow sequence (started at line 3, column 14): "
        "did not find expected ',' or ']'; fix the YAML (a linter such as yamllint shows it in "
        "context)"
    ]


def test_a_duplicate_key_on_one_line_names_the_first_one_s_column() -> None:
    found = errors(HEAD + "defaults: {limit: 5, limit: 6}\n")
    assert found[0].startswith(
        "6:22 defaults.limit: duplicate key 'limit' (first at line 6, column 12);"
    )


# The model and the published schema must agree on what YAML writers produce. JSON has one kind
# of number (5.0 is the integer 5), sops writes booleans, and `subdomain: null` next to a url is
# as good as leaving it out.


def _rule(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": "r",
        "when": {"query": "status:open"},
        "actions": {"priority": "high"},
    }
    rule.update(changes)
    return rule


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "limit-5.0": lambda d: d.update(defaults={"limit": 5.0}),
    "limit-5.5": lambda d: d.update(defaults={"limit": 5.5}),
    "limit-0.0": lambda d: d.update(defaults={"limit": 0.0}),
    "rule-limit-3.0": lambda d: d.update(rules=[_rule(limit=3.0)]),
    "assignee-id-3.0": lambda d: d.update(rules=[_rule(actions={"assignee": 3.0})]),
    "assignee-id-0.0": lambda d: d.update(rules=[_rule(actions={"assignee": 0.0})]),
    "group-id-7.0": lambda d: d.update(rules=[_rule(actions={"group": 7.0})]),
    "group-true": lambda d: d.update(rules=[_rule(actions={"group": True})]),
    "mac-only-encrypted-string": lambda d: d["sops"].update(mac_only_encrypted="true"),
    "mac-only-encrypted-number": lambda d: d["sops"].update(mac_only_encrypted=1),
    "subdomain-null-and-url": lambda d: d.update(
        zendesk={"subdomain": None, "url": "https://acme.example.com"}
    ),
    "url-null-and-subdomain": lambda d: d.update(zendesk={"url": None, "subdomain": "acme"}),
    "subdomain-null-alone": lambda d: d.update(zendesk={"subdomain": None}),
    "subdomain-and-url": lambda d: d.update(
        zendesk={"subdomain": "acme", "url": "https://acme.example.com"}
    ),
    "zendesk-empty": lambda d: d.update(zendesk={}),
    "version-true": lambda d: d.update(version=True),
    "version-1.0": lambda d: d.update(version=1.0),
}


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads((ROOT / "schemas" / "config.schema.json").read_text())
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_model_and_schema_agree_on_mutations(name: str, validator: Any) -> None:
    base = read_source((ROOT / "tests/data/configs/good/minimal.yaml").read_bytes(), "m").data
    data = copy.deepcopy(base)
    MUTATIONS[name](data)
    try:
        Config.model_validate(data)
        model_accepts = True
    except ValidationError:
        model_accepts = False
    assert model_accepts == validator.is_valid(data)


def test_a_whole_float_limit_is_the_integer() -> None:
    loaded = parse_config(HEAD + "defaults: {limit: 20.0}\n", "c.yaml")
    assert loaded.config.defaults.limit == 20 and isinstance(loaded.config.defaults.limit, int)


# Durations: a huge count used to overflow timedelta and end in "internal error".


@pytest.mark.parametrize("value", ["99999999999999999999w", "36526d", "9" * 5000 + "m"])
def test_an_absurd_duration_is_a_located_error_not_a_crash(value: str) -> None:
    text = HEAD + (
        "rules:\n  - name: a\n    when:\n      all:\n"
        f"        - {{field: updated_at, operator: older_than, value: '{value}'}}\n"
        "    actions: {priority: high}\n"
    )
    found = errors(text)
    assert len(found) == 1
    assert found[0].startswith("10:60 rules[a].when.all[0].value: ")
    assert "is longer than 100 years, which no ticket is: use a shorter duration" in found[0]


def test_the_longest_duration_still_parses() -> None:
    text = HEAD + (
        "rules:\n  - name: a\n    when:\n      all:\n"
        "        - {field: updated_at, operator: older_than, value: 36525d}\n"
        "    actions: {priority: high}\n"
    )
    assert errors(text) == []


def test_a_key_left_empty_says_how_to_write_none() -> None:
    found = errors(HEAD + "rules:\ndefaults:\n")
    assert found == [
        "6:7 rules: expected a list, got null; write `rules: []` for an empty list, or remove "
        "the key",
        "7:10 defaults: expected a mapping, got null; give `defaults` its keys, or remove it",
    ]
    required = errors(HEAD + "rules:\n  - name: r\n    when:\n    actions: {priority: high}\n")
    assert required == ["8:10 rules[r].when: expected a mapping, got null; give `when` its keys"]
