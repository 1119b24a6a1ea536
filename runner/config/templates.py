"""Checks a comment body's placeholders against the four the engine fills.

There is deliberately no expression language: a comment body comes from a pull request, and
anything richer would let its author publish ticket data the rule never meant to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runner.config.fields import TEMPLATE_NAMES

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_ALLOWED = ", ".join("{{" + name + "}}" for name in TEMPLATE_NAMES)


@dataclass(frozen=True)
class TemplateFault:
    """One bad placeholder: where it starts in the body (0-based) and what is wrong."""

    offset: int
    message: str


def template_faults(body: str) -> list[TemplateFault]:
    """Every placeholder that is not one of TEMPLATE_NAMES, and every unclosed `{{`."""
    faults: list[TemplateFault] = []
    covered: list[tuple[int, int]] = []
    for match in _PLACEHOLDER.finditer(body):
        covered.append(match.span())
        name = match.group(1)
        if name not in TEMPLATE_NAMES:
            faults.append(
                TemplateFault(
                    match.start(),
                    f"{match.group(0)!r} is not a placeholder zdops fills; "
                    f"use only {_ALLOWED} (write no braces for literal text)",
                )
            )
    for opening in re.finditer(r"\{\{", body):
        if not any(start <= opening.start() < end for start, end in covered):
            faults.append(
                TemplateFault(
                    opening.start(),
                    f"'{{{{' without a matching '}}}}'; close the placeholder ({_ALLOWED})",
                )
            )
            # One report per unclosed run of braces is enough.
            covered.append((opening.start(), len(body)))
    return sorted(faults, key=lambda fault: fault.offset)
