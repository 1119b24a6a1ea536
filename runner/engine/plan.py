"""The plan as data: what a run would change, ticket by ticket, and as whom.

Everything here is frozen and JSON-native (values are str/int/float/bool/None or lists of them),
so a plan saved with `to_json` and read back with `from_json` compares equal to the original.
The checksum is a sha256 over the canonical JSON of everything else: it detects a plan file that
was corrupted or edited by hand. It is not a signature (anyone can recompute it); what makes a
saved plan safe to apply is that apply re-checks the config digest and protects every update
with the `updated_at` recorded here.

Envelope (documented in the README):

    {"format": "zdops-plan", "version": 1, "created_at": ..., "zendesk_url": ...,
     "identity": {...}, "run_as": [...], "config_digest": ..., "rules": [...],
     "changes": [...], "checksum": "sha256:<hex>"}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union

from runner.errors import PlanError

FORMAT = "zdops-plan"
VERSION = 1

# Field names as they appear in a plan, and the ticket keys Zendesk uses for them in an update.
UPDATE_KEYS = {
    "status": "status",
    "priority": "priority",
    "type": "type",
    "assignee": "assignee_id",
    "group": "group_id",
}
CUSTOM_PREFIX = "custom_fields."


@dataclass(frozen=True)
class Identity:
    """Who a token acts as (as verified with users/me)."""

    token: str
    name: str
    email: str
    role: str
    primary: bool


@dataclass(frozen=True)
class FieldChange:
    """One field's value as read and as planned, with display labels for ids and options."""

    field: str  # status, priority, type, assignee, group, or custom_fields.<id>
    before: Any
    after: Any
    rule: str  # the rule whose value the plan keeps
    label: str | None = None  # display name of the field (a custom field's title)
    before_label: str | None = None  # display of the value (a group name, an option name, ...)
    after_label: str | None = None


@dataclass(frozen=True)
class CommentChange:
    body: str
    public: bool
    rule: str


@dataclass(frozen=True)
class TagOwner:
    """The rule a planned tag change belongs to (the last rule that added or removed it)."""

    tag: str
    rule: str


@dataclass(frozen=True)
class Override:
    """A later rule replaced what an earlier rule planned for the same ticket."""

    field: str  # a field name, or "tag:<name>" when one rule adds a tag another removes
    earlier_rule: str
    earlier_value: Any
    later_rule: str
    later_value: Any
    earlier_label: str | None = None  # how a reviewer reads each value: a group's name, ...
    later_label: str | None = None


