"""Filling a comment body's placeholders: four names and nothing else.

`{{ticket.id}}`, `{{ticket.subject}}`, `{{ticket.requester.name}}` and `{{rule.name}}` (spaces
inside the braces allowed) become plain text. There is deliberately no expression language, no
filters and no attribute walking: a comment body comes from a pull request, and anything richer
would let its author publish ticket data the rule never meant to. `runner.config.templates`
rejects every other placeholder before a plan is made; `render` itself never evaluates a name it
does not know, so one that got this far stays literally in the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from runner.config.fields import TEMPLATE_NAMES

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def uses(body: str, name: str) -> bool:
    """Whether `body` has the placeholder `name` (so the caller can skip a costly look-up)."""
    return any(match.group(1) == name for match in _PLACEHOLDER.finditer(body))


def render(body: str, values: Mapping[str, str]) -> str:
    """Replace the known placeholders with `values` (a missing value becomes empty text)."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in TEMPLATE_NAMES:
            return match.group(0)
        return values.get(name) or ""

    # One pass over the original text: a value that itself contains "{{rule.name}}" (a subject
    # typed by a customer) is inserted as-is and never expanded.
    return _PLACEHOLDER.sub(substitute, body)
