"""What the engine and plan-renderer tests build on: one small account, a clock, plan headers.

NAMES is the account conditions, actions and the planner resolve names against: two groups, an
agent and a customer, an organization, a brand, and a ticket field of each type. make_plan fills
in the plan header (when, where, which config) so a test states only the rules and changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from runner.engine.plan import Identity, Plan, RuleSummary, TicketChange
from runner.engine.resolve import InMemoryNames

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
ZENDESK_URL = "https://acme.zendesk.com"
CONFIG_DIGEST = "sha256:abc"

BOT = Identity(
    token="bot", name="Automation Bot", email="bot@acme.test", role="agent", primary=True
)


def ticket_field(
    field_id: int,
    kind: str,
    title: str,
    options: Mapping[str, str] | None = None,
    *,
    tag: str | None = None,
) -> dict[str, Any]:
    """A Zendesk ticket field record; `options` maps each option's name to its stored value,
    `tag` is the tag a checkbox adds when ticked."""
    record: dict[str, Any] = {"id": field_id, "type": kind, "title": title}
    if tag is not None:
        record["tag"] = tag
    if options is not None:
        record["custom_field_options"] = [
            {"name": name, "value": value} for name, value in options.items()
        ]
    return record


NAMES = InMemoryNames(
    groups=[{"id": 10, "name": "Support"}, {"id": 11, "name": "Billing"}],
    users=[
        {"id": 100, "name": "Ann Agent", "email": "ann@acme.test"},
        {"id": 200, "name": "Carl Customer", "email": "carl@example.test"},
    ],
    organizations=[{"id": 300, "name": "Acme"}],
    brands=[{"id": 400, "name": "Acme Brand"}],
    ticket_fields=[
        ticket_field(1, "subject", "Subject"),
        ticket_field(501, "text", "Order number"),
        ticket_field(
            502, "tagger", "Plan", {"Gold plan": "plan_gold", "Silver plan": "plan_silver"}
        ),
        ticket_field(503, "checkbox", "VIP"),
        ticket_field(504, "date", "Renewal"),
        ticket_field(505, "integer", "Seats"),
        ticket_field(506, "multiselect", "Products", {"Chat": "p_chat", "Voice": "p_voice"}),
        ticket_field(507, "decimal", "Amount"),
    ],
)


def make_plan(
    rules: Iterable[RuleSummary],
    changes: Iterable[TicketChange] = (),
    *,
    identity: Identity = BOT,
    **extra: Any,
) -> Plan:
    """A plan made at NOW for ZENDESK_URL from CONFIG_DIGEST; `extra` is e.g. run_as."""
    return Plan.create(
        created_at=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        zendesk_url=ZENDESK_URL,
        identity=identity,
        config_digest=CONFIG_DIGEST,
        rules=tuple(rules),
        changes=tuple(changes),
        **extra,
    )
