"""Semantic checks, the field catalog, and the loaded config's helpers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from runner.config import parse_config
from runner.config.fields import FIELDS, OPERATORS, OPERATORS_BY_KIND, field_spec, parse_duration
from runner.config.models import Operator
from runner.errors import ConfigError

ENC = "ENC[AES256_GCM,data:c2VjcmV0,iv:aXZpdml2aXZpdg==,tag:dGFndGFndGFn,type:str]"
EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"


def config(
    rule: str = "", *, tokens: str = "", sops: str = "sops: {mac_only_encrypted: true}"
) -> str:
    return (
        "version: 1\nzendesk: {subdomain: acme}\ntokens:\n"
        f"  - {{name: bot, email: bot@acme.test, key: '{ENC}', primary: true}}\n"
        + tokens
        + ("rules:\n" + rule if rule else "")
        + sops
        + "\n"
    )


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml")
    return [p.message for p in caught.value.problems if p.severity == "error"]


def commenting(query: str, actions: str, conditions: str = "") -> str:
    return (
        f"  - name: r\n    when: {{query: '{query}'{conditions}}}\n"
        f"    actions: {{comment: {{body: hi}}, {actions}}}\n"
    )


NULLIFIES = [
    ("status<solved -tags:done", "tags: {add: [done]}", ""),
    ("status:open", "status: pending", ""),
    ("status<pending", "status: hold", ""),
    ("status:open", "status: closed", ""),
    ("tags:needs-reply", "tags: {remove: [needs-reply]}", ""),
    ("tags:a tags:b", "tags: {set: [c]}", ""),
    ("priority<high", "priority: urgent", ""),
    ("ticket_type:question", "type: incident", ""),
    ("assignee:none", "assignee: 42", ""),
    ("status:open", "tags: {add: [x]}", ", all: [{field: tags, operator: not_includes, value: x}]"),
    (
        "status:open",
        "priority: low",
        ", all: [{field: priority, operator: greater_than, value: low}]",
    ),
    (
        "status:open",
        "type: task",
        ", any: [{field: type, operator: not_present},"
        " {field: type, operator: is, value: question}]",
    ),
    (
        "status:open",
        "custom_fields: {Region: EMEA}",
        ", all: [{field: custom_fields.Region, operator: not_present}]",
    ),
    ("status:open", "group: null", ", all: [{field: group, operator: present}]"),
]

DOES_NOT_NULLIFY = [
    ("status<solved", "tags: {add: [done]}", ""),  # nothing excludes the tag
    ("status<solved tags:vip", "tags: {add: [done]}", ""),  # tags:vip may still hold
    ("status:open", "status: open", ""),
    ("status<solved", "status: pending", ""),
    ("group:Billing", "group: Billing", ""),  # names resolve at plan time: unknown here
    (
        "status:open",
        "priority: high",
        ", any: [{field: priority, operator: is, value: low},"
        " {field: subject, operator: contains, value: x}]",
    ),
    ("status:open -tags:x", "tags: {add: [y]}", ""),
]


@pytest.mark.parametrize(("query", "actions", "conditions"), NULLIFIES)
def test_comment_that_nullifies_its_selection_is_accepted(
    query: str, actions: str, conditions: str
) -> None:
    parse_config(config(commenting(query, actions, conditions)), "c.yaml")


@pytest.mark.parametrize(("query", "actions", "conditions"), DOES_NOT_NULLIFY)
def test_comment_that_keeps_matching_is_rejected(query: str, actions: str, conditions: str) -> None:
    found = errors(config(commenting(query, actions, conditions)))
    assert len(found) == 1 and "would comment on the same tickets on every run" in found[0]
    assert "tags: {add: [r-done]} with `-tags:r-done`" in found[0]


def test_warnings_do_not_fail_the_file() -> None:
    text = config(
        tokens=f"  - {{name: jane, email: jane@acme.test, kind: api_token, key: '{ENC}'}}\n",
        sops="sops: {version: 3.11.0}",
    )
    loaded = parse_config(text, "c.yaml")
    assert [(w.path, w.message.split(";")[0]) for w in loaded.warnings] == [
        ("tokens[jane].kind", "Zendesk turns API tokens off on 2027-04-30"),
        (
            "sops",
            "the sops block lacks `mac_only_encrypted: true`, so any hand edit in a pull "
            "request (a rule, an email) breaks decryption",
        ),
    ]
    assert (
        "mac_only_encrypted: true` in the creation rule of .sops.yaml" in loaded.warnings[1].message
    )


def test_loopback_urls() -> None:
    for url in (
        "http://127.0.0.1:8765",
        "http://127.9.9.9",
        "http://[::1]:80",
        "https://zd.example.com",
    ):
        parse_config(config().replace("{subdomain: acme}", f"{{url: '{url}'}}"), "c.yaml")
    for url in ("http://10.0.0.1", "http://localhost.evil.com", "http://[::2]"):
        found = errors(config().replace("{subdomain: acme}", f"{{url: '{url}'}}"))
        assert found and found[0].startswith("plain http is only allowed to a loopback address")
    # The run refuses a name (DNS decides where it goes), so validate must not pass it.
    for url, address in (("http://localhost:8765", "http://127.0.0.1:8765"),
                         ("http://app.localhost", "http://127.0.0.1")):
        found = errors(config().replace("{subdomain: acme}", f"{{url: '{url}'}}"))
        assert len(found) == 1 and "is a name" in found[0] and found[0].endswith(address), found


def test_base_url() -> None:
    assert parse_config(config(), "c.yaml").config.zendesk.base_url == "https://acme.zendesk.com"


def test_problems_in_a_broken_rule_and_a_good_one_are_all_reported() -> None:
    rules = (
        "  - name: a\n    colour: red\n"
        "    when: {query: 'status:open',"
        " all: [{field: created_at, operator: newer_than, value: 1y}]}\n"
        "    actions: {tags: {add: [x], remove: [x]}}\n"
        "  - name: a\n    run_as: nobody\n"
        "    when: {query: 'status:'}\n    actions: {priority: low}\n"
    )
    found = errors(config(rules))
    assert len(found) == 6, found
    assert [m.split(" ")[0] for m in found] == [
        "unknown",
        "'1y'",
        "tag",
        "rule",
        "run_as",
        "cannot",
    ]


def test_helpers() -> None:
    text = config(
        "  - {name: a, run_as: jane, when: {query: 'status:open'}, actions: {priority: low},"
        " limit: 3}\n"
        "  - {name: b, when: {query: 'status:open'}, actions: {assignee: null}}\n",
        tokens=f"  - {{name: jane, email: jane@acme.test, key: '{ENC}'}}\n",
    )
    cfg = parse_config(text, "c.yaml").config
    a, b = cfg.rules
    assert cfg.primary_token.name == "bot"
    assert cfg.acting_token(a).name == "jane" and cfg.acting_token(b).name == "bot"
    assert a.effective_limit(cfg.defaults) == 3 and b.effective_limit(cfg.defaults) == 500
    assert b.actions.model_fields_set == {"assignee"} and b.actions.assignee is None
    assert cfg.token("jane").kind == "oauth"
    with pytest.raises(KeyError):
        cfg.token("nobody")


def test_example_is_valid_with_one_api_token_warning() -> None:
    loaded = parse_config(EXAMPLE.read_bytes(), "config.example.yaml")
    assert [w.path for w in loaded.warnings] == ["tokens[jane].kind"]
    used_fields = {
        c.field.split(".")[0] for r in loaded.config.rules for c in [*r.when.all, *r.when.any]
    }
    used_operators = {c.operator for r in loaded.config.rules for c in [*r.when.all, *r.when.any]}
    used_actions = set().union(*(r.actions.model_fields_set for r in loaded.config.rules))
    assert used_fields == {*FIELDS, "custom_fields"}
    assert used_operators == set(OPERATORS)
    assert used_actions == {
        "status",
        "priority",
        "type",
        "assignee",
        "group",
        "tags",
        "custom_fields",
        "comment",
    }


def test_catalog() -> None:
    assert set(OPERATORS) == set(Operator.__args__)
    assert {op for ops in OPERATORS_BY_KIND.values() for op in ops} == set(OPERATORS)
    assert field_spec("custom_fields.Order number").attribute == "Order number"
    assert field_spec("custom_fields.") is None and field_spec("colour") is None
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("2w") == timedelta(days=14)
    for bad in ("0d", "1y", "1.5h", "h", "-1d", " 1d"):
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(bad)
