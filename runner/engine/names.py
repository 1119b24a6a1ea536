"""Names in rules and queries, answered by Zendesk through one client, once per run.

Two adapters over `runner.zendesk.Directory` (which fetches each list once and caches users):

- `ZendeskNames` is the engine's `NameSource` (groups, users, organizations, brands, ticket
  fields) for `runner.engine.resolve.Resolver`;
- `QueryNames` is `runner.query.Directory` (name -> every matching id) for compiling a rule's
  search query, so that later rules can re-check their query on tickets an earlier rule changed.

Groups, brands and ticket fields are listed once; users and organizations are looked up by id,
email or name and cached (misses too), all by the Directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runner.engine.resolve import Kind
from runner.errors import ResolveError
from runner.zendesk import Directory, ZendeskClient
from runner.zendesk.paging import iter_offset

JSON = dict[str, Any]


class ZendeskNames:
    """A NameSource over the Zendesk API; every list and every looked-up record is cached."""

    def __init__(self, client: ZendeskClient, directory: Directory | None = None) -> None:
        self._client = client
        self.directory = directory or Directory(client)
        self._users_missing: set[int] = set()

    # --- NameSource ------------------------------------------------------------------------------

    def find(self, kind: Kind, record_id: int) -> Mapping[str, Any] | None:
        if kind == "group":
            return next((g for g in self.directory.groups() if g.get("id") == record_id), None)
        if kind == "user":
            return self.user(record_id)
        if kind == "organization":
            return self.directory.organization_by_id(record_id)
        return next((b for b in self.directory.brands() if b.get("id") == record_id), None)

    def find_all(self, kind: Kind, name: str) -> list[Mapping[str, Any]]:
        wanted = name.strip().casefold()
        if kind == "group":
            records: Iterable[JSON] = self.directory.groups()
        elif kind == "user":
            user = self._user_by_email(name)
            return [user] if user is not None else []
        elif kind == "organization":
            records = self.directory.organizations_named(name)
        else:
            records = self.directory.brands()
        return [r for r in records if str(r.get("name") or "").casefold() == wanted]

    def find_many(self, kind: Kind, record_ids: Sequence[int]) -> list[Mapping[str, Any]]:
        if kind != "user":
            return [r for i in record_ids if (r := self.find(kind, i)) is not None]
        wanted = [i for i in record_ids if i not in self._users_missing]
        found = self.directory.users(wanted)  # users/show_many, 100 ids a call
        self._users_missing.update(i for i in wanted if i not in found)
        return list(found.values())

    def ticket_fields(self) -> Iterable[Mapping[str, Any]]:
        return self.directory.ticket_fields()

    # --- lookups ---------------------------------------------------------------------------------

    def user(self, user_id: int) -> JSON | None:
        if user_id in self._users_missing:
            return None
        found = self.directory.users([user_id]).get(user_id)
        if found is None:
            self._users_missing.add(user_id)
        return found

    def _user_by_email(self, email: str) -> JSON | None:
        if "@" not in email:
            return None
        try:
            return self.directory.user_by_email(email)
        except ResolveError:
            # the Directory caches the miss too; the Resolver words the error, naming the rule
            return None

    def users_named(self, name: str) -> list[JSON]:
        """Users whose name or email is `name` (users/search, offset paged: Zendesk's only way)."""
        wanted = name.strip().casefold()
        found = iter_offset(self._client.get_json, "/api/v2/users/search.json", "users",
                            params={"query": name.strip()})
        return [u for u in found
                if wanted in (str(u.get("name") or "").casefold(),
                              str(u.get("email") or "").casefold())]


class QueryNames:
    """`runner.query.Directory` over the same lookups: a name -> every id it names."""

    def __init__(self, names: ZendeskNames) -> None:
        self._names = names

    def user_ids(self, value: str) -> frozenset[int]:
        if "@" in value:
            user = self._names.find_all("user", value)
            return frozenset(int(u["id"]) for u in user)
        return frozenset(int(u["id"]) for u in self._names.users_named(value))

    def group_ids(self, value: str) -> frozenset[int]:
        return frozenset(int(g["id"]) for g in self._names.find_all("group", value))

    def organization_ids(self, value: str) -> frozenset[int]:
        return frozenset(int(o["id"]) for o in self._names.find_all("organization", value))

    def brand_ids(self, value: str) -> frozenset[int]:
        return frozenset(int(b["id"]) for b in self._names.find_all("brand", value))
