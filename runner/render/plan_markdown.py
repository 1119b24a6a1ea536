"""The plan as Markdown, for a pull request comment and $GITHUB_STEP_SUMMARY.

A PR comment is readable by everyone with access to the repository, who may not be allowed to
see tickets: by default it shows counts and ticket ids (linked to the agent UI, where Zendesk's
own permissions apply), and no subjects, requester data or comment bodies. `details=True` adds
subjects and comment bodies for private repositories.

GitHub rejects a comment over 65,536 characters. The output never exceeds `max_chars`: ticket
lists are capped per rule ("+N more"), and if the tables alone are still too long the output is
cut at a line with a note pointing at the JSON plan.
"""

from __future__ import annotations

import re
from collections import defaultdict

from runner.engine.plan import Plan, RuleSummary, TicketChange, action_counts
from runner.render.plan_values import blocked_clause, excerpt, plural, printable

GITHUB_COMMENT_LIMIT = 65_536
# Rows of the action and override tables: one tag per ticket would otherwise fill the comment
# with the table, and the cut would drop the rules' ticket lists.
MAX_TABLE_ROWS = 50
_TRUNCATED = "\n_… truncated to fit GitHub's comment limit; the JSON plan has every change._\n"
# Enough to stop emphasis, code, links, HTML and table cell breaks; fewer escapes keep it legible.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def escape(text: str) -> str:
    """Text safe inside Markdown (and a table cell): no formatting, links or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", printable(text))


def render_markdown(
    plan: Plan,
    *,
    tickets_per_rule: int = 10,
    details: bool = False,
    max_chars: int = GITHUB_COMMENT_LIMIT,
) -> str:
    lines = [f"### zdops plan: {_headline(plan)}", ""]
    identity = plan.identity
    lines.append(
        f"Zendesk `{plan.zendesk_url}` · acting as {escape(identity.name)} "
        f"({escape(identity.role)}), token `{identity.token}`"
        + (f" · also as {', '.join(f'`{i.token}`' for i in plan.run_as)}" if plan.run_as else "")
    )
    lines += ["", "| Rule | Read | Matched | Changing | Already as desired | Note |"]
    lines.append("|---|--:|--:|--:|--:|---|")
    for rule in plan.rules:
        notes = [f"plans none: {escape(rule.blocked)}"] if rule.blocked else []
        if rule.note:
            notes.append(escape(rule.note))
        note = "; ".join(notes)
        lines.append(
            f"| {escape(rule.name)} | {rule.read} | {rule.matched} | {rule.changing} "
            f"| {rule.unchanged} | {note} |"
        )
    counts = action_counts(plan.changes)
    if counts:
        lines += ["", "| Action | Tickets |", "|---|--:|"]
        shown = list(counts.items())[:MAX_TABLE_ROWS]
        lines += [f"| {escape(action)} | {n} |" for action, n in shown]
        if len(counts) > len(shown):
            lines.append(f"| +{len(counts) - len(shown)} more actions (in the JSON plan) | |")
    lines += _override_lines(plan)
    by_first_rule: dict[str, list[TicketChange]] = defaultdict(list)
    for change in plan.changes:
        by_first_rule[change.rules[0]].append(change)
    for rule in plan.rules:
        changes = by_first_rule.get(rule.name)
        if changes:
            lines += ["", *_ticket_lines(plan, rule, changes, tickets_per_rule, details)]
    return _fit("\n".join(lines) + "\n", max_chars)


def _override_lines(plan: Plan) -> list[str]:
    """Where rules disagree: a reviewer must see it without opening every ticket."""
    counts: dict[tuple[str, str, str], int] = {}
    for change in plan.changes:
        for o in change.overrides:
            key = (o.field, o.earlier_rule, o.later_rule)
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return []
    lines = [
        "",
        "| Overridden | Earlier rule | Later rule (wins) | Tickets |",
        "|---|---|---|--:|",
    ]
    shown = list(counts.items())[:MAX_TABLE_ROWS]
    lines += [
        f"| {escape(field)} | {escape(earlier)} | {escape(later)} | {n} |"
        for (field, earlier, later), n in shown
    ]
    if len(counts) > len(shown):
        lines.append(f"| +{len(counts) - len(shown)} more (in the JSON plan) | | | |")
    return lines


def _headline(plan: Plan) -> str:
    desired = f"({plan.already_as_desired} already as desired{blocked_clause(plan.blocked_rules)})"
    if not plan.changes:
        return f"no changes {desired}"
    return (
        f"{plural(plan.ticket_count, 'ticket')} to change by "
        f"{plural(len(plan.changing_rules), 'rule')} {desired}"
    )


def _link(plan: Plan, ticket_id: int) -> str:
    return f"[#{ticket_id}]({plan.zendesk_url}/agent/tickets/{ticket_id})"


def _ticket_lines(
    plan: Plan, rule: RuleSummary, changes: list[TicketChange], shown: int, details: bool
) -> list[str]:
    head = changes[:shown]
    more = len(changes) - len(head)
    if not details:
        ids = ", ".join(_link(plan, c.ticket_id) for c in head)
        tail = f" +{more} more" if more else ""
        return [f"**{escape(rule.name)}**: {ids}{tail}"]
    lines = [f"**{escape(rule.name)}**", ""]
    for change in head:
        subject = escape(change.subject) if change.subject else "(no subject)"
        lines.append(f"- {_link(plan, change.ticket_id)} {subject}")
        lines += [
            f"  - {'public reply' if c.public else 'internal note'}: {escape(excerpt(c.body))}"
            for c in change.comments
        ]
    if more:
        lines.append(f"- +{more} more")
    return lines


def _fit(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    budget = max_chars - len(_TRUNCATED)
    cut = text.rfind("\n", 0, budget)
    return text[: max(cut, 0)] + _TRUNCATED
