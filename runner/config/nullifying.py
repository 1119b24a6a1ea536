"""Does a commenting rule make its own selection false? (Zendesk's nullifying-condition rule.)

A rule that adds a comment and still matches the ticket afterwards would comment again on every
run. Zendesk demands of automations that their actions nullify a condition; so do we, and we
decide it statically: apply the rule's actions to an empty ticket, and ask whether some
AND-clause of the search query, some `all` condition, or every `any` condition is then
*definitely* false. Only fields the actions set are judged; anything else is unknown, and
unknown never counts as false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runner.config.fields import CUSTOM_FIELD_PREFIX, Kind, field_spec, zendesk_tags
from runner.config.models import Actions, Condition, Rule
from runner.errors import ZdopsError
from runner.query import Query, StaticDirectory, Term, term_matches


@dataclass
class _After:
    """What is known of any ticket once the rule's actions are applied.

    `worlds` are whole tickets that bracket the unknown rest: with `tags: {add: [a]}` the tags
    are at least [a] and at most [a] plus every other tag the rule mentions. A test that is
    false in every world is definitely false.
    """

    known: set[str] = field(default_factory=set)  # ticket attributes the actions fix
    worlds: list[dict[str, Any]] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)  # custom field title or id -> value
    # Attributes set by name (an email, a group name): not null, but their id is only known at
    # plan time, so only `none` and that very name can be judged.
    named: dict[str, str] = field(default_factory=dict)

    def directory(self) -> StaticDirectory:
        """Resolves exactly the names the actions use, to the stand-in ids in `worlds`."""
        assignee, group = self.named.get("assignee_id"), self.named.get("group_id")
        return StaticDirectory(
            users={} if assignee is None else {_NAMED_IDS["assignee_id"]: ("", assignee)},
            groups={} if group is None else {_NAMED_IDS["group_id"]: group},
        )


# Stand-in ids for a name set by an action; negative, so no real id can equal them.
_NAMED_IDS = {"assignee_id": -1, "group_id": -2}


def clears_selection(rule: Rule, query: Query | None) -> bool:
    """True when the rule's actions make its own selection false for every ticket it changes."""
    actions = rule.actions
    if "status" in actions.model_fields_set and actions.status == "closed":
        return True  # closed tickets are never selected again
    mentioned = _mentioned_tags(rule, query)
    after = _apply(actions, mentioned)
    if not after.known:
        return False
    if query is not None:
        for clause in query.clauses:
            if clause and all(_term_false(term, after) for term in clause):
                return True
    if any(_condition(c, after) is False for c in rule.when.all):
        return True
    return bool(rule.when.any) and all(_condition(c, after) is False for c in rule.when.any)


def _apply(actions: Actions, mentioned: set[str]) -> _After:
    ticket: dict[str, Any] = {}
    known: set[str] = set()
    fields_set = actions.model_fields_set
    for name in ("status", "priority", "type"):
        if name in fields_set:
            ticket[name] = getattr(actions, name)
            known.add(name)
    named: dict[str, str] = {}
    # An id or null is exact; a name (email, group name) stands in until the plan resolves it.
    for name, attribute in (("assignee", "assignee_id"), ("group", "group_id")):
        value = getattr(actions, name)
        if name not in fields_set:
            continue
        known.add(attribute)
        if isinstance(value, str):
            named[attribute] = value
            ticket[attribute] = _NAMED_IDS[attribute]
        else:
            ticket[attribute] = value
    entries = []
    for key, value in (actions.custom_fields or {}).items():
        known.add(CUSTOM_FIELD_PREFIX + key)
        if key.isdigit():
            entries.append({"id": int(key), "value": value})
            known.add(f"custom_field:{key}")
    if entries:
        ticket["custom_fields"] = entries
    custom = dict(actions.custom_fields or {})
    tags = actions.tags
    if tags is None or not (tags.add or tags.remove or tags.set is not None):
        return _After(known, [ticket], custom, named)
    known.add("tags")
    # Zendesk stores tags in lower case, and the engine compares them so: "Done" is "done".
    if tags.set is not None:
        return _After(known, [{**ticket, "tags": zendesk_tags(tags.set)}], custom, named)
    added = zendesk_tags(tags.add)
    removed = set(zendesk_tags(tags.remove)) - set(added)
    fewest = added
    most = sorted(set(added) | (mentioned - removed))
    return _After(known, [{**ticket, "tags": fewest}, {**ticket, "tags": most}], custom, named)


