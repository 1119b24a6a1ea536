"""Ticket fields that Zendesk keeps in step with the ticket's tags, as the simulation must.

Zendesk links dropdown (tagger), multiselect and checkbox fields to tags both ways: setting a
field puts its option's tag on the ticket and takes the field's other options' tags off (a
checkbox ticked adds its tag, unticked removes it); clearing it removes them. Changing the tags
moves the field: removing an option's tag clears the dropdown (or drops that option from a
multiselect, or unticks the checkbox), adding one picks that option. In one update an explicit
field value wins over tags sent with it.

The planner simulates each rule's actions as that one update, so a later rule's conditions see
the tags and field values Zendesk will have. The plan shows both sides, exactly: a dropdown set
by a rule also appears as its tag added and the old option's tag removed, and a tag removal (or
`tags: set`) that drops an option's tag appears as the field cleared. We chose to show the
clearing rather than keep the tag: keeping it would mean not doing what the rule says, and
hiding it would make the plan silent about a field Zendesk changes. Sending both halves in the
update is harmless (Zendesk reaches the same state either way), and the whole tag list sent in
the batch form of update_many then agrees with the field values sent with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runner.engine.resolve import TicketField

TAGGED_TYPES = frozenset({"tagger", "multiselect", "checkbox"})


def owned_tags(field: TicketField) -> frozenset[str]:
    """Every tag the field's values can put on a ticket."""
    if field.type == "checkbox":
        return frozenset([field.tag]) if field.tag else frozenset()
    if field.type in ("tagger", "multiselect"):
        return frozenset(option.value for option in field.options)
    return frozenset()


def tag_index(fields: Iterable[TicketField]) -> dict[str, tuple[TicketField, ...]]:
    """tag -> the fields that own it (so only the fields whose tags moved are looked at)."""
    index: dict[str, list[TicketField]] = {}
    for field in fields:
        if field.type in TAGGED_TYPES:
            for tag in owned_tags(field):
                index.setdefault(tag, []).append(field)
    return {tag: tuple(owners) for tag, owners in index.items()}


def value_tags(field: TicketField, value: Any) -> list[str]:
    """The tags a field holding `value` puts on the ticket."""
    if field.type == "checkbox":
        return [field.tag] if value and field.tag else []
    if field.type == "tagger" and isinstance(value, str) and value:
        return [value]
    if field.type == "multiselect" and isinstance(value, list):
        return [str(v) for v in value]
    return []


def with_value(field: TicketField, value: Any, tags: Sequence[str]) -> list[str]:
    """`tags` once the field is set to `value`: its own tags replaced by the value's."""
    owned = owned_tags(field)
    kept = [t for t in tags if t not in owned]
    return kept + [t for t in value_tags(field, value) if t not in kept]


def owned_part(field: TicketField, tags: Iterable[str]) -> frozenset[str]:
    return owned_tags(field) & frozenset(tags)


def value_from_tags(field: TicketField, old: Any, tags: Sequence[str],
                    before: Sequence[str]) -> Any:
    """The field's value once the ticket's tags went from `before` to `tags`."""
    if field.type == "checkbox":
        ticked = field.tag in tags
        return old if ticked == bool(old) else ticked
    options = [option.value for option in field.options]
    if field.type == "multiselect":
        return [o for o in options if o in tags] or None
    added = [t for t in tags if t in options and t not in before]
    if added:
        return added[-1]  # the last one named wins, as a later write would
    return old if old in tags else None


def moved_fields(index: Mapping[str, Sequence[TicketField]], before: Sequence[str],
                 after: Sequence[str]) -> list[TicketField]:
    """The fields owning a tag that is in one of `before` and `after` but not the other."""
    moved = set(before) ^ set(after)
    found: dict[int, TicketField] = {}
    for tag in moved:
        for field in index.get(tag, ()):
            found.setdefault(field.id, field)
    return [found[key] for key in sorted(found)]
