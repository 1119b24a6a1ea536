"""Rule actions compiled once per run and applied to simulated tickets.

Applying never touches Zendesk: it returns a new ticket dict with the actions carried out and the
list of what actually differs from the ticket it was given, so an action that is already true of
a ticket is no change at all. Absent and null differ: `assignee: null` unassigns, a missing
`assignee` leaves it alone (read from `model_fields_set`).

The new dict shares every value the actions leave alone with the ticket it was given (a deep
copy of each simulated ticket was a quarter of a large plan's CPU and most of its memory), so
nothing in the engine changes a ticket's values in place: an action puts a new value (a new tag
list, a new custom_fields list) where the old one was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from runner.config.fields import ACTION_STATUSES, PRIORITIES, TYPES, zendesk_tags
from runner.config.templates import template_faults
from runner.engine import templates
from runner.engine.plan import CUSTOM_PREFIX, UPDATE_KEYS, CommentChange
from runner.engine.resolve import Kind, Resolver, TicketField
from runner.engine.rules import ActionsLike, rule_error
from runner.engine.tagfields import (
    TAGGED_TYPES,
    moved_fields,
    owned_part,
    owned_tags,
    tag_index,
    value_from_tags,
    with_value,
)
from runner.engine.values import custom_field_value

Ticket = Mapping[str, Any]


@dataclass(frozen=True)
class FieldSet:
    """One field an action sets: its plan name, the Zendesk value, and how to show both."""

    field: str  # status, priority, type, assignee, group, custom_fields.<id>
    value: Any
    label: str | None = None  # a custom field's title
    value_label: str | None = None  # a group's name, a user's email, an option's name
    kind: str | None = None  # a custom field's type (how values compare)
    ticket_field: TicketField | None = None  # a custom field's definition (its option names)


@dataclass
class Effects:
    """What a rule's actions do to one (simulated) ticket."""

    ticket: dict[str, Any]  # the simulated ticket afterwards (shares what did not change)
    fields: list[FieldSet] = field(default_factory=list)  # values that differ from before
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    comment: CommentChange | None = None

    @property
    def changed(self) -> bool:
        return bool(self.fields or self.tags_added or self.tags_removed or self.comment)


def read_field(ticket: Ticket, name: str) -> Any:
    """A field's current value on a ticket, by its plan name."""
    if name.startswith(CUSTOM_PREFIX):
        return custom_field_value(ticket, int(name.removeprefix(CUSTOM_PREFIX)))
    return ticket.get(UPDATE_KEYS[name])


def write_field(ticket: dict[str, Any], name: str, value: Any) -> None:
    """Set a field on `ticket` without changing any value it may share with another ticket."""
    if not name.startswith(CUSTOM_PREFIX):
        ticket[UPDATE_KEYS[name]] = value
        return
    field_id = int(name.removeprefix(CUSTOM_PREFIX))
    entries = [e for e in ticket.get("custom_fields") or [] if isinstance(e, Mapping)]
    for index, entry in enumerate(entries):
        if entry.get("id") == field_id:
            entries[index] = {**entry, "value": value}
            break
    else:
        entries.append({"id": field_id, "value": value})
    ticket["custom_fields"] = entries
    ticket.pop("fields", None)  # a stale duplicate of custom_fields would shadow nothing useful


def same_value(kind: str | None, a: Any, b: Any) -> bool:
    """Equal as Zendesk means it: "42" is 42 in an integer field, null is unchecked, ..."""
    if kind in ("integer", "decimal"):
        return _as_number(a) == _as_number(b)
    if kind == "checkbox":
        return bool(a) == bool(b)
    if kind == "multiselect":
        return sorted(map(str, a or [])) == sorted(map(str, b or []))
    if kind in ("text", "textarea", "regexp", "partialcreditcard", "date", "tagger"):
        # Zendesk stores a cleared text or dropdown field as null; "" is the same thing.
        return (a or None) == (b or None)
    return bool(a == b)


