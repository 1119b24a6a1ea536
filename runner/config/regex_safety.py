"""Which `matches` patterns could make Python's regex engine backtrack without end.

Python's `re` has no timeout, and while it matches it holds the GIL, so neither a signal nor a
thread can stop a runaway match: one pull request with `(a+)+$` on a long subject would hang
every later run. So the risky shapes are refused up front, by looking at the parsed pattern:

- a quantified group whose body is itself variably quantified: `(a+)+`, `(a*)*`, `(\\w+\\s?)*`;
- a quantified alternation whose branches can start alike or match nothing: `(a|aa)+`,
  `(a|ab)*`, `(x|)+` (the same text splits into the branches in many ways);
- two quantified items in a row that can match the same character: `a*a*b`, `\\s+\\s*$`
  (each split point of a run is a separate attempt, polynomial in the text's length).

What remains can still be polynomial (`.*x.*y`), which is why the engine also matches against
at most MATCH_TEXT_LIMIT characters of a value. The analysis is conservative: a character
class it cannot reason about counts as overlapping everything.
"""

from __future__ import annotations

import re._constants as sre  # type: ignore[import-not-found]  # re's own pattern parser
import re._parser as sre_parse  # type: ignore[import-not-found]
import warnings
from typing import Any, Final, Literal

# How much of a field's text a `matches` condition looks at. Ten thousand characters is far
# more than a subject and most descriptions; it keeps the polynomial cases under a second.
MATCH_TEXT_LIMIT: Final = 10_000

_ANY: Final = None  # a character set we do not reason about: overlaps everything
_MAX_EXPANDED_RANGE: Final = 512

CharSet = frozenset[int] | None
Items = list[tuple[Any, Any]]


def backtracking_risk(pattern: str) -> str | None:
    """Why `pattern` could backtrack catastrophically, or None when its shape is safe.

    The pattern must already compile; callers report syntax errors themselves.
    """
    with warnings.catch_warnings():  # e.g. "Possible nested set": validate reports its own way
        warnings.simplefilter("ignore", FutureWarning)
        parsed = sre_parse.parse(pattern)
    # Letters are compared in both cases only where (?i) can apply; [A-Z]+[a-z]+ is fine.
    fold = bool(parsed.state.flags & sre.SRE_FLAG_IGNORECASE) or "(?" in pattern
    return _Analysis(fold).sequence_risk(list(parsed))


