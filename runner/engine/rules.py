"""The shape of a rule as the engine reads it, and the error for a rule the engine cannot run.

The engine depends on these protocols rather than on `runner.config.models` directly, so it reads
exactly the attributes named here and the config models satisfy them structurally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from runner.errors import ConfigError, Problem


class ConditionLike(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def operator(self) -> str: ...
    @property
    def value(self) -> Any: ...


class WhenLike(Protocol):
    @property
    def query(self) -> str | None: ...
    @property
    def all(self) -> Sequence[ConditionLike]: ...
    @property
    def any(self) -> Sequence[ConditionLike]: ...


class TagActionsLike(Protocol):
    @property
    def add(self) -> Sequence[str] | None: ...
    @property
    def remove(self) -> Sequence[str] | None: ...
    @property
    def set(self) -> Sequence[str] | None: ...


class CommentLike(Protocol):
    @property
    def body(self) -> str: ...
    @property
    def public(self) -> bool: ...


class ActionsLike(Protocol):
    """Actions; `model_fields_set` tells an explicit null (unassign) from an absent key."""

    @property
    def model_fields_set(self) -> set[str]: ...
    @property
    def status(self) -> str | None: ...
    @property
    def priority(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def assignee(self) -> str | int | None: ...
    @property
    def group(self) -> str | int | None: ...
    @property
    def tags(self) -> TagActionsLike | None: ...
    @property
    def custom_fields(self) -> dict[str, Any] | None: ...
    @property
    def comment(self) -> CommentLike | None: ...


class RuleLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def run_as(self) -> str | None: ...
    @property
    def when(self) -> WhenLike: ...
    @property
    def actions(self) -> ActionsLike: ...
    @property
    def limit(self) -> int | None: ...


def rule_error(rule: str, path: str, message: str, *, source: str = "config") -> ConfigError:
    """A ConfigError for a rule part the engine cannot run (validate normally catches it first)."""
    return ConfigError(
        [Problem(file=source, line=0, column=0, path=f"rules[{rule}].{path}", message=message)]
    )