def _mentioned_tags(rule: Rule, query: Query | None) -> set[str]:
    tags: set[str] = set()
    if query is not None:
        for term in query.terms:
            if term.field == "tags" and term.value != "none":
                tags.update(term.value.split())
    for condition in [*rule.when.all, *rule.when.any]:
        if condition.field == "tags":
            tags.update(zendesk_tags(_as_list(condition.value)))
    return tags


def _term_false(term: Term, after: _After) -> bool:
    if term.field not in after.known:
        return False
    name = after.named.get(term.field)
    if name is not None and not _judged_by_name(term, name):
        return False  # another name or an id may well be the same user or group: unknown
    now = datetime.now(UTC)
    directory = after.directory()
    try:
        return not any(term_matches(term, world, directory, now=now) for world in after.worlds)
    except ZdopsError:
        return False  # e.g. a name the empty directory cannot resolve: unknown


def _judged_by_name(term: Term, name: str) -> bool:
    if term.quoted:
        return term.value.casefold() == name.casefold()
    return term.value == "none" or term.value.casefold() == name.casefold()


def _condition(condition: Condition, after: _After) -> bool | None:
    """True, False, or None when the actions do not decide it."""
    spec = field_spec(condition.field)
    if spec is None:
        return None
    if spec.kind == Kind.CUSTOM:
        return _custom(condition, after)
    if spec.attribute not in after.known:
        return None
    if spec.kind == Kind.TAGS:
        return _across(after.worlds, lambda world: _tags(condition, world.get("tags") or []))
    name = after.named.get(spec.attribute)
    if name is not None:
        return _by_name(condition, name)
    value = after.worlds[0].get(spec.attribute)
    return _compare(condition, value, spec.values)


def _across(
    worlds: Iterable[Mapping[str, Any]], test: Callable[[Mapping[str, Any]], bool | None]
) -> bool | None:
    results = {test(world) for world in worlds}
    return results.pop() if len(results) == 1 else None


def _tags(condition: Condition, tags: list[str]) -> bool | None:
    have = set(tags)
    wanted = zendesk_tags(_as_list(condition.value))
    if condition.operator == "includes":
        return all(tag in have for tag in wanted)
    if condition.operator == "not_includes":
        return not any(tag in have for tag in wanted)
    if condition.operator == "present":
        return bool(have)
    if condition.operator == "not_present":
        return not have
    return None


def _by_name(condition: Condition, name: str) -> bool | None:
    """A condition on a field an action sets by name: only presence and that name decide."""
    operator, wanted = condition.operator, condition.value
    if operator in ("present", "not_present"):
        return operator == "present"
    same = isinstance(wanted, str) and wanted.casefold() == name.casefold()
    if operator in ("is", "is_not") and same:
        return operator == "is"
    return None


def _compare(condition: Condition, value: Any, order: tuple[str, ...]) -> bool | None:
    operator, wanted = condition.operator, condition.value
    if operator == "present":
        return value is not None
    if operator == "not_present":
        return value is None
    if operator in ("is", "is_not"):
        if isinstance(wanted, str) and not isinstance(value, str) and value is not None:
            return None  # a name compared with an id: only the plan can tell
        equal = value == wanted
        return equal if operator == "is" else not equal
    if operator in ("less_than", "greater_than") and value in order and wanted in order:
        a, b = order.index(value), order.index(wanted)
        return a < b if operator == "less_than" else a > b
    if operator in ("less_than", "greater_than") and value is None:
        return False  # Zendesk never matches a null priority by order
    return None


def _custom(condition: Condition, after: _After) -> bool | None:
    if condition.field not in after.known:
        return None
    value = after.custom.get(condition.field[len(CUSTOM_FIELD_PREFIX) :])
    if condition.operator in ("present", "not_present", "is", "is_not"):
        return _compare(condition, value, ())
    return None


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []
