"""Planning: rules in file order over the tickets their queries found, into one Plan.

The planner is pure: the caller hands it, per rule, an iterable of the ticket dicts the rule's
search query returned (streamed page by page from search export), a Resolver, and the run's
context; it reads nothing else. Memory is bounded by the number of tickets that change: a ticket
that no rule changes is looked at and dropped.

Semantics (design.md "Semantics"):
- Enabled rules run in file order. A ticket an earlier rule changed is evaluated by later rules in
  its simulated state, so later rules see earlier rules' planned effects.
- Search results reflect Zendesk before the plan. When the caller passes `query_matches` (the
  search-syntax matcher of runner.query), the planner also re-checks each rule's query against the
  simulated copies of tickets changed earlier, so a ticket an earlier rule moves into (or out of)
  a later rule's query is (or is not) selected by it. Without it, only the search results count.
- Closed tickets are never selected (in their simulated state either).
- Per ticket, all rules' effects merge into one change; a later rule that sets a field, or a tag,
  differently from an earlier rule wins, and the change records the override. That holds also
  when the earlier rule's value was already on the ticket (so it changed nothing): the two rules
  still disagree, and left alone they would fight on every run where both select it.
- Changes are in ticket id order, so a plan reads (and diffs, and checksums) the same whatever
  order search returned the tickets in.
- A rule whose changes would exceed its limit plans none and says why; so does a rule that would
  take the plan past the run-wide budget `max_changes` (distinct tickets).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runner.engine.actions import (
    CompiledActions,
    Effects,
    FieldSet,
    compile_actions,
    describe,
    read_field,
)
from runner.engine.actions import same_value as _same
from runner.engine.conditions import Predicate, compile_when
from runner.engine.plan import (
    CommentChange,
    FieldChange,
    Identity,
    Override,
    Plan,
    RuleSummary,
    TagOwner,
    TicketChange,
)
from runner.engine.resolve import Resolver
from runner.engine.rules import RuleLike

Ticket = Mapping[str, Any]
DEFAULT_LIMIT = 500
NO_QUERY_NOTE = (
    "has no `query`, so it reads every open ticket of the account and filters them with "
    "all/any here; add a search query to read only the tickets it can act on"
)


@dataclass(frozen=True)
class PlanContext:
    """Where and as whom the run acts, and the config it was made from."""

    zendesk_url: str
    identity: Identity  # the primary token's verified identity
    config_digest: str
    now: datetime  # the run clock: durations count from it, and it dates the plan
    run_as: Mapping[str, Identity] = field(default_factory=dict)  # token name -> identity


# What a change reports of the ticket as read, whatever the rules touched.
_KEPT_AS_READ = ("id", "subject", "updated_at", "tags")


@dataclass
class _Tracked:
    """A ticket some rule changes: as read, as simulated, and who did what to it.

    `original` holds only the keys some rule changed (as read) and those a change reports;
    every other key is still as read in `simulated`. A full second copy of each changed ticket
    was most of a large plan's memory (about 15 KB a ticket).
    """

    original: dict[str, Any]
    simulated: dict[str, Any]
    token: str
    rules: list[str] = field(default_factory=list)
    owners: dict[str, tuple[str, FieldSet]] = field(default_factory=dict)  # field -> (rule, set)
    tag_owners: dict[str, tuple[str, bool]] = field(default_factory=dict)  # tag -> (rule, added)
    comments: list[CommentChange] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Intent:
    """What one rule's action wants for a field or a tag, whatever the ticket."""

    value: Any  # the field's value; for "tag:<name>", whether the tag is added
    kind: str | None = None  # a custom field's type (how values compare)
    label: str | None = None  # how a reviewer reads the value: a group's name, a user's email


@dataclass
class _Compiled:
    rule: RuleLike
    token: str
    selects: Predicate
    actions: CompiledActions
    limit: int
    # what this rule wants (field, or "tag:<name>") where a later rule wants something else:
    # only those are remembered for tickets it selects without changing them
    contested: dict[str, _Intent] = field(default_factory=dict)


