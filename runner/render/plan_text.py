"""The plan for a terminal, in design.md's format:

    Zendesk  https://acme.zendesk.com
    Acting as  Automation Bot <bot@acme.com> (agent) — token "automation-bot", primary

    rule route-vip-refunds — 3 of 41 matching tickets change
      ~ #1042 Refund for order 5531
          priority  normal -> high
          group     Support -> Billing
          tags      +billing-routed -needs-triage
          + internal note "Routed to Billing by route-vip-refunds."
    Plan: 3 tickets to change by 1 rule; 38 already as desired.

A ticket several rules change is shown once, under the first of them; a field another rule set
says which. Colour only when the caller asks (the CLI decides from isatty and NO_COLOR).
"""

from __future__ import annotations

from collections import defaultdict

from runner.engine.plan import Identity, Plan, RuleSummary, TicketChange
from runner.render.plan_values import (
    blocked_clause,
    excerpt,
    field_name,
    plural,
    printable,
    show,
)

_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}


class _Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, style: str, text: str) -> str:
        if not self.enabled:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


def identity_line(identity: Identity) -> str:
    role = "primary" if identity.primary else "run_as"
    return (
        f"{printable(identity.name)} <{printable(identity.email)}> ({identity.role})"
        f' — token "{identity.token}", {role}'
    )


def render_text(plan: Plan, *, color: bool = False) -> str:
    paint = _Paint(color)
    lines = [
        f"Zendesk  {plan.zendesk_url}",
        f"Acting as  {identity_line(plan.identity)}",
    ]
    by_first_rule: dict[str, list[TicketChange]] = defaultdict(list)
    for change in plan.changes:
        by_first_rule[change.rules[0]].append(change)
    for summary in plan.rules:
        lines.append("")
        lines.extend(_rule_lines(plan, summary, by_first_rule.get(summary.name, []), paint))
    lines.append(_summary_line(plan))
    return "\n".join(lines) + "\n"


def _rule_lines(
    plan: Plan, summary: RuleSummary, changes: list[TicketChange], paint: _Paint
) -> list[str]:
    read = f" ({summary.read} read)" if summary.read != summary.matched else ""
    heading = (
        f"rule {summary.name} — {summary.changing} of {summary.matched} matching tickets "
        f"change{read}"
    )
    lines = [paint("bold", heading)]
    if summary.token != plan.identity.token:
        identity = plan.identity_of(summary.token)
        who = identity_line(identity) if identity else f'token "{summary.token}"'
        lines.append(f"  as {who}")
    if summary.blocked:
        lines.append(paint("red", f"  ! plans no change: it {summary.blocked}"))
    if summary.note:
        lines.append(paint("dim", f"  note: this rule {summary.note}"))
    for change in changes:
        lines.extend(_ticket_lines(summary.name, change, paint))
    return lines


def _ticket_lines(rule: str, change: TicketChange, paint: _Paint) -> list[str]:
    subject = printable(change.subject) if change.subject else "(no subject)"
    lines = [f"  {paint('yellow', '~')} #{change.ticket_id} {subject}"]
    rows: list[tuple[str, str]] = []
    for field in change.fields:
        by = f"  (rule {field.rule})" if field.rule != rule else ""
        rows.append(
            (
                field_name(field),
                f"{show(field.before, field.before_label)} -> "
                f"{show(field.after, field.after_label)}{by}",
            )
        )
    if change.tags_added or change.tags_removed:
        tags = [paint("green", f"+{printable(t)}") for t in change.tags_added]
        tags += [paint("red", f"-{printable(t)}") for t in change.tags_removed]
        rows.append(("tags", " ".join(tags)))
    width = max((len(name) for name, _ in rows), default=0)
    lines.extend(f"      {name.ljust(width)}  {text}" for name, text in rows)
    for comment in change.comments:
        kind = "public reply" if comment.public else "internal note"
        by = f"  (rule {comment.rule})" if comment.rule != rule else ""
        lines.append(f'      {paint("green", "+")} {kind} "{excerpt(comment.body)}"{by}')
    for override in change.overrides:
        lines.append(
            paint(
                "dim",
                f"      ! {printable(override.field)}: rule {override.later_rule} "
                f"({show(override.later_value, override.later_label)}) overrides rule "
                f"{override.earlier_rule} ({show(override.earlier_value, override.earlier_label)})",
            )
        )
    for note in change.notes:
        lines.append(paint("dim", f"      ! {note}"))
    return lines


def _summary_line(plan: Plan) -> str:
    desired = f"{plan.already_as_desired} already as desired{blocked_clause(plan.blocked_rules)}"
    if not plan.changes:
        return f"Plan: no changes; {desired}."
    return (
        f"Plan: {plural(plan.ticket_count, 'ticket')} to change by "
        f"{plural(len(plan.changing_rules), 'rule')}; {desired}."
    )
