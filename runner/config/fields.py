"""The catalog of what a rule may test and set: condition fields, operators, enumerations.

This module is data plus tiny functions. The config checks use it to reject a condition that
cannot work; the engine uses the same tables to evaluate conditions on a ticket, so the two can
never disagree about what `priority less_than high` means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final, Literal, get_args

# Zendesk's own orders: search's `status<solved` and `priority>normal` compare in these orders.
STATUSES: Final = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES: Final = ("low", "normal", "high", "urgent")
TYPES: Final = ("question", "incident", "problem", "task")

# An action may not set `new`: Zendesk never lets a ticket return to it.
ACTION_STATUSES: Final = STATUSES[1:]


class Kind(StrEnum):
    """How a condition field is read and compared."""

    ORDERED = "ordered"  # an enumeration with an order (status, priority)
    ENUM = "enum"  # an enumeration without order (type)
    TEXT = "text"  # subject, description
    TAGS = "tags"
    USER = "user"  # assignee, requester: email or numeric id
    GROUP = "group"  # name or numeric id
    ORGANIZATION = "organization"  # name or numeric id
    BRAND = "brand"  # name or numeric id
    VIA = "via"  # the channel, e.g. email, web, api
    TIMESTAMP = "timestamp"
    CUSTOM = "custom"  # custom_fields.<title or id>


# Every condition operator; the model's `operator` field takes exactly these.
Operator = Literal[
    "is",
    "is_not",
    "less_than",
    "greater_than",
    "includes",
    "not_includes",
    "contains",
    "not_contains",
    "matches",
    "present",
    "not_present",
    "older_than",
    "newer_than",
]
OPERATORS: Final[tuple[str, ...]] = get_args(Operator)

# Operators that take no value: a `value` next to them is a mistake worth reporting.
VALUELESS_OPERATORS: Final = frozenset({"present", "not_present"})

_IDENTITY_OPS: Final = ("is", "is_not", "present", "not_present")

OPERATORS_BY_KIND: Final[dict[Kind, tuple[str, ...]]] = {
    Kind.ORDERED: ("is", "is_not", "less_than", "greater_than", "present", "not_present"),
    Kind.ENUM: _IDENTITY_OPS,
    Kind.TEXT: ("is", "is_not", "contains", "not_contains", "matches", "present", "not_present"),
    Kind.TAGS: ("includes", "not_includes", "present", "not_present"),
    Kind.USER: _IDENTITY_OPS,
    Kind.GROUP: _IDENTITY_OPS,
    Kind.ORGANIZATION: _IDENTITY_OPS,
    Kind.BRAND: _IDENTITY_OPS,
    Kind.VIA: ("is", "is_not"),
    Kind.TIMESTAMP: ("older_than", "newer_than"),
    # A custom field's type (text, dropdown, multiselect, checkbox, ...) is only known at plan
    # time, so everything but ordering and durations is allowed here.
    Kind.CUSTOM: (
        "is",
        "is_not",
        "contains",
        "not_contains",
        "matches",
        "includes",
        "not_includes",
        "present",
        "not_present",
    ),
}


@dataclass(frozen=True)
class FieldSpec:
    """One condition field: its name in the config, its kind, and the ticket attribute it reads."""

    name: str
    kind: Kind
    attribute: str  # key in the ticket JSON Zendesk returns
    values: tuple[str, ...] = ()  # the enumeration, in order, for ORDERED and ENUM

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS_BY_KIND[self.kind]


FIELDS: Final[dict[str, FieldSpec]] = {
    spec.name: spec
    for spec in (
        FieldSpec("status", Kind.ORDERED, "status", STATUSES),
        FieldSpec("priority", Kind.ORDERED, "priority", PRIORITIES),
        FieldSpec("type", Kind.ENUM, "type", TYPES),
        FieldSpec("subject", Kind.TEXT, "subject"),
        FieldSpec("description", Kind.TEXT, "description"),
        FieldSpec("tags", Kind.TAGS, "tags"),
        FieldSpec("assignee", Kind.USER, "assignee_id"),
        FieldSpec("requester", Kind.USER, "requester_id"),
        FieldSpec("group", Kind.GROUP, "group_id"),
        FieldSpec("organization", Kind.ORGANIZATION, "organization_id"),
        FieldSpec("brand", Kind.BRAND, "brand_id"),
        FieldSpec("via", Kind.VIA, "via"),
        FieldSpec("created_at", Kind.TIMESTAMP, "created_at"),
        FieldSpec("updated_at", Kind.TIMESTAMP, "updated_at"),
    )
}

CUSTOM_FIELD_PREFIX: Final = "custom_fields."

# What the JSON Schema and the model accept as a condition field (editors complete from it).
FIELD_PATTERN: Final = "^(" + "|".join(re.escape(name) for name in FIELDS) + r"|custom_fields\..+)$"


def field_spec(name: str) -> FieldSpec | None:
    """The spec of a condition field, or None when the name is not a field.

    `custom_fields.<title or id>` gives a CUSTOM spec whose attribute is the part after the dot.
    """
    spec = FIELDS.get(name)
    if spec is not None:
        return spec
    if name.startswith(CUSTOM_FIELD_PREFIX) and len(name) > len(CUSTOM_FIELD_PREFIX):
        return FieldSpec(name, Kind.CUSTOM, name[len(CUSTOM_FIELD_PREFIX) :])
    return None


def field_names() -> list[str]:
    """Every condition field name, as a user would write it (for messages)."""
    return [*FIELDS, "custom_fields.<title or id>"]


# Durations: a positive whole number and one unit. Months and years are left out on purpose:
# their length varies, and a rule's age threshold should mean the same thing every run.
DURATION_UNITS: Final[dict[str, timedelta]] = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
DURATION_PATTERN: Final = r"^[1-9][0-9]*[mhdw]$"
DURATION_HELP: Final = "a positive whole number and a unit m, h, d or w, e.g. 90m, 72h, 14d, 2w"
_DURATION = re.compile(DURATION_PATTERN)


# No ticket is older than this; a longer duration is a typo, and `now - duration` must not
# overflow the calendar (datetime stops at year 1).
MAX_DURATION: Final = timedelta(days=36_525)


def parse_duration(text: str) -> timedelta:
    """`"72h"` -> 3 days. Raises ValueError (saying what is allowed) for anything else."""
    if not _DURATION.match(text):
        raise ValueError(f"{text!r} is not a duration: use {DURATION_HELP}")
    unit = DURATION_UNITS[text[-1]]
    # Compared as text first: int() refuses digit strings past a few thousand characters.
    if len(text) > 12 or int(text[:-1]) > MAX_DURATION // unit:
        raise ValueError(
            f"{text!r} is longer than 100 years, which no ticket is: use a shorter duration "
            "such as 52w"
        )
    return int(text[:-1]) * unit


def zendesk_tag(tag: object) -> str:
    """A tag as Zendesk stores it: lower case. A rule's "VIP-Noted" is the ticket's "vip-noted";
    compared as written, a rule adding it would find it missing, and comment, on every run."""
    return str(tag).lower()


def zendesk_tags(tags: Iterable[object] | None) -> list[str]:
    """Tags as Zendesk stores them: lower case, each once, in the order given."""
    return list(dict.fromkeys(zendesk_tag(t) for t in tags or ()))


# The placeholders a comment body may use; the engine fills exactly these.
TEMPLATE_NAMES: Final = ("ticket.id", "ticket.subject", "ticket.requester.name", "rule.name")
