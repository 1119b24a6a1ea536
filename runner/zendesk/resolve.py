"""Names in rules (groups, users, organizations, brands, ticket fields, options) -> Zendesk ids.

A `Directory` fetches each short list at most once per run (groups, brands, ticket fields) and
remembers every user and organization it looked up (and every miss), so a plan over thousands
of tickets costs a handful of calls. Organizations are looked up by name or id rather than
listed, because an account may have tens of thousands. An unknown name is a ResolveError that
names it (and, for the short lists, lists what exists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.errors import ResolveError, ZendeskNotFoundError

if TYPE_CHECKING:
    from runner.zendesk.client import ZendeskClient

JSON = dict[str, Any]
_SHOWN = 10


def _known(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in sorted(names)[:_SHOWN])
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return f"{shown}{more}" if names else "none"


def _as_id(value: str | int) -> int | None:
    if isinstance(value, int):
        return value
    text = value.strip()
    return int(text) if text.isdigit() else None


class Directory:
    """Lookups by name through one client, each list fetched once and then cached."""

    def __init__(self, client: ZendeskClient) -> None:
        self._client = client
        self._groups: list[JSON] | None = None
        self._fields: list[JSON] | None = None
        self._users_by_email: dict[str, JSON | None] = {}
        self._users_by_id: dict[int, JSON] = {}
        self._brands: list[JSON] | None = None
        self._organizations_by_id: dict[int, JSON | None] = {}
        self._organizations_named: dict[str, list[JSON]] = {}

    def groups(self) -> list[JSON]:
        if self._groups is None:
            self._groups = [g for g in self._client.groups() if not g.get("deleted")]
        return self._groups

    def ticket_fields(self) -> list[JSON]:
        if self._fields is None:
            self._fields = self._client.ticket_fields()
        return self._fields

    def group(self, name_or_id: str | int) -> JSON:
        """The group with this id, or this name (case-insensitive)."""
        wanted_id = _as_id(name_or_id)
        wanted = str(name_or_id).strip().casefold()
        for group in self.groups():
            if group.get("id") == wanted_id or str(group.get("name", "")).casefold() == wanted:
                return group
        raise ResolveError(
            f"group {name_or_id!r} not found in Zendesk (groups: "
            f"{_known([str(g.get('name')) for g in self.groups()])}).",
            hint="Use a group's exact name or numeric id.",
        )

    def group_id(self, name_or_id: str | int) -> int:
        return int(self.group(name_or_id)["id"])

    def brands(self) -> list[JSON]:
        if self._brands is None:
            self._brands = [b for b in self._client.brands() if not b.get("is_deleted")]
        return self._brands

    def brand(self, name_or_id: str | int) -> JSON:
        """The brand with this id, or this name (case-insensitive)."""
        wanted_id = _as_id(name_or_id)
        wanted = str(name_or_id).strip().casefold()
        for brand in self.brands():
            if brand.get("id") == wanted_id or str(brand.get("name", "")).casefold() == wanted:
                return brand
        raise ResolveError(
            f"brand {name_or_id!r} not found in Zendesk (brands: "
            f"{_known([str(b.get('name')) for b in self.brands()])}).",
            hint="Use a brand's exact name or numeric id.",
        )

    def brand_id(self, name_or_id: str | int) -> int:
        return int(self.brand(name_or_id)["id"])

    def organization_by_id(self, organization_id: int) -> JSON | None:
        """The organization with this id, or None if Zendesk has none (misses are cached too)."""
        if organization_id not in self._organizations_by_id:
            try:
                found: JSON | None = self._client.organization(organization_id)
            except ZendeskNotFoundError:
                found = None
            self._organizations_by_id[organization_id] = found
        return self._organizations_by_id[organization_id]

    def organizations_named(self, name: str) -> list[JSON]:
        """Organizations named `name` (case-insensitive); Zendesk keeps names unique."""
        key = name.strip().casefold()
        if key not in self._organizations_named:
            found = self._client.organizations_named(name)
            self._organizations_named[key] = found
            for organization in found:
                self._organizations_by_id[int(organization["id"])] = organization
        return self._organizations_named[key]

    def organization(self, name_or_id: str | int) -> JSON:
        """The organization with this id, or this name (case-insensitive)."""
        wanted_id = _as_id(name_or_id)
        named = [] if isinstance(name_or_id, int) else self.organizations_named(name_or_id)
        if named:
            return named[0]
        found = None if wanted_id is None else self.organization_by_id(wanted_id)
        if found is None:
            raise ResolveError(
                f"organization {name_or_id!r} not found in Zendesk.",
                hint="Use the organization's exact name (as in Admin Center) or numeric id.",
            )
        return found

    def organization_id(self, name_or_id: str | int) -> int:
        return int(self.organization(name_or_id)["id"])

    def user_by_email(self, email: str) -> JSON:
        key = email.strip().casefold()
        if key not in self._users_by_email:
            user = self._client.user_by_email(email)
            self._users_by_email[key] = user
            if user is not None:
                self._users_by_id[int(user["id"])] = user
        found = self._users_by_email[key]
        if found is None:
            raise ResolveError(f"no Zendesk user has the email {email!r}.",
                               hint="Check the spelling, or use the user's numeric id.")
        return found

    def user_id(self, email_or_id: str | int) -> int:
        as_id = _as_id(email_or_id)
        if as_id is not None:
            return as_id
        return int(self.user_by_email(str(email_or_id))["id"])

    def users(self, ids: list[int]) -> dict[int, JSON]:
        """Users by id; only ids not seen before cost a call (100 per call)."""
        missing = [i for i in dict.fromkeys(ids) if i not in self._users_by_id]
        if missing:
            for user in self._client.users_show_many(missing):
                self._users_by_id[int(user["id"])] = user
        return {i: self._users_by_id[i] for i in ids if i in self._users_by_id}

    def ticket_field(self, title_or_id: str | int) -> JSON:
        """The ticket field with this id, or this title (case-insensitive)."""
        wanted_id = _as_id(title_or_id)
        wanted = str(title_or_id).strip().casefold()
        for ticket_field in self.ticket_fields():
            titles = {str(ticket_field.get(k) or "").casefold() for k in ("title", "raw_title")}
            if ticket_field.get("id") == wanted_id or wanted in titles:
                return ticket_field
        raise ResolveError(
            f"ticket field {title_or_id!r} not found in Zendesk (fields: "
            f"{_known([str(f.get('title')) for f in self.ticket_fields()])}).",
            hint="Use the field's title as shown in Admin Center, or its numeric id.",
        )

    def option_value(self, title_or_id: str | int, name_or_value: str) -> str:
        """The tag value of a dropdown/multiselect option, given its name or its value."""
        ticket_field = self.ticket_field(title_or_id)
        options = ticket_field.get("custom_field_options") or []
        wanted = name_or_value.strip().casefold()
        for option in options:
            if str(option.get("value", "")).casefold() == wanted:
                return str(option["value"])
        for option in options:
            names = {str(option.get(k) or "").casefold() for k in ("name", "raw_name")}
            if wanted in names:
                return str(option["value"])
        raise ResolveError(
            f"ticket field {ticket_field.get('title')!r} has no option {name_or_value!r} "
            f"(options: {_known([str(o.get('name')) for o in options])}).",
            hint="Use the option's name or its tag value.",
        )