def build_plan(
    rules: Sequence[RuleLike],
    tickets_for: Callable[[RuleLike], Iterable[Ticket]],
    resolver: Resolver,
    context: PlanContext,
    *,
    default_limit: int = DEFAULT_LIMIT,
    limit_override: int | None = None,
    max_changes: int | None = None,
    query_matches: Callable[[str, Ticket], bool] | None = None,
    source: str = "config",
) -> Plan:
    """Plan the enabled `rules` (in order); `tickets_for(rule)` yields what its query found.

    Every rule is compiled (names resolved, regexes parsed) before any ticket is read, so a bad
    rule fails the run before it costs a search.
    """
    compiled = [
        _Compiled(
            rule=rule,
            token=rule.run_as or context.identity.token,
            selects=compile_when(rule.name, rule.when, resolver, context.now, source=source),
            actions=compile_actions(rule.name, rule.actions, resolver, source=source),
            limit=limit_override if limit_override is not None else (rule.limit or default_limit),
        )
        for rule in rules
        if rule.enabled
    ]
    _mark_contested(compiled)
    tracked: dict[int, _Tracked] = {}
    wanted: dict[int, dict[str, tuple[str, _Intent]]] = {}
    summaries = [
        _plan_rule(c, tickets_for(c.rule), tracked, wanted, resolver, max_changes, query_matches)
        for c in compiled
    ]
    changes = tuple(
        change
        for ticket_id, state in sorted(tracked.items())
        if (change := _ticket_change(ticket_id, state, resolver)) is not None
    )
    used = {c.token for c in compiled} - {context.identity.token}
    run_as = tuple(context.run_as[t] for t in sorted(used) if t in context.run_as)
    return Plan.create(
        created_at=context.now.isoformat().replace("+00:00", "Z"),
        zendesk_url=context.zendesk_url,
        identity=context.identity,
        config_digest=context.config_digest,
        rules=tuple(summaries),
        changes=changes,
        run_as=run_as,
    )


def _intents(actions: CompiledActions) -> dict[str, _Intent]:
    """What a rule's actions want, whatever the ticket: field or "tag:<name>" -> intent."""
    intents = {a.field: _Intent(a.value, a.kind, a.value_label) for a in actions.sets}
    for tag in (*(actions.tags_set or ()), *actions.tags_add):
        intents[f"tag:{tag}"] = _Intent(True)
    for tag in actions.tags_remove:
        intents[f"tag:{tag}"] = _Intent(False)
    return intents


def _mark_contested(compiled: Sequence[_Compiled]) -> None:
    """Give each rule the intents that some later rule contradicts (known before any read)."""
    later: dict[str, list[_Intent]] = {}
    for entry in reversed(compiled):
        intents = _intents(entry.actions)
        entry.contested = {
            key: intent
            for key, intent in intents.items()
            if any(not _same(intent.kind, intent.value, other.value)
                   for other in later.get(key, ()))
        }
        for key, intent in intents.items():
            later.setdefault(key, []).append(intent)


