"""Semantic checks: what the models' shapes cannot say about a config on their own.

Each check yields located Problems whose message says what to do. They run on whatever parts
of the file did parse (a broken rule does not hide a duplicate token name), so one run of
`validate` reports everything.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from runner.config.fields import (
    DURATION_HELP,
    VALUELESS_OPERATORS,
    Kind,
    field_spec,
    parse_duration,
    zendesk_tag,
    zendesk_tags,
)
from runner.config.models import Actions, Condition, Rule, SopsMetadata, Token, Zendesk
from runner.config.nullifying import clears_selection
from runner.config.regex_safety import backtracking_risk
from runner.config.source import Path, Source
from runner.config.templates import template_faults
from runner.errors import Problem, QuerySyntaxError
from runner.query import Query, parse
from runner.trust import is_loopback, is_loopback_name, loopback_url

API_TOKEN_WARNING = (
    "Zendesk turns API tokens off on 2027-04-30; switch to kind: oauth with an OAuth access "
    "token (`zdops tokens add` stores one)"
)
_TAG = re.compile(r"^[^\s,]+$")
MAC_WARNING = (
    "the sops block lacks `mac_only_encrypted: true`, so any hand edit in a pull request (a "
    "rule, an email) breaks decryption; set `mac_only_encrypted: true` in the creation rule of "
    ".sops.yaml, then decrypt and re-encrypt the file (`sops decrypt -i FILE && sops encrypt "
    "-i FILE`)"
)


@dataclass
class Parts:
    """The pieces of a config that parsed, each with its index in the file."""

    zendesk: Zendesk | None = None
    tokens: list[tuple[int, Token]] = field(default_factory=list)
    rules: list[tuple[int, Rule]] = field(default_factory=list)
    sops: SopsMetadata | None = None
    # From rules that did not parse as a whole: their conditions and actions that did.
    conditions: list[tuple[Path, Condition]] = field(default_factory=list)
    actions: list[tuple[Path, Actions]] = field(default_factory=list)
    queries: list[tuple[Path, str]] = field(default_factory=list)
    run_as: list[tuple[Path, str]] = field(default_factory=list)


def check(source: Source, parts: Parts) -> list[Problem]:
    """Every semantic error and warning, in file order."""
    problems = [
        *_check_zendesk(source, parts),
        *_check_tokens(source, parts),
        *_check_rule_names(source, parts),
    ]
    token_names = _raw_names(source, "tokens")
    for index, rule in parts.rules:
        problems.extend(_check_rule(source, ("rules", index), rule, token_names))
    for path, condition in parts.conditions:
        problems.extend(_check_condition(source, path, condition))
    for path, actions in parts.actions:
        problems.extend(_check_action_values(source, path, actions))
    for path, text in parts.queries:
        _, problem = _parse_query(source, path, text)
        problems.extend([problem] if problem else [])
    for path, name in parts.run_as:
        problems.extend(_check_run_as(source, path, name, token_names))
    return sorted(problems, key=lambda p: (p.line, p.column))


def _check_zendesk(source: Source, parts: Parts) -> Iterator[Problem]:
    zendesk = parts.zendesk
    if zendesk is None or zendesk.url is None:
        return
    url = urlsplit(zendesk.url)
    if url.scheme == "https":
        return
    host = url.hostname or ""
    if is_loopback_name(host):
        # The run refuses a name (runner.trust): validate must not pass what plan then refuses.
        yield source.problem(
            ("zendesk", "url"),
            f"plain http is only allowed to a loopback address, and {host!r} is a name that "
            f"DNS or the hosts file could send elsewhere: write the address, e.g. "
            f"{loopback_url(zendesk.url)}",
        )
    elif not is_loopback(host):
        yield source.problem(
            ("zendesk", "url"),
            f"plain http is only allowed to a loopback address (127.0.0.1, ::1), "
            f"not {host!r}: tokens would cross the network unencrypted; use https://",
        )


def _raw_names(source: Source, section: str) -> list[tuple[int, str]]:
    """Names as written, even in items that failed to parse (a broken rule can still clash)."""
    items = source.value_at((section,))
    if not isinstance(items, list):
        return []
    return [
        (index, item["name"])
        for index, item in enumerate(items)
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]


def _check_tokens(source: Source, parts: Parts) -> Iterator[Problem]:
    raw = source.value_at(("tokens",))
    if not raw:
        yield source.problem(
            ("tokens",),
            "no tokens: add the Zendesk credential the rules act with (`zdops tokens add`), "
            "and mark it `primary: true`",
        )
        return
    if not isinstance(raw, list):
        return  # the model says it must be a list
    # Judged on the tokens as written, so that a token with a bad email still gets its warning
    # and the primary is still checked: all problems in one run.
    items = [(index, item) for index, item in enumerate(raw) if _is_map(item)]
    for index, item in items:
        if item.get("kind") == "api_token":
            yield source.problem(("tokens", index, "kind"), API_TOKEN_WARNING, severity="warning")
    yield from _check_sops(source, parts)
    yield from _duplicates(source, "tokens", _raw_names(source, "tokens"), "token")
    primaries = [(index, item) for index, item in items if item.get("primary") is True]
    names = ", ".join(str(item.get("name", f"tokens[{index}]")) for index, item in items)
    # A token that is not a mapping, or whose `primary` is not a boolean, might be the primary:
    # its own error says so, and "no token is primary" would only add noise.
    unclear = len(items) < len(raw) or any(
        not isinstance(item.get("primary", False), bool) for _, item in items
    )
    if not primaries and not unclear:
        yield source.problem(
            ("tokens",),
            f"no token is primary (tokens: {names}); add `primary: true` to the one every "
            "rule acts with, or run `zdops tokens set-primary NAME`",
        )
    elif len(primaries) > 1:
        index = primaries[1][0]
        several = ", ".join(str(item.get("name", f"tokens[{i}]")) for i, item in primaries)
        yield source.problem(
            ("tokens", index, "primary"),
            f"several tokens are primary ({several}); keep `primary: true` on exactly one "
            "(`zdops tokens set-primary NAME` does it)",
        )


def _is_map(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict)


def _check_sops(source: Source, parts: Parts) -> Iterator[Problem]:
    if source.value_at(("sops",)) is None:
        yield source.problem(
            ("tokens",),
            "the file has no `sops:` metadata block, so its keys are not encrypted by sops "
            "(or the block was deleted); encrypt the file in place with `sops encrypt -i FILE` "
            "using a .sops.yaml with `encrypted_regex: ^key$`, or restore the block from git",
        )
        return
    if parts.sops is not None and not parts.sops.mac_only_encrypted:
        yield source.problem(("sops",), MAC_WARNING, severity="warning", at_key=True)


def _duplicates(
    source: Source, section: str, names: list[tuple[int, str]], what: str
) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, name in names:
        if name in first:
            line, _ = source.position((section, first[name], "name"))
            yield Problem(
                source.filename,
                *source.position((section, index, "name")),
                f"{section}[{index}].name",
                f"{what} name {name!r} is already used at line {line}; names must be unique: "
                "rename one",
            )
        else:
            first[name] = index


def _check_rule_names(source: Source, parts: Parts) -> Iterator[Problem]:
    yield from _duplicates(source, "rules", _raw_names(source, "rules"), "rule")


def _check_rule(
    source: Source, path: Path, rule: Rule, tokens: list[tuple[int, str]]
) -> Iterator[Problem]:
    if rule.run_as is not None:
        yield from _check_run_as(source, (*path, "run_as"), rule.run_as, tokens)
    when = rule.when
    query = None
    if when.query is not None and not when.query.strip():
        yield source.problem(
            (*path, "when", "query"),
            "the query is empty, so it selects every ticket: write a Zendesk search query "
            "(e.g. 'status<solved tags:vip'), or remove `query` and select with `all`/`any`",
        )
    elif when.query is not None:
        query, problem = _parse_query(source, (*path, "when", "query"), when.query)
        if problem is not None:
            yield problem
    elif not when.all and not when.any:
        yield source.problem(
            (*path, "when"),
            "the rule selects every ticket: give `when` a `query` (Zendesk search syntax) "
            "and/or `all`/`any` conditions",
        )
    for group in ("all", "any"):
        for index, condition in enumerate(getattr(when, group)):
            yield from _check_condition(source, (*path, "when", group, index), condition)
    yield from _check_actions(source, path, rule, query)


def _check_run_as(
    source: Source, path: Path, name: str, tokens: list[tuple[int, str]]
) -> Iterator[Problem]:
    names = [token for _, token in tokens]
    if name not in names:
        yield source.problem(
            path,
            f"run_as {name!r} names no token (tokens: {', '.join(names) or 'none'}); use one "
            "of them or add the token with `zdops tokens add`",
        )


def _parse_query(source: Source, path: Path, text: str) -> tuple[Query | None, Problem | None]:
    try:
        return parse(text), None
    except QuerySyntaxError as error:
        line, column = source.position_in_scalar(path, max(error.column - 1, 0))
        return None, Problem(
            source.filename,
            line,
            column,
            source.display(path),
            f"cannot parse the search query at column {error.column}: {error.reason}",
        )


def _check_condition(source: Source, path: Path, condition: Condition) -> Iterator[Problem]:
    spec = field_spec(condition.field)
    if spec is None:  # the model's pattern already reported it
        return
    operator, value = condition.operator, condition.value
    if operator not in spec.operators:
        yield source.problem(
            (*path, "operator"),
            f"{operator!r} does not apply to {condition.field} ({spec.kind.value}); use one of "
            f"{', '.join(spec.operators)}",
        )
        return
    value_path = (*path, "value")
    if operator in VALUELESS_OPERATORS:
        if value is not None:
            yield source.problem(value_path, f"{operator} takes no value; remove `value`")
        return
    if value is None:
        yield source.problem(
            path,
            f"{operator} needs a `value`"
            + (
                "; to test for an empty field use present or not_present"
                if operator in ("is", "is_not")
                else ""
            ),
        )
        return
    message = _value_fault(spec.kind, spec.values, operator, value, condition.field)
    if message:
        yield source.problem(value_path, message)
    if operator == "matches" and isinstance(value, str):
        try:
            # A pattern such as `[[` compiles with a FutureWarning that Python prints on
            # stderr; validate reports problems in its own format, so keep it quiet.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                re.compile(value)
        except re.error as error:
            offset = error.pos or 0
            line, column = source.position_in_scalar(value_path, offset)
            yield Problem(
                source.filename,
                line,
                column,
                source.display(value_path),
                f"not a valid Python regular expression: {error.msg} at position {offset}; "
                "fix the pattern (escape literal characters such as ( [ . with a backslash)",
            )
            return
        risk = backtracking_risk(value)
        if risk:
            yield source.problem(
                value_path,
                f"this pattern is refused because {risk}; Python's regex engine has no "
                "timeout, so one such ticket would stall every run. Rewrite it without "
                "the nested or repeated quantifier (e.g. (a+)+ -> a+, a*a* -> a*), or use an "
                "atomic group (?>...) or a possessive quantifier (a++)",
            )


def _value_fault(
    kind: Kind, values: tuple[str, ...], operator: str, value: Any, name: str
) -> str | None:
    """What is wrong with a condition's value, or None."""
    if kind in (Kind.ORDERED, Kind.ENUM):
        if not isinstance(value, str) or value not in values:
            return f"{value!r} is not a {name}: use one of {', '.join(values)}"
        if operator == "less_than" and value == values[0]:
            return f"nothing is less than {value!r}: this condition never holds"
        if operator == "greater_than" and value == values[-1]:
            return f"nothing is greater than {value!r}: this condition never holds"
        return None
    if kind == Kind.TIMESTAMP:
        if not isinstance(value, str):
            return f"expected a duration ({DURATION_HELP}), got {value!r}"
        try:
            parse_duration(value)
        except ValueError as error:
            return str(error)
        return None
    if operator in ("includes", "not_includes"):
        tags = value if isinstance(value, list) else [value]
        if not tags or not all(
            isinstance(t, str) and t and not re.search(r"[\s,]", t) for t in tags
        ):
            return "expected a tag or a list of tags (no spaces or commas in a tag)"
        return None
    if operator in ("contains", "not_contains", "matches"):
        if not isinstance(value, str) or not value:
            return f"{operator} needs a non-empty string"
        return None
    is_id = isinstance(value, int) and not isinstance(value, bool)
    if kind == Kind.USER and not is_id and not (isinstance(value, str) and "@" in value):
        return "expected the user's email address or numeric id"
    if kind == Kind.TEXT and not isinstance(value, str):
        return "expected a string"
    named = (Kind.GROUP, Kind.ORGANIZATION, Kind.BRAND, Kind.VIA)
    if kind in named and not is_id and not (isinstance(value, str) and value):
        return f"expected a {kind.value} name or numeric id"
    if kind == Kind.CUSTOM and isinstance(value, dict):
        return "expected a value (string, number, true/false or a list), not a mapping"
    return None


