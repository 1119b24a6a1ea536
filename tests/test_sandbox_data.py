"""Seeded data: deterministic, realistic, and the Python API the rest of the suite relies on."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import httpx

from runner.sandbox import Sandbox

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_same_seed_same_data_other_seed_other_data() -> None:
    one, two = Sandbox(tickets=300, seed=5, now=NOW), Sandbox(tickets=300, seed=5, now=NOW)
    assert [one.ticket(i) for i in range(1, 301)] == [two.ticket(i) for i in range(1, 301)]
    assert one.users == two.users
    assert one.audits(42) == two.audits(42)
    other = Sandbox(tickets=300, seed=6, now=NOW)
    assert [one.ticket(i) for i in range(1, 301)] != [other.ticket(i) for i in range(1, 301)]


def test_seeded_people_groups_and_fields() -> None:
    sb = Sandbox(tickets=10, seed=1, now=NOW)
    assert sb.bot["name"] == "Automation Bot" and sb.bot["email"] == "bot@example.com"
    assert sb.admin["role"] == "admin"
    assert sb.agent["role"] == "agent" and sb.agent["role_type"] is None
    assert sb.light_agent["role"] == "agent" and sb.light_agent["role_type"] == 1
    assert sb.end_user["role"] == "end-user"
    assert {"Support", "Billing", "Tier 2"} <= {g["name"] for g in sb.groups}
    fields = {f["title"]: f["type"] for f in sb.ticket_fields}
    assert fields["Order number"] == "text"
    assert {"text", "tagger", "checkbox", "date", "integer", "multiselect"} <= set(fields.values())


def test_ticket_distributions_are_realistic() -> None:
    sb = Sandbox(tickets=3000, seed=1, now=NOW)
    tickets = [sb.ticket(i) for i in range(1, 3001)]
    statuses = Counter(t["status"] for t in tickets)
    assert set(statuses) == {"new", "open", "pending", "hold", "solved", "closed"}
    assert statuses["closed"] > 300 and statuses["new"] > 100
    new_groups = Counter(t["group_id"] for t in tickets if t["status"] == "new")
    assert len(new_groups) == 4  # triaged into each group, or into none yet
    priorities = Counter(t["priority"] for t in tickets)
    assert set(priorities) == {None, "low", "normal", "high", "urgent"}
    assert {None, "question", "incident", "problem", "task"} == {t["type"] for t in tickets}
    tags = Counter(tag for t in tickets for tag in t["tags"])
    assert tags["vip"] > 100 and tags["needs-triage"] > 50 and tags["refund"] > 100
    assert any(t["subject"].startswith("Refund for order ") for t in tickets)
    for ticket in tickets:
        assert ticket["created_at"] <= ticket["updated_at"] <= "2026-01-15T12:00:00Z"
        if ticket["status"] in ("solved", "closed"):
            assert ticket["assignee_id"] is not None
        if ticket["status"] == "new":  # assigning a new ticket opens it, in Zendesk
            assert ticket["assignee_id"] is None
        if ticket["status"] == "closed":  # closed 28 days after being solved
            created_at = datetime.fromisoformat(ticket["created_at"])
            assert (datetime.fromisoformat(ticket["updated_at"]) - created_at).days >= 28
    created = sorted(t["created_at"] for t in tickets)
    assert created[0] < "2025-08-01" and created[-1] > "2026-01-01"  # months of history
    order = next(f["id"] for f in sb.ticket_fields if f["title"] == "Order number")
    refund = next(t for t in tickets if t["subject"].startswith("Refund for order "))
    value = next(f["value"] for f in refund["custom_fields"] if f["id"] == order)
    assert refund["subject"] == f"Refund for order {value}"


def test_reads_hand_out_copies() -> None:
    sb = Sandbox(tickets=5, seed=1, now=NOW)
    ticket = sb.ticket(1)
    ticket["tags"].append("mine")
    ticket["custom_fields"][0]["value"] = "changed"
    assert "mine" not in sb.ticket(1)["tags"]
    assert sb.ticket(1)["custom_fields"][0]["value"] != "changed"


def test_app_mounts_on_httpx_wsgi_transport() -> None:
    sb = Sandbox(tickets=20, seed=1, now=NOW)
    client = httpx.Client(
        transport=httpx.WSGITransport(app=sb.app),
        base_url="http://sb",
        headers={"Authorization": sb.auth_header(sb.bot["email"])},
    )
    ticket = client.get("/api/v2/tickets/3.json").json()["ticket"]
    assert ticket["url"] == "http://sb/api/v2/tickets/3.json"
    assert ticket == {**sb.ticket(3), "url": ticket["url"]}
    assert sb.stats()["by_endpoint"]["GET /api/v2/tickets/{id}"]["total"] == 1
    sb.reset_stats()
    assert sb.stats()["requests"] == 0
    sb.close()