def _plan_rule(
    compiled: _Compiled,
    tickets: Iterable[Ticket],
    tracked: dict[int, _Tracked],
    wanted: dict[int, dict[str, tuple[str, _Intent]]],
    resolver: Resolver,
    max_changes: int | None,
    query_matches: Callable[[str, Ticket], bool] | None,
) -> RuleSummary:
    name = compiled.rule.name
    query = compiled.rule.when.query or ""
    read = matched = changing = 0
    over_limit = False
    # ticket id -> (what the rule does, what a new change keeps of the ticket as read; None
    # for a ticket an earlier rule changed); committed only if the rule stays within its limit
    # and the budget, so a blocked rule leaves no trace on later rules. The page's own ticket
    # dict is not held: it would double the memory of every pending change.
    pending: dict[int, tuple[Effects, dict[str, Any] | None]] = {}
    seen_tracked: set[int] = set()
    selected: list[int] = []  # ids only, and only when a later rule contradicts this one

    def consider(ticket: Ticket, first_seen: bool) -> None:
        nonlocal matched, changing, over_limit
        if ticket.get("status") == "closed" or not compiled.selects(ticket):
            return
        matched += 1
        if compiled.contested:
            selected.append(int(ticket["id"]))
        effects = compiled.actions.apply(ticket, resolver.user_name)
        if not effects.changed:
            return
        changing += 1
        if over_limit:
            return
        original = _changed_keys(ticket, effects.ticket, _KEPT_AS_READ) if first_seen else None
        pending[int(ticket["id"])] = (effects, original)
        if changing > compiled.limit:
            over_limit = True
            pending.clear()  # the rule plans none: keep counting, stop holding changes

    if compiled.actions.names_requester:
        tickets = _prefetching_requesters(tickets, compiled.selects, tracked, resolver)
    for raw in tickets:
        read += 1
        ticket_id = int(raw["id"])
        state = tracked.get(ticket_id)
        if state is None:
            consider(raw, True)
            continue
        seen_tracked.add(ticket_id)
        if query_matches is None or query_matches(query, state.simulated):
            consider(state.simulated, False)
    if query_matches is not None:
        moved_in: list[Ticket] = [
            state.simulated
            for ticket_id, state in list(tracked.items())
            if ticket_id not in seen_tracked and query_matches(query, state.simulated)
        ]
        if compiled.actions.names_requester:
            moved_in = list(_prefetching_requesters(moved_in, compiled.selects, {}, resolver))
        for simulated in moved_in:
            consider(simulated, False)

    unchanged = matched - changing
    note = None if query.strip() else NO_QUERY_NOTE

    def blocked(reason: str) -> RuleSummary:
        return RuleSummary(
            name, compiled.token, read, matched, 0, unchanged,
            would_change=changing, blocked=reason, note=note,
        )

    if over_limit:
        return blocked(
            f"would change {changing} tickets, more than its limit of {compiled.limit}, so "
            f"it plans none. If that is intended, raise `limit` on the rule or pass "
            f"--limit-override {changing}; otherwise narrow its query or conditions."
        )
    new = sum(1 for ticket_id in pending if ticket_id not in tracked)
    if max_changes is not None and len(tracked) + new > max_changes:
        return blocked(
            f"would bring the plan to {len(tracked) + new} tickets, over the run's budget "
            f"of {max_changes} changed tickets, so it plans none. Pass --max-changes "
            f"{len(tracked) + new} if that is intended."
        )
    for ticket_id, (effects, original) in pending.items():
        _commit(name, compiled.token, ticket_id, effects, original, tracked, wanted)
    for ticket_id in selected:
        intents = wanted.setdefault(ticket_id, {})
        intents.update({key: (name, intent) for key, intent in compiled.contested.items()})
    return RuleSummary(name, compiled.token, read, matched, changing, unchanged, note=note)


REQUESTER_BATCH = 100  # users/show_many takes 100 ids


def _prefetching_requesters(
    tickets: Iterable[Ticket],
    selects: Predicate,
    tracked: Mapping[int, _Tracked],
    resolver: Resolver,
) -> Iterator[Ticket]:
    """`tickets`, with the requesters of those the rule selects looked up 100 at a time before
    they are planned, for a comment that names the requester."""
    batch: list[Ticket] = []

    def prefetch() -> None:
        ids = []
        for raw in batch:
            state = tracked.get(int(raw["id"]))
            ticket = raw if state is None else state.simulated
            if ticket.get("status") != "closed" and selects(ticket):
                ids.append(ticket.get("requester_id"))
        resolver.prefetch_users(ids)

    for raw in tickets:
        batch.append(raw)
        if len(batch) >= REQUESTER_BATCH:
            prefetch()
            yield from batch
            batch = []
    prefetch()
    yield from batch