@dataclass(frozen=True)
class TicketChange:
    ticket_id: int
    subject: str | None
    updated_at: str | None  # as read: apply sends it as safe_update's updated_stamp
    token: str  # the token the update is made with
    rules: tuple[str, ...]  # the rules that contributed, in file order
    fields: tuple[FieldChange, ...] = ()
    tags_added: tuple[str, ...] = ()
    tags_removed: tuple[str, ...] = ()
    tags_before: tuple[str, ...] | None = None  # kept only when tags change (for "full" mode)
    comments: tuple[CommentChange, ...] = ()
    overrides: tuple[Override, ...] = ()
    notes: tuple[str, ...] = ()
    tag_rules: tuple[TagOwner, ...] = ()  # which rule each added/removed tag belongs to

    def field_change(self, name: str) -> FieldChange | None:
        return next((f for f in self.fields if f.field == name), None)

    def update_bodies(
        self, *, tags_mode: Literal["delta", "full"] = "delta", safe: bool = True
    ) -> list[dict[str, Any]]:
        """The Zendesk ticket update(s) that carry out this change.

        Zendesk takes one comment per update, so comments of one visibility are joined into one;
        when a ticket gets both a public reply and an internal note the note goes in a second
        update, together with the fields and tags of the rules that wrote the note. That keeps
        each commenting rule's comment in one update with the change that un-selects it: if
        only the first update lands, the next run still selects the ticket for the note's rules
        and for nothing else, so no comment is lost or posted twice.

        `tags_mode="delta"` uses additional_tags/remove_tags (never clobbers a tag someone
        added meanwhile); "full" sends the whole resulting `tags` list, for the batch form of
        update_many where delta tags are not documented.
        """
        public = [c for c in self.comments if c.public]
        internal = [c for c in self.comments if not c.public]
        second_rules = {c.rule for c in internal} if public and internal else set()
        owner = {t.tag: t.rule for t in self.tag_rules}
        tags = list(self.tags_before or ())
        bodies: list[dict[str, Any]] = []
        for in_second, comments in ((False, public or internal), (True, internal)):
            if in_second and not second_rules:
                break
            fields = [f for f in self.fields if (f.rule in second_rules) is in_second]
            added = [t for t in self.tags_added if (owner.get(t) in second_rules) is in_second]
            removed = [t for t in self.tags_removed if (owner.get(t) in second_rules) is in_second]
            body = _field_body(fields)
            if added or removed:
                if tags_mode == "full":
                    tags = [t for t in tags if t not in removed]
                    tags += [t for t in added if t not in tags]
                    body["tags"] = list(tags)
                else:
                    if added:
                        body["additional_tags"] = added
                    if removed:
                        body["remove_tags"] = removed
            if comments:
                body["comment"] = {
                    "body": "\n\n".join(c.body for c in comments),
                    "public": comments[0].public,
                }
            bodies.append(body)
        if safe and self.updated_at and bodies:
            # Only the first update can be stamped with what was read; the second follows it.
            bodies[0].update({"safe_update": True, "updated_stamp": self.updated_at})
        return [b for b in bodies if b]

    def update_body(self, *, tags_mode: Literal["delta", "full"] = "delta") -> dict[str, Any]:
        """The single update body; PlanError if this change needs two (see update_bodies)."""
        bodies = self.update_bodies(tags_mode=tags_mode)
        if len(bodies) != 1:
            raise PlanError(
                f"ticket #{self.ticket_id} gets a public reply and an internal note: "
                "it needs two updates (use update_bodies)."
            )
        return bodies[0]


def _field_body(fields: Iterable[FieldChange]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    custom: list[dict[str, Any]] = []
    for change in fields:
        if change.field.startswith(CUSTOM_PREFIX):
            custom.append(
                {"id": int(change.field.removeprefix(CUSTOM_PREFIX)), "value": change.after}
            )
        else:
            body[UPDATE_KEYS[change.field]] = change.after
    if custom:
        body["custom_fields"] = custom
    return body


@dataclass(frozen=True)
class RuleSummary:
    name: str
    token: str
    read: int  # tickets the rule's query returned (every page)
    matched: int  # of those: not closed, and passing all/any
    changing: int  # tickets this rule plans to change
    unchanged: int  # matched, and already as the rule wants them
    would_change: int = 0  # when blocked: how many it would have changed
    blocked: str | None = None  # why it plans nothing (limit, budget), and how to fix it
    note: str | None = None  # something a reviewer should know about how it selected


@dataclass(frozen=True)
class Plan:
    version: int
    created_at: str
    zendesk_url: str
    identity: Identity  # the primary token's identity: the header "Acting as"
    config_digest: str
    rules: tuple[RuleSummary, ...]
    changes: tuple[TicketChange, ...]
    run_as: tuple[Identity, ...] = ()  # other identities rules act as (run_as)
    checksum: str = field(default="", compare=True)

    @classmethod
    def create(cls, **content: Any) -> Plan:
        """A plan with its checksum computed."""
        draft = cls(version=VERSION, **content)
        return dataclasses.replace(draft, checksum=_checksum(_content(draft)))

    # --- counts --------------------------------------------------------------------------------

    @property
    def ticket_count(self) -> int:
        return len(self.changes)

    @property
    def changing_rules(self) -> list[str]:
        return [r.name for r in self.rules if r.changing]

    @property
    def blocked_rules(self) -> list[str]:
        """Rules that plan nothing because of their limit or the run's budget."""
        return [r.name for r in self.rules if r.blocked]

    @property
    def already_as_desired(self) -> int:
        return sum(r.unchanged for r in self.rules)

    def identity_of(self, token: str) -> Identity | None:
        return next((i for i in (self.identity, *self.run_as) if i.token == token), None)

    # --- JSON ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = _content(self)
        data["checksum"] = self.checksum
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "plan") -> Plan:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise PlanError(
                f"{source}: not a zdops plan (invalid JSON: {error}).",
                hint="Use a file written by `zdops plan --out`.",
            ) from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "plan") -> Plan:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise PlanError(
                f'{source}: not a zdops plan (no "format": "{FORMAT}").',
                hint="Use a file written by `zdops plan --out`.",
            )
        if data.get("version") != VERSION:
            raise PlanError(
                f"{source}: plan format version {data.get('version')!r} is not supported "
                f"(this zdops reads version {VERSION}).",
                hint="Make the plan again with this version of zdops.",
            )
        body = {k: v for k, v in data.items() if k != "format"}
        plan = _decode(cls, body, source, "")
        expected = _checksum(_content(plan))
        if plan.checksum != expected:
            raise PlanError(
                f"{source}: the plan's checksum does not match its content: the file was "
                "modified or corrupted after `zdops plan` wrote it.",
                hint="Make a fresh plan; never edit a saved plan by hand.",
            )
        return plan


