"""The name lookups a query needs (`Directory`), and `StaticDirectory` over in-memory tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Directory(Protocol):
    """Name lookups a query needs; each returns every matching id (empty: none matches)."""

    def user_ids(self, value: str) -> frozenset[int]:
        """Users by email (exact, case-insensitive) or by name."""
        ...

    def group_ids(self, value: str) -> frozenset[int]: ...

    def organization_ids(self, value: str) -> frozenset[int]: ...

    def brand_ids(self, value: str) -> frozenset[int]: ...


@dataclass(frozen=True)
class StaticDirectory:
    """A Directory over in-memory tables; names and emails compare case-insensitively.

    `users` maps id -> (name, email); the others map id -> name.
    """

    users: Mapping[int, tuple[str, str | None]] = field(default_factory=dict)
    groups: Mapping[int, str] = field(default_factory=dict)
    organizations: Mapping[int, str] = field(default_factory=dict)
    brands: Mapping[int, str] = field(default_factory=dict)

    def user_ids(self, value: str) -> frozenset[int]:
        wanted = value.casefold()
        return frozenset(
            uid
            for uid, (name, email) in self.users.items()
            if name.casefold() == wanted or (email is not None and email.casefold() == wanted)
        )

    def group_ids(self, value: str) -> frozenset[int]:
        return _ids_named(self.groups, value)

    def organization_ids(self, value: str) -> frozenset[int]:
        return _ids_named(self.organizations, value)

    def brand_ids(self, value: str) -> frozenset[int]:
        return _ids_named(self.brands, value)


def _ids_named(table: Mapping[int, str], value: str) -> frozenset[int]:
    wanted = value.casefold()
    return frozenset(i for i, name in table.items() if name.casefold() == wanted)
