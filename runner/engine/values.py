"""Reading values out of Zendesk ticket dicts, and the value types rules compare them with.

Tickets stay the JSON dicts Zendesk returns; these helpers never raise on a missing key or a null,
because real tickets have both (a ticket with no priority, a field added after it was created).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from Zendesk's ISO-8601 text (or a YYYY-MM-DD date); None if not one.

    A value without an offset is taken as UTC, as Zendesk sends every timestamp in UTC.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def custom_field_value(ticket: Mapping[str, Any], field_id: int) -> Any:
    """The value of custom field `field_id` on a ticket (None when absent)."""
    for key in ("custom_fields", "fields"):
        for entry in ticket.get(key) or ():
            if isinstance(entry, Mapping) and entry.get("id") == field_id:
                return entry.get("value")
    return None


def ticket_tags(ticket: Mapping[str, Any]) -> list[Any]:
    """The ticket's tag list itself ([] when absent): every condition on tags reads it once per
    ticket and each ticket read, so it is not copied; compare its items as str()."""
    tags = ticket.get("tags")
    return tags if isinstance(tags, list) else []


def via_channel(ticket: Mapping[str, Any]) -> Any:
    via = ticket.get("via")
    return via.get("channel") if isinstance(via, Mapping) else None


def is_empty(value: Any) -> bool:
    """What `not_present` means: null, an empty string, or an empty list."""
    return value is None or value == "" or value == [] or value == ()