def _content(plan: Plan) -> dict[str, Any]:
    data = _plain(plan)
    del data["checksum"]
    return {"format": FORMAT, **data}


def _plain(value: Any) -> Any:
    """Dataclasses to dicts and tuples to lists; JSON values are shared, not copied.

    (dataclasses.asdict deep-copies every value: ten times slower on a 100,000-ticket plan.)
    """
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _checksum(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


T = TypeVar("T")


def _decode(cls: type[T], data: Any, source: str, path: str) -> T:
    """Strictly rebuild a dataclass from JSON: every key known, every value of its type."""
    where = path or "top level"
    if not isinstance(data, dict):
        raise _corrupt(source, f"{where} should be an object")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise _corrupt(source, f"{where} has unknown keys {unknown}")
    missing = sorted(
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    )
    if missing:
        raise _corrupt(source, f"{where} lacks {missing}")
    values = {
        name: _value(hints[name], value, source, f"{path}.{name}" if path else name)
        for name, value in data.items()
    }
    return cls(**values)


def _value(hint: Any, value: Any, source: str, path: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _value(option, value, source, path)
            except PlanError as error:
                errors.append(error)
        raise errors[0] if errors else _corrupt(source, f"{path} has the wrong type")
    if origin is tuple:
        if not isinstance(value, list):
            raise _corrupt(source, f"{path} should be a list")
        item = typing.get_args(hint)[0]
        return tuple(_value(item, v, source, f"{path}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(hint):
        return _decode(hint, value, source, path)  # type: ignore[arg-type]
    if hint is bool:
        if not isinstance(value, bool):
            raise _corrupt(source, f"{path} should be true or false")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _corrupt(source, f"{path} should be an integer")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise _corrupt(source, f"{path} should be text")
        return value
    raise _corrupt(source, f"{path} has an unexpected type")


def _corrupt(source: str, detail: str) -> PlanError:
    return PlanError(
        f"{source}: the plan is corrupt ({detail}).",
        hint="Make a fresh plan with `zdops plan --out`.",
    )


def action_counts(changes: Iterable[TicketChange]) -> dict[str, int]:
    """How many tickets each kind of action touches: 'priority', 'tags +x', 'internal note', ..."""
    counts: dict[str, int] = {}

    def bump(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    for change in changes:
        for f in change.fields:
            bump(f.label or f.field)
        for tag in change.tags_added:
            bump(f"tag +{tag}")
        for tag in change.tags_removed:
            bump(f"tag -{tag}")
        for public in sorted({c.public for c in change.comments}, reverse=True):
            bump("public reply" if public else "internal note")
    return counts