def _as_number(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class CompiledActions:
    """A rule's actions with every name resolved."""

    def __init__(
        self,
        rule: str,
        sets: Sequence[FieldSet],
        *,
        tags_set: Sequence[str] | None = None,
        tags_add: Sequence[str] = (),
        tags_remove: Sequence[str] = (),
        comment_body: str | None = None,
        comment_public: bool = False,
        tag_fields: Mapping[str, Sequence[TicketField]] | None = None,
    ) -> None:
        self.rule = rule
        self.sets = tuple(sets)
        # tag -> the dropdown, multiselect and checkbox fields it belongs to (runner.engine.
        # tagfields); empty when the rule neither touches tags nor sets such a field
        self.tag_fields = tag_fields or {}
        self.tagged_sets = tuple(
            a for a in self.sets if a.ticket_field is not None and a.kind in TAGGED_TYPES
        )
        self.tags_set = None if tags_set is None else tuple(tags_set)
        self.tags_add = tuple(tags_add)
        self.tags_remove = tuple(tags_remove)
        self.comment_body = comment_body
        self.comment_public = comment_public
        # looked for once here, not in every ticket's comment
        self.names_requester = comment_body is not None and templates.uses(
            comment_body, "ticket.requester.name"
        )

    def _follow_fields(self, simulated: dict[str, Any], effects: Effects, before: list[str],
                       after: list[str], changed: Sequence[FieldSet]) -> list[str]:
        """The tags and tag-backed field values Zendesk ends with (runner.engine.tagfields).

        This rule's own values win over its tag actions: those it changes always, those
        already on the ticket when its tag actions touched their tags (so a rule that sets a
        dropdown and removes its tag does not clear it on one run and set it on the next).
        Every other field whose tags moved follows them, and is planned as this rule's change.
        """
        explicit: set[str] = set()
        for action in self.tagged_sets:
            ticket_field = action.ticket_field
            assert ticket_field is not None  # tagged_sets holds only custom fields
            if action in changed or owned_part(ticket_field, before) != owned_part(
                ticket_field, after
            ):
                after = with_value(ticket_field, action.value, after)
            explicit.add(action.field)
        for ticket_field in moved_fields(self.tag_fields, before, after):
            name = f"{CUSTOM_PREFIX}{ticket_field.id}"
            if name in explicit:
                continue
            old = read_field(simulated, name)
            value = value_from_tags(ticket_field, old, after, before)
            if ticket_field.type == "tagger":
                # one option at a time: the chosen option's tag stays, the others go
                after = [t for t in after if t == value or t not in owned_tags(ticket_field)]
            if not same_value(ticket_field.type, old, value):
                write_field(simulated, name, value)
                effects.fields.append(FieldSet(
                    name, value, label=ticket_field.title,
                    value_label=describe_custom(ticket_field, value), kind=ticket_field.type,
                    ticket_field=ticket_field,
                ))
        return after

    def apply(
        self, ticket: Ticket, requester_name: Callable[[Any], str | None] = lambda _: None
    ) -> Effects:
        simulated = dict(ticket)
        effects = Effects(ticket=simulated)
        for action in self.sets:
            if not same_value(action.kind, read_field(simulated, action.field), action.value):
                # a multiselect's list is the one mutable value an action holds: each ticket
                # gets its own, so no ticket's value is the compiled rule's
                value = list(action.value) if isinstance(action.value, list) else action.value
                write_field(simulated, action.field, value)
                effects.fields.append(action)
        changed_tagged = [a for a in effects.fields if a in self.tagged_sets]
        if self.tags_set is not None or self.tags_add or self.tags_remove or changed_tagged:
            before = [str(t) for t in simulated.get("tags") or []]
            after = list(dict.fromkeys(self.tags_set if self.tags_set is not None else before))
            after += [t for t in self.tags_add if t not in after]
            after = [t for t in after if t not in self.tags_remove]
            after = self._follow_fields(simulated, effects, before, after, changed_tagged)
            effects.tags_added = [t for t in after if t not in before]
            effects.tags_removed = [t for t in dict.fromkeys(before) if t not in after]
            if effects.tags_added or effects.tags_removed:
                simulated["tags"] = after
        if self.comment_body is not None:
            name = requester_name(simulated.get("requester_id")) if self.names_requester else None
            body = templates.render(
                self.comment_body,
                {
                    "ticket.id": str(simulated.get("id", "")),
                    "ticket.subject": str(simulated.get("subject") or ""),
                    "ticket.requester.name": name or "",
                    "rule.name": self.rule,
                },
            )
            effects.comment = CommentChange(body=body, public=self.comment_public, rule=self.rule)
        return effects


def compile_actions(
    rule: str, actions: ActionsLike, resolver: Resolver, *, source: str = "config"
) -> CompiledActions:
    """Resolve a rule's actions. Raises ResolveError for unknown names, ConfigError for values."""
    given = set(actions.model_fields_set)

    def fail(path: str, message: str) -> Exception:
        return rule_error(rule, f"actions.{path}", message, source=source)

    sets: list[FieldSet] = []
    for name, allowed in (("status", ACTION_STATUSES), ("priority", PRIORITIES), ("type", TYPES)):
        if name not in given:
            continue
        value = getattr(actions, name)
        if value is None and name != "type":
            reason = " (Zendesk cannot reset a priority)" if name == "priority" else ""
            raise fail(name, f"{name} cannot be set to null{reason}")
        if value is not None and value not in allowed:
            raise fail(name, f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        sets.append(FieldSet(name, value, value_label=value))
    references: tuple[tuple[str, Kind], ...] = (("assignee", "user"), ("group", "group"))
    for name, kind in references:
        if name not in given:
            continue
        key = getattr(actions, name)
        if key is None:
            sets.append(FieldSet(name, None))
            continue
        if isinstance(key, bool) or not isinstance(key, int | str):
            raise fail(name, f"{name} takes a name, email or numeric id, or null, not {key!r}")
        record_id = (
            resolver.resolve_assignee(rule, key)
            if name == "assignee"
            else resolver.resolve_id(kind, rule, key)
        )
        sets.append(FieldSet(name, record_id, value_label=resolver.label(kind, record_id)))
    for key, value in (actions.custom_fields or {}).items():
        ticket_field = resolver.field(rule, key)
        zendesk_value = _custom_value(rule, ticket_field, value, resolver, fail)
        sets.append(
            FieldSet(
                f"{CUSTOM_PREFIX}{ticket_field.id}",
                zendesk_value,
                label=ticket_field.title,
                value_label=describe_custom(ticket_field, zendesk_value),
                kind=ticket_field.type,
                ticket_field=ticket_field,
            )
        )
    tags = actions.tags
    comment = actions.comment
    if comment is not None:
        faults = template_faults(comment.body)
        if faults:
            raise fail("comment.body", "; ".join(f.message for f in faults))
    return CompiledActions(
        rule,
        sets,
        tags_set=None if tags is None or tags.set is None else zendesk_tags(tags.set),
        tags_add=zendesk_tags(tags.add) if tags is not None else (),
        tags_remove=zendesk_tags(tags.remove) if tags is not None else (),
        comment_body=None if comment is None else comment.body,
        comment_public=False if comment is None else bool(comment.public),
        tag_fields=tag_index(resolver.custom_fields())
        if tags is not None or any(s.kind in TAGGED_TYPES for s in sets) else None,
    )


def _custom_value(
    rule: str,
    ticket_field: TicketField,
    value: Any,
    resolver: Resolver,
    fail: Callable[[str, str], Exception],
) -> Any:
    path = f"custom_fields[{ticket_field.title}]"
    kind = ticket_field.type
    if value is None:
        return False if kind == "checkbox" else None
    if kind == "tagger":
        return resolver.option_value(rule, ticket_field, value)
    if kind == "multiselect":
        items = value if isinstance(value, list) else [value]
        return [resolver.option_value(rule, ticket_field, v) for v in items]
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise fail(path, f'the checkbox "{ticket_field.title}" takes true or false')
        return value
    if kind == "date":
        text = value.isoformat() if isinstance(value, date) else str(value)
        try:
            date.fromisoformat(text)
        except ValueError:
            raise fail(
                path, f'the date field "{ticket_field.title}" takes YYYY-MM-DD, not {value!r}'
            ) from None
        return text
    if kind == "integer":
        if (
            isinstance(value, bool)
            or _as_number(value) is None
            or float(value) != int(float(value))
        ):
            raise fail(path, f'the integer field "{ticket_field.title}" takes a whole number')
        return int(float(value))
    if kind == "decimal":
        if isinstance(value, bool) or _as_number(value) is None:
            raise fail(path, f'the decimal field "{ticket_field.title}" takes a number')
        return value
    if isinstance(value, dict | list):
        raise fail(path, f'the {kind} field "{ticket_field.title}" takes a single value')
    return value if kind == "lookup" else str(value)


def describe_custom(ticket_field: TicketField, value: Any) -> str | None:
    """How a custom field value reads to a person (option names instead of tag values)."""
    if value is None:
        return None
    if ticket_field.type == "tagger":
        return ticket_field.option_name(value) or str(value)
    if ticket_field.type == "multiselect" and isinstance(value, list):
        return ", ".join(ticket_field.option_name(v) or str(v) for v in value)
    return None


def describe(
    resolver: Resolver, name: str, value: Any, ticket_field: TicketField | None = None
) -> str | None:
    """A display label for a field value read from a ticket (None: show the raw value).

    Pass a custom field's `ticket_field` when it is at hand: finding it by id scans every field
    of the account, once per value labelled.
    """
    if value is None:
        return None
    if name == "assignee":
        return resolver.label("user", value)
    if name == "group":
        return resolver.label("group", value)
    if name.startswith(CUSTOM_PREFIX):
        if ticket_field is None:
            field_id = int(name.removeprefix(CUSTOM_PREFIX))
            ticket_field = next((f for f in resolver.custom_fields() if f.id == field_id), None)
        return None if ticket_field is None else describe_custom(ticket_field, value)
    return None
