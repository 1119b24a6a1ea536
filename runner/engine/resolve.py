"""Names in rules (groups, users, organizations, brands, ticket fields, dropdown options) -> ids.

The engine asks a `Resolver`; the resolver asks a `NameSource` at most once per distinct name and
remembers the answer for the rest of the run. The Zendesk client provides a `NameSource` over the
API; `InMemoryNames` is the same contract over plain lists (tests, the sandbox's seed data).

Matching is exact first and then case-insensitive, because Zendesk itself treats group and field
names case-insensitively in its UI, and a rule author should not have to copy capitalisation. A
case-insensitive match that finds two records is an error: guessing would act on the wrong one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from runner.errors import ResolveError

Kind = Literal["group", "user", "organization", "brand"]

# Ticket fields whose type says they are one of Zendesk's built-in fields: rules address those by
# their own condition/action names (status, group, ...), never through custom_fields.
SYSTEM_FIELD_TYPES = frozenset(
    {
        "subject",
        "description",
        "status",
        "tickettype",
        "priority",
        "group",
        "assignee",
        "custom_status",
        "brand",
    }
)


@dataclass(frozen=True)
class FieldOption:
    name: str
    value: str  # the tag value Zendesk stores on the ticket


@dataclass(frozen=True)
class TicketField:
    id: int
    title: str
    type: str  # Zendesk's custom field type: text, tagger, checkbox, date, integer, ...
    options: tuple[FieldOption, ...] = ()
    tag: str | None = None  # the tag a checkbox puts on the ticket when ticked

    def option_name(self, value: Any) -> str | None:
        for option in self.options:
            if option.value == value:
                return option.name
        return None


class NameSource(Protocol):
    """Where names come from: the Zendesk API in a real run, plain lists in tests."""

    def find(self, kind: Kind, record_id: int) -> Mapping[str, Any] | None:
        """The record with this id (at least `id` and `name`; users also `email`), or None."""

    def find_all(self, kind: Kind, name: str) -> list[Mapping[str, Any]]:
        """Records whose name (email for users) equals `name` case-insensitively."""

    def find_many(self, kind: Kind, record_ids: Sequence[int]) -> Iterable[Mapping[str, Any]]:
        """The records with these ids that exist, in as few calls as the source allows."""

    def ticket_fields(self) -> Iterable[Mapping[str, Any]]:
        """Every ticket field, in the shape of GET /api/v2/ticket_fields."""


class InMemoryNames:
    """A NameSource over lists of Zendesk-shaped records."""

    def __init__(
        self,
        *,
        groups: Iterable[Mapping[str, Any]] = (),
        users: Iterable[Mapping[str, Any]] = (),
        organizations: Iterable[Mapping[str, Any]] = (),
        brands: Iterable[Mapping[str, Any]] = (),
        ticket_fields: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        self._records: dict[Kind, list[Mapping[str, Any]]] = {
            "group": list(groups),
            "user": list(users),
            "organization": list(organizations),
            "brand": list(brands),
        }
        self._fields = list(ticket_fields)
        self.calls = 0  # how often the engine asked: proves "once per run" in tests

    def find(self, kind: Kind, record_id: int) -> Mapping[str, Any] | None:
        self.calls += 1
        return next((r for r in self._records[kind] if r.get("id") == record_id), None)

    def find_all(self, kind: Kind, name: str) -> list[Mapping[str, Any]]:
        self.calls += 1
        attribute = "email" if kind == "user" else "name"
        wanted = name.casefold()
        return [r for r in self._records[kind] if str(r.get(attribute) or "").casefold() == wanted]

    def find_many(self, kind: Kind, record_ids: Sequence[int]) -> list[Mapping[str, Any]]:
        self.calls += 1
        wanted = set(record_ids)
        return [r for r in self._records[kind] if r.get("id") in wanted]

    def ticket_fields(self) -> Iterable[Mapping[str, Any]]:
        self.calls += 1
        return list(self._fields)


_WHAT = {"group": "group", "user": "user", "organization": "organization", "brand": "brand"}
_BY = {"group": "name", "user": "email", "organization": "name", "brand": "name"}


class Resolver:
    """Resolves the names a rule uses, caching every answer (and every miss) for the run."""

    def __init__(self, source: NameSource) -> None:
        self._source = source
        self._by_key: dict[tuple[Kind, int | str], Mapping[str, Any] | None] = {}
        self._fields: list[TicketField] | None = None

    # --- ids for rules -------------------------------------------------------------------------

    def resolve_id(self, kind: Kind, rule: str, key: int | str) -> int:
        """The id of the record `key` names; ResolveError naming the rule and the name if none."""
        record = self._record(kind, rule, key)
        if record is None:
            by = "id" if isinstance(key, int) else _BY[kind]
            raise ResolveError(
                f'rule "{rule}": no {_WHAT[kind]} with {by} {key!r} in Zendesk.',
                hint=f"Check the spelling in the rule, or use the {_WHAT[kind]}'s numeric id.",
            )
        return int(record["id"])

    def resolve_assignee(self, rule: str, key: int | str) -> int:
        """The id of the agent `key` names; ResolveError when it names an end-user, whom
        Zendesk refuses as an assignee (the plan would otherwise fail ticket by ticket)."""
        user_id = self.resolve_id("user", rule, key)
        record = self._by_key.get(("user", user_id)) or {}
        if record.get("role") == "end-user":
            raise ResolveError(
                f'rule "{rule}": the assignee {key!r} is an end-user in Zendesk; only agents '
                "and admins can be assigned tickets.",
                hint="Use the email or id of an agent, or `assignee: null` to unassign.",
            )
        return user_id

    def _record(self, kind: Kind, rule: str, key: int | str) -> Mapping[str, Any] | None:
        if isinstance(key, bool):
            raise ResolveError(f'rule "{rule}": {key!r} is not a {_WHAT[kind]} name or id.')
        cache_key: tuple[Kind, int | str] = (kind, key)
        if cache_key in self._by_key:
            return self._by_key[cache_key]
        record: Mapping[str, Any] | None
        if isinstance(key, int):
            record = self._source.find(kind, key)
        else:
            matches = self._source.find_all(kind, key)
            exact = [m for m in matches if m.get(_BY[kind]) == key]
            if len(exact) == 1:
                matches = exact
            if len(matches) > 1:
                ids = ", ".join(str(m.get("id")) for m in matches)
                raise ResolveError(
                    f'rule "{rule}": the {_WHAT[kind]} {_BY[kind]} {key!r} is ambiguous '
                    f"(Zendesk has {len(matches)}: ids {ids}).",
                    hint="Use the numeric id instead.",
                )
            record = matches[0] if matches else None
            if record is None and key.strip().isdigit():
                # YAML may hand us "123" quoted; a name that is only digits is rarer than an id.
                record = self._source.find(kind, int(key))
        self._by_key[cache_key] = record
        if record is not None:
            self._by_key[(kind, int(record["id"]))] = record
        return record

    # --- ticket fields ---------------------------------------------------------------------------

    def custom_fields(self) -> list[TicketField]:
        if self._fields is None:
            self._fields = [
                TicketField(
                    id=int(raw["id"]),
                    title=str(raw.get("title") or ""),
                    type=str(raw.get("type") or ""),
                    options=tuple(
                        FieldOption(name=str(o.get("name")), value=str(o.get("value")))
                        for o in (raw.get("custom_field_options") or [])
                    ),
                    tag=str(raw["tag"]) if raw.get("type") == "checkbox" and raw.get("tag")
                    else None,
                )
                for raw in self._source.ticket_fields()
                if raw.get("type") not in SYSTEM_FIELD_TYPES
            ]
        return self._fields

    def field(self, rule: str, key: int | str) -> TicketField:
        """A custom ticket field by id or title."""
        fields = self.custom_fields()
        if isinstance(key, int) or (isinstance(key, str) and key.strip().isdigit()):
            found = [f for f in fields if f.id == int(key)]
        else:
            found = [f for f in fields if f.title == key] or [
                f for f in fields if f.title.casefold() == key.casefold()
            ]
        if len(found) > 1:
            ids = ", ".join(str(f.id) for f in found)
            raise ResolveError(
                f'rule "{rule}": the ticket field title {key!r} is ambiguous (ids {ids}).',
                hint="Use the field's numeric id instead.",
            )
        if not found:
            raise ResolveError(
                f'rule "{rule}": no custom ticket field with '
                f"{'id' if str(key).strip().isdigit() else 'title'} {key!r} in Zendesk.",
                hint="Check the title in Admin Center > Objects and rules > Tickets > Fields.",
            )
        return found[0]

    def option_value(self, rule: str, field: TicketField, key: Any) -> str:
        """The tag value of a dropdown/multiselect option named by its name or its tag value."""
        text = str(key)
        for option in field.options:
            if option.value == text:
                return option.value
        named = [o for o in field.options if o.name == text] or [
            o for o in field.options if o.name.casefold() == text.casefold()
        ]
        if len(named) == 1:
            return named[0].value
        known = ", ".join(f"{o.name!r} ({o.value})" for o in field.options[:10])
        raise ResolveError(
            f'rule "{rule}": the field "{field.title}" has no option {key!r}'
            + (" (several options have that name)." if named else "."),
            hint=f"Use an option's name or tag value; it has: {known or 'none'}.",
        )

    # --- labels for people reading the plan -------------------------------------------------------

    def label(self, kind: Kind, record_id: Any) -> str | None:
        """A display name for an id (None if unknown); never raises, for rendering only."""
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            return None
        record = self._by_key.get((kind, record_id))
        if (kind, record_id) not in self._by_key:
            record = self._source.find(kind, record_id)
            self._by_key[(kind, record_id)] = record
        if record is None:
            return None
        if kind == "user":
            return str(record.get("email") or record.get("name") or record_id)
        return str(record.get("name") or record_id)

    def prefetch_users(self, user_ids: Iterable[Any]) -> None:
        """Look up every user not seen yet in one batch (a comment naming each requester would
        otherwise cost a call per ticket)."""
        missing = [
            i
            for i in dict.fromkeys(user_ids)
            if isinstance(i, int) and not isinstance(i, bool) and ("user", i) not in self._by_key
        ]
        if not missing:
            return
        for record in self._source.find_many("user", missing):
            self._by_key[("user", int(record["id"]))] = record
        for user_id in missing:
            self._by_key.setdefault(("user", user_id), None)

    def user_name(self, user_id: Any) -> str | None:
        """A user's display name (for {{ticket.requester.name}})."""
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            return None
        if ("user", user_id) not in self._by_key:
            self._by_key[("user", user_id)] = self._source.find("user", user_id)
        record = self._by_key[("user", user_id)]
        return None if record is None else str(record.get("name") or "")
