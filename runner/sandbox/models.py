"""The account's small, rarely changing records: users, organizations, brands, groups, fields.

Tickets are not here: there can be a million of them, so they live in compact columns
(`runner.sandbox.columns`) and become dicts only when asked for or written.
"""

from __future__ import annotations

from dataclasses import dataclass

# Id ranges keep every kind of record distinct and look like Zendesk's 13-digit ids.
USER_ID_BASE = 1_100_000_000_000
GROUP_ID_BASE = 1_200_000_000_000
FIELD_ID_BASE = 1_300_000_000_000
ORG_ID_BASE = 1_400_000_000_000
OPTION_ID_BASE = 1_500_000_000_000
SEED_AUDIT_ID_BASE = 1_600_000_000_000
AUDIT_ID_BASE = 1_690_000_000_000
SEED_EVENT_ID_BASE = 1_700_000_000_000
EVENT_ID_BASE = 1_790_000_000_000
BRAND_ID = 1_800_000_000_001  # the default brand
BRAND_ID_BASE = 1_810_000_000_000  # the other brands
TICKET_FORM_ID = 1_800_000_000_002
CUSTOM_STATUS_ID_BASE = 1_800_000_000_100

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES: tuple[str | None, ...] = (None, "low", "normal", "high", "urgent")
TYPES: tuple[str | None, ...] = (None, "question", "incident", "problem", "task")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str
    role: str  # "admin" | "agent" | "end-user"
    role_type: int | None  # 1 = light agent, 4 = admin, None = plain agent / end-user
    organization_id: int | None
    created: int
    default_group_id: int | None = None
    suspended: bool = False  # can still authenticate; see runner.sandbox.auth

    @property
    def is_agent(self) -> bool:
        return self.role in ("agent", "admin")

    @property
    def is_light_agent(self) -> bool:
        return self.role == "agent" and self.role_type == 1

    @property
    def can_edit_tickets(self) -> bool:
        return self.is_agent and not self.is_light_agent and not self.suspended


@dataclass(frozen=True)
class Organization:
    id: int
    name: str
    created: int


@dataclass(frozen=True)
class Brand:
    id: int
    name: str
    subdomain: str
    default: bool
    created: int


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    description: str
    default: bool
    created: int


@dataclass(frozen=True)
class FieldOption:
    id: int
    name: str
    value: str


@dataclass(frozen=True)
class TicketField:
    id: int
    type: str  # Zendesk's field type: subject, status, ..., text, tagger, checkbox, ...
    title: str
    position: int
    created: int
    required: bool = False  # "required to solve"
    removable: bool = True
    tag: str | None = None  # the tag a checkbox adds when ticked
    options: tuple[FieldOption, ...] = ()

    @property
    def is_custom(self) -> bool:
        return self.removable

    def option_values(self) -> frozenset[str]:
        return frozenset(option.value for option in self.options)