def _check_actions(
    source: Source, path: Path, rule: Rule, query: Query | None
) -> Iterator[Problem]:
    actions = rule.actions
    actions_path = (*path, "actions")
    tags = actions.tags
    effective = set(actions.model_fields_set)
    if tags is not None and not (tags.add or tags.remove or tags.set is not None):
        effective.discard("tags")
    if actions.custom_fields == {}:
        effective.discard("custom_fields")
    if not effective:
        yield source.problem(
            actions_path,
            "the rule has no actions: give it at least one of status, priority, type, "
            "assignee, group, tags, custom_fields, comment (or remove the rule)",
        )
        return
    yield from _check_action_values(source, actions_path, actions)
    query_usable = query is not None or rule.when.query is None
    if actions.comment is not None and query_usable and not clears_selection(rule, query):
        yield source.problem(
            (*actions_path, "comment"),
            "this rule comments, but its actions do not make its own selection false, so it "
            "would comment on the same tickets on every run; add a tag its conditions "
            f"exclude (e.g. tags: {{add: [{rule.name}-done]}} with `-tags:{rule.name}-done` "
            "in the query) or set a status the query excludes",
        )


def _check_action_values(source: Source, path: Path, actions: Actions) -> Iterator[Problem]:
    tags = actions.tags
    if tags is not None:
        yield from _check_tags(source, (*path, "tags"), tags.add, tags.remove, tags.set)
    for key, value in (actions.custom_fields or {}).items():
        yield from _check_custom_value(source, (*path, "custom_fields", key), key, value)
    if actions.comment is not None:
        body_path = (*path, "comment", "body")
        for fault in template_faults(actions.comment.body):
            line, column = source.position_in_scalar(body_path, fault.offset)
            yield Problem(source.filename, line, column, source.display(body_path), fault.message)