def _commit(
    rule: str,
    token: str,
    ticket_id: int,
    effects: Effects,
    original: dict[str, Any] | None,
    tracked: dict[int, _Tracked],
    wanted: Mapping[int, Mapping[str, tuple[str, _Intent]]],
) -> None:
    state = tracked.get(ticket_id)
    # what earlier rules that selected this ticket wanted, where a later rule disagrees
    intended = wanted.get(ticket_id, {})
    if state is None:
        if original is None:
            raise AssertionError(f"ticket #{ticket_id}: a new change needs the ticket as read")
        state = tracked[ticket_id] = _Tracked(
            original=original,
            simulated=effects.ticket,
            token=token,
        )
    else:
        # a key no earlier rule changed is still as read in the previous simulation
        first_changes = _changed_keys(state.simulated, effects.ticket, ())
        for key, value in first_changes.items():
            state.original.setdefault(key, value)
    state.simulated = effects.ticket
    if rule not in state.rules:
        state.rules.append(rule)
    if token != state.token:
        state.notes.append(
            f'rule {rule} acts as token "{token}", but this ticket\'s update is made with '
            f'"{state.token}" (the first rule that changes it); give overlapping rules the same '
            "run_as to keep authorship exact"
        )
    for change in effects.fields:
        owner = state.owners.get(change.field)
        earlier = intended.get(change.field) or (
            owner and (owner[0], _Intent(owner[1].value, owner[1].kind, owner[1].value_label)))
        if (
            earlier is not None
            and earlier[0] != rule
            and not _same(change.kind, earlier[1].value, change.value)
        ):
            state.overrides.append(
                Override(
                    field=change.label or change.field,
                    earlier_rule=earlier[0],
                    earlier_value=earlier[1].value,
                    later_rule=rule,
                    later_value=change.value,
                    earlier_label=earlier[1].label,
                    later_label=change.value_label,
                )
            )
        state.owners[change.field] = (rule, change)
    for tag, added in [(t, True) for t in effects.tags_added] + [
        (t, False) for t in effects.tags_removed
    ]:
        earlier_tag = state.tag_owners.get(tag)
        if earlier_tag is None and (wants := intended.get(f"tag:{tag}")) is not None:
            earlier_tag = (wants[0], bool(wants[1].value))
        if earlier_tag is not None and earlier_tag[0] != rule and earlier_tag[1] != added:
            state.overrides.append(
                Override(
                    field=f"tag:{tag}",
                    earlier_rule=earlier_tag[0],
                    earlier_value="added" if earlier_tag[1] else "removed",
                    later_rule=rule,
                    later_value="added" if added else "removed",
                )
            )
        state.tag_owners[tag] = (rule, added)
    if effects.comment is not None:
        state.comments.append(effects.comment)


def _changed_keys(before: Ticket, after: Ticket, kept: Sequence[str]) -> dict[str, Any]:
    """`before`'s value of each key whose value `after` changed (None: absent), and of `kept`."""
    # most values are shared (actions copy only what they write): `is` settles those cheaply
    keys = [
        k
        for k in before.keys() | after.keys()
        if (was := before.get(k)) is not (now := after.get(k)) and was != now
    ]
    return {key: before.get(key) for key in (*kept, *keys)}


def _ticket_change(ticket_id: int, state: _Tracked, resolver: Resolver) -> TicketChange | None:
    """The merged change of one ticket: only what differs from the ticket as read."""
    as_read = ChainMap(state.original, state.simulated)
    fields = []
    for name, (rule, owner) in state.owners.items():
        before = read_field(as_read, name)
        after = read_field(state.simulated, name)
        if _same(owner.kind, before, after):
            continue  # a later rule put back what was there: nothing to send
        fields.append(
            FieldChange(
                field=name,
                before=before,
                after=after,
                rule=rule,
                label=owner.label,
                before_label=describe(resolver, name, before, owner.ticket_field),
                after_label=describe(resolver, name, after, owner.ticket_field),
            )
        )
    tags_before = [str(t) for t in state.original.get("tags") or []]
    tags_after = [str(t) for t in state.simulated.get("tags") or []]
    added = tuple(t for t in tags_after if t not in tags_before)
    removed = tuple(t for t in dict.fromkeys(tags_before) if t not in tags_after)
    if not (fields or added or removed or state.comments):
        return None
    return TicketChange(
        ticket_id=ticket_id,
        subject=_text_or_none(state.original.get("subject")),
        updated_at=_text_or_none(state.original.get("updated_at")),
        token=state.token,
        rules=tuple(state.rules),
        fields=tuple(fields),
        tags_added=added,
        tags_removed=removed,
        tags_before=tuple(tags_before) if (added or removed) else None,
        comments=tuple(state.comments),
        overrides=tuple(state.overrides),
        notes=tuple(state.notes),
        tag_rules=tuple(
            TagOwner(tag, state.tag_owners[tag][0])
            for tag in (*added, *removed)
            if tag in state.tag_owners
        ),
    )


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
