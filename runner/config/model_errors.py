"""Pydantic's validation errors, rewritten as located Problems in our own words.

Pydantic reports `('rules', 2, 'when', 'all', 0, 'operator')` and "Input should be 'is', ...";
a reviewer needs `config.yaml:14:9: rules[route-vip-refunds].when.all[0].operator: 'match' is
not one of is, is_not, ...`. The token `key` is special: its value is a secret (or what should
have been one), so no message about it ever quotes what was there.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, Union

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from runner.config.fields import DURATION_HELP, field_names
from runner.config.models import Config
from runner.config.source import Path, Source, child, describe_kind
from runner.errors import Problem

PLAINTEXT_KEY = (
    "the key is not a sops-encrypted value (ENC[AES256_GCM,...,type:str]), so it may be a token "
    "in plain text (its value is not shown here). Encrypt it in place with `sops encrypt -i FILE` "
    "using a .sops.yaml with `encrypted_regex: ^key$` and `mac_only_encrypted: true`, or add "
    "tokens with `zdops tokens add`; revoke the token if it was ever pushed"
)

_PATTERN_HELP = {
    "name": "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    "run_as": "a token name: 1-64 letters, digits, '.', '_' or '-'",
    "email": "expected an email address such as bot@acme.com",
    "assignee": "expected the agent's email address, a numeric user id, or null to unassign",
    "subdomain": "expected the account's subdomain: lowercase letters, digits and '-', e.g. "
    "`acme` for https://acme.zendesk.com",
    "url": "expected an http(s) URL such as https://acme.zendesk.com or http://127.0.0.1:8765",
}

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "float_type": "a number",
    "none_required": "null",
}


def model_problems(source: Source, error: ValidationError) -> list[Problem]:
    """One Problem per offending node, in file order."""
    grouped: dict[Path, list[Any]] = {}
    for item in error.errors(include_url=False):
        path = _data_path(source.data, item["loc"], item["type"])
        grouped.setdefault(path, []).append(item)
    problems = [_problem(source, path, items) for path, items in grouped.items()]
    return sorted(problems, key=lambda p: (p.line, p.column))


def _data_path(data: Any, loc: Iterable[int | str], kind: str) -> Path:
    """The part of pydantic's `loc` that names nodes in the file.

    Union members add labels such as 'constrained-str' to `loc`; they name no node, so the path
    stops at the last element that exists (or, for a missing key, at that key).
    """
    path: list[str | int] = []
    node = data
    parts = list(loc)
    for index, part in enumerate(parts):
        exists = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if exists:
            path.append(part)
            node = child(node, part)
        elif kind == "missing" and index == len(parts) - 1:
            path.append(part)
        else:
            break
    return tuple(path)


def _is_secret(path: Path) -> bool:
    return len(path) == 3 and path[0] == "tokens" and path[2] == "key"


def _problem(source: Source, path: Path, items: list[Any]) -> Problem:
    first = items[0]
    kind = first["type"]
    last = path[-1] if path else ""
    at_key = kind in ("extra_forbidden", "missing")
    if kind == "missing":
        line, column = source.position(path[:-1])
        message = f"missing required key {last!r}"
        info = _field_info(path)
        if info is not None and info.description:
            message += f" ({_sentence(info.description)})"
        return Problem(source.filename, line, column, source.display(path), message)
    if _is_secret(path):
        message = PLAINTEXT_KEY
    elif len(items) > 1:
        message = _union_message(path, first.get("input"))
    else:
        message = _message(path, first)
    return source.problem(path, message, at_key=at_key)


def _message(path: Path, item: Any) -> str:
    kind: str = item["type"]
    value = item.get("input")
    last = path[-1] if path else ""
    ctx = item.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1])
        message = f"unknown key {last!r}"
        close = difflib.get_close_matches(str(last), allowed, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        return message + f"; allowed here: {', '.join(allowed)}"
    if kind in ("literal_error", "enum"):
        choices = _literal_choices(path)
        shown = ", ".join(str(c) for c in choices) if choices else ctx.get("expected", "")
        return f"{_show(value)} is not one of {shown}"
    if kind == "string_pattern_mismatch":
        return _pattern_message(path, value)
    if kind in _TYPE_NAMES:
        expected = _expected(path) or _TYPE_NAMES[kind]
        message = f"expected {expected}, got {describe_kind(value)}"
        if value is None and isinstance(last, str):
            message += _null_hint(path, kind)
        return message
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {_show(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "value_error":
        return str(ctx.get("error", item["msg"]))
    return str(item["msg"])


def _null_hint(path: Path, kind: str) -> str:
    """A key left with nothing after its colon reads as null: say how to write "none"."""
    last = path[-1]
    info = _field_info(path)
    optional = info is not None and not info.is_required()
    if kind == "list_type":
        return f"; write `{last}: []` for an empty list" + (
            ", or remove the key" if optional else ""
        )
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"; give `{last}` its keys" + (", or remove it" if optional else "")
    return ""


def _pattern_message(path: Path, value: Any) -> str:
    last = path[-1] if path else ""
    if last == "field" and ("all" in path or "any" in path):
        return f"unknown condition field {_show(value)}; use one of {', '.join(field_names())}"
    if len(path) >= 2 and path[-2] in ("add", "remove", "set"):
        return f"{_show(value)} is not a tag: Zendesk tags contain no spaces or commas"
    help_text = _PATTERN_HELP.get(str(last))
    if help_text:
        return f"{_show(value)} is not valid: {help_text}"
    return f"{_show(value)} is not valid here"


def _union_message(path: Path, value: Any) -> str:
    info = _field_info(path)
    wanted = _sentence(info.description) if info is not None and info.description else None
    if wanted:
        return f"got {describe_kind(value)} {_show(value)}; expected: {wanted}"
    return f"{_show(value)} is not allowed here"


def _expected(path: Path) -> str | None:
    """A better name than the bare type for a few values whose meaning is not their type."""
    last = path[-1] if path else ""
    if last in ("older_than", "newer_than"):
        return DURATION_HELP
    return None


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict | list):
        return describe_kind(value)
    return repr(value)


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:]


# Walking the models along a data path: which model holds a key, what a Literal allows.


def _model_at(path: Path) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Config
    for part in path:
        if isinstance(part, int):
            continue
        if model is None:
            return None
        info = model.model_fields.get(part)
        if info is None:
            return None
        model = _inner_model(info.annotation)
    return model


def _field_info(path: Path) -> FieldInfo | None:
    names = [part for part in path if isinstance(part, str)]
    if not names:
        return None
    model = _model_at(path[: max(i for i, p in enumerate(path) if isinstance(p, str))])
    return model.model_fields.get(names[-1]) if model is not None else None


def _allowed_keys(path: Path) -> list[str]:
    model = _model_at(path)
    return list(model.model_fields) if model is not None else []


def _literal_choices(path: Path) -> list[Any]:
    info = _field_info(path)
    return _literals(info.annotation) if info is not None else []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _literals(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return list(typing.get_args(annotation))
    if origin in (Union, types.UnionType, typing.Annotated):
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            found.extend(_literals(arg))
        return found
    return []
