"""How plan values read to a person, shared by the text and markdown renderers.

Everything a customer can type (subjects, tags, field values) passes through `printable` before
it reaches a terminal, so a subject cannot smuggle escape sequences into a reviewer's screen.
"""

from __future__ import annotations

import re
from typing import Any

from runner.engine.plan import CUSTOM_PREFIX, FieldChange

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NONE = "(none)"


def printable(text: str) -> str:
    """`text` with control characters (ANSI escapes, newlines, ...) shown as `?`."""
    return _CONTROL.sub("?", text)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def field_name(change: FieldChange) -> str:
    if change.label:
        return printable(change.label)
    if change.field.startswith(CUSTOM_PREFIX):
        return f"field {change.field.removeprefix(CUSTOM_PREFIX)}"
    return change.field


def show(value: Any, label: str | None) -> str:
    """A field value as a reviewer reads it: the label (a group's name) when there is one."""
    if label:
        return printable(label)
    if value is None or value == "" or value == []:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return printable(", ".join(str(v) for v in value))
    return printable(str(value))


def excerpt(text: str, width: int = 80) -> str:
    """One line of at most `width` characters, for a comment body."""
    flat = printable(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def blocked_clause(blocked: list[str]) -> str:
    """"; N rules plan none (limit or budget)" for a summary line, so that "no changes" is
    never read as "in sync" while a rule is held back; empty when none is."""
    if not blocked:
        return ""
    verb = "plans" if len(blocked) == 1 else "plan"
    return f"; {plural(len(blocked), 'rule')} {verb} none (over a limit or the budget)"
