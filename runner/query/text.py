"""Free-text matching: a word is a run of letters and digits; everything else separates words.

A regex per term, searched in the raw field with IGNORECASE, costs a couple of microseconds per
ticket and needs no per-ticket index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

WORD_RE = re.compile(r"[^\W_]+")

_WORD_END = r"(?![^\W_])"


def text_pattern(value: str, *, prefix: bool) -> re.Pattern[str]:
    """The regex a text value compiles to: its words in order, the last a prefix if `prefix`.

    `text_pattern("top", prefix=True)` finds "Toppings" and "Tip-Top" but not "Desktop".
    """
    words = [re.escape(word) for word in WORD_RE.findall(value)]
    if not words:
        raise ValueError(f"{value!r} has no letters or digits to search for")
    # The word-start test goes after the first word, not before it: a pattern that starts
    # with a literal is searched for that literal first, which is about twice as fast.
    first = f"{words[0]}(?<![^\\W_]{words[0]})"
    body = r"[\W_]+".join([first, *words[1:]])
    return re.compile(body + ("" if prefix else _WORD_END), re.IGNORECASE)


def text_matches(pattern: re.Pattern[str], ticket: Mapping[str, Any]) -> bool:
    """Whether a free-text pattern occurs in the ticket's subject or description."""
    subject = ticket.get("subject")
    if isinstance(subject, str) and pattern.search(subject) is not None:
        return True
    description = ticket.get("description")
    return isinstance(description, str) and pattern.search(description) is not None