def _check_custom_value(source: Source, path: Path, key: str, value: Any) -> Iterator[Problem]:
    if not key.strip():
        yield source.problem(
            path,
            "a custom field needs its title or numeric id as the key, e.g. "
            '"Order number": 42 or "360001234567": 42',
            at_key=True,
        )
    elif isinstance(value, dict):
        yield source.problem(
            path,
            "expected a value (text, a number, true/false, an option's name or tag, a list of "
            "options for a multiselect, or null to clear it), not a mapping",
        )
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                yield source.problem(
                    (*path, index),
                    "a list sets a multiselect field: each item is an option's name or tag "
                    "value (a non-empty string)",
                )


def _check_tags(
    source: Source, path: Path, add: list[str], remove: list[str], set_: list[str] | None
) -> Iterator[Problem]:
    removed = set(zendesk_tags(remove))  # VIP is vip, as Zendesk stores it
    for index, tag in enumerate(add):
        if zendesk_tag(tag) in removed:
            yield source.problem(
                (*path, "add", index),
                f"tag {tag!r} is both added and removed; keep it in one list",
            )
    if set_ is not None:
        for index, tag in enumerate(set_):
            if zendesk_tag(tag) in removed:
                yield source.problem(
                    (*path, "set", index),
                    f"tag {tag!r} is both set and removed; `set` replaces every tag, so drop "
                    "it from one of them",
                )
        if add:
            yield source.problem(
                (*path, "add"),
                "`set` replaces the whole tag list, so `add` next to it is confusing: put "
                "those tags in `set` and drop `add`",
            )