class _Analysis:
    def __init__(self, fold: bool) -> None:
        self.fold = fold

    def sequence_risk(self, items: Items) -> str | None:
        # The character set of the last repeat that can take a run of any length, while only
        # optional items followed it: a second such repeat over the same characters splits
        # every run in as many ways as its length.
        previous: CharSet | Literal[False] = False
        for op, av in items:
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                low, high, body = av
                if op is not sre.POSSESSIVE_REPEAT:
                    reason = self._repeat_risk(low, high, list(body))
                    if reason:
                        return reason
                first = self._first_set(list(body))[0]
                runs = low != high and high > 1 and op is not sre.POSSESSIVE_REPEAT
                if runs and previous is not False and self._overlap(previous, first):
                    return (
                        "two quantifiers in a row can match the same characters (like a*a* or "
                        "\\s*\\s+), which makes matching slow in the length of the text"
                    )
                if runs:
                    previous = first
                elif low > 0:
                    previous = False
                continue
            if op is sre.AT:
                continue  # an anchor consumes nothing: the quantifiers around it still meet
            previous = False
            reason = self._nested_risk(op, av)
            if reason:
                return reason
        return None

    def _nested_risk(self, op: Any, av: Any) -> str | None:
        """Risks inside groups, alternations and lookarounds."""
        if op is sre.SUBPATTERN:
            return self.sequence_risk(list(av[-1]))
        if op is sre.ATOMIC_GROUP:
            return None  # (?>...) never backtracks into itself
        if op is sre.BRANCH:
            for branch in av[1]:
                reason = self.sequence_risk(list(branch))
                if reason:
                    return reason
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            return self.sequence_risk(list(av[1]))
        if op is sre.GROUPREF_EXISTS:
            for branch in av[1:]:
                if branch is not None:
                    reason = self.sequence_risk(list(branch))
                    if reason:
                        return reason
        return None

    def _repeat_risk(self, low: int, high: int, body: Items) -> str | None:
        if high <= 1:
            return self.sequence_risk(body)
        if self._has_variable_repeat(body):
            return (
                "a quantified group contains another quantifier (like (a+)+ or (\\w+\\s?)*), "
                "which can take exponential time on a text that almost matches"
            )
        if self._ambiguous_branch(body):
            return (
                "a quantified alternation has branches that can match the same text or nothing "
                "(like (a|aa)+ or (a|ab)*), which can take exponential time"
            )
        return self.sequence_risk(body)

    def _has_variable_repeat(self, items: Items) -> bool:
        for op, av in items:
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
                if av[0] != av[1]:
                    return True
                if self._has_variable_repeat(list(av[2])):
                    return True
            elif op is sre.SUBPATTERN:
                if self._has_variable_repeat(list(av[-1])):
                    return True
            elif op is sre.BRANCH and any(self._has_variable_repeat(list(b)) for b in av[1]):
                return True
        return False

    def _ambiguous_branch(self, items: Items) -> bool:
        for op, av in items:
            if op is sre.SUBPATTERN and self._ambiguous_branch(list(av[-1])):
                return True
            if op is sre.BRANCH:
                firsts = []
                for branch in av[1]:
                    chars, nullable = self._first_set(list(branch))
                    if nullable:
                        return True
                    firsts.append(chars)
                for index, chars in enumerate(firsts):
                    if any(self._overlap(chars, other) for other in firsts[index + 1 :]):
                        return True
        return False

    def _first_set(self, items: Items) -> tuple[CharSet, bool]:
        """The characters a sequence can start with, and whether it can match the empty string."""
        found: set[int] = set()
        for op, av in items:
            if op is sre.AT:
                continue
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                chars, nullable = self._first_set(list(av[2]))
                if chars is _ANY:
                    return _ANY, False
                found |= chars
                if av[0] == 0 or nullable:
                    continue
                return frozenset(found), False
            if op is sre.SUBPATTERN:
                chars, nullable = self._first_set(list(av[-1]))
            elif op is sre.ATOMIC_GROUP:
                chars, nullable = self._first_set(list(av))
            elif op is sre.BRANCH:
                chars, nullable = frozenset(), False
                for branch in av[1]:
                    branch_chars, branch_nullable = self._first_set(list(branch))
                    if branch_chars is _ANY:
                        return _ANY, False
                    chars = chars | branch_chars
                    nullable = nullable or branch_nullable
            else:
                chars, nullable = self._char_set(op, av), False
            if chars is _ANY:
                return _ANY, False
            found |= chars
            if not nullable:
                return frozenset(found), False
        return frozenset(found), True

    def _char_set(self, op: Any, av: Any) -> CharSet:
        """The characters one item matches, both cases included; _ANY when unsure."""
        if op is sre.LITERAL:
            return self._both_cases({av})
        if op is sre.IN:
            codes: set[int] = set()
            for item_op, item_av in av:
                if item_op is sre.LITERAL:
                    codes.add(item_av)
                elif item_op is sre.RANGE and item_av[1] - item_av[0] <= _MAX_EXPANDED_RANGE:
                    codes.update(range(item_av[0], item_av[1] + 1))
                else:
                    return _ANY  # negation, categories, wide ranges
            return self._both_cases(codes)
        return _ANY

    def _both_cases(self, codes: set[int]) -> frozenset[int]:
        if not self.fold:
            return frozenset(codes)
        out = set(codes)
        for code in codes:
            char = chr(code)
            out.update(ord(c) for c in (char.lower(), char.upper()) if len(c) == 1)
        return frozenset(out)

    def _overlap(self, a: CharSet, b: CharSet) -> bool:
        if a is _ANY or b is _ANY:
            return True
        return not a.isdisjoint(b)
