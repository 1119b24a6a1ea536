"""The account's state: seeded records, tickets (columns until first written), audits.

A ticket that has never been written is built on demand from its seeded columns; the first write
turns it into a stored dict. Every read hands out a copy, so callers can never edit the state
behind the store's lock.
"""

from __future__ import annotations

import threading
from array import array
from collections import deque
from collections.abc import Iterator
from typing import Any

from runner.sandbox.clock import Clock
from runner.sandbox.columns import Columns
from runner.sandbox.models import (
    AUDIT_ID_BASE,
    EVENT_ID_BASE,
    PRIORITIES,
    SEED_AUDIT_ID_BASE,
    SEED_EVENT_ID_BASE,
    STATUSES,
    TYPES,
    Brand,
    Group,
    Organization,
    User,
)
from runner.sandbox.seed import CLOSE_AFTER_DAYS, DAY, SUBJECTS, Account, brand_index
from runner.sandbox.shapes import API_VIA, comment_event, iso, new_ticket_data, via

_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64: a cheap, well-spread hash, so derived field values need no storage."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class Store:
    def __init__(self, account: Account, seed: int, clock: Clock) -> None:
        self.account = account
        self.seed = seed
        self.clock = clock
        self.lock = threading.RLock()
        self.columns: Columns = account.columns
        self.users = account.users
        self.users_by_id = {u.id: u for u in account.users}
        self.users_by_email = {u.email.lower(): u for u in account.users}
        self.groups = account.groups
        self.groups_by_id = {g.id: g for g in account.groups}
        self.organizations = account.organizations
        self.orgs_by_id = {o.id: o for o in account.organizations}
        self.brands = account.brands
        self.brands_by_id = {b.id: b for b in account.brands}
        self.fields = account.fields
        self.custom_fields = [f for f in account.fields if f.is_custom]
        self.fields_by_id = {f.id: f for f in self.custom_fields}
        self._salt = _mix(seed)
        self._tickets: dict[int, dict[str, Any]] = {}  # written tickets, by id
        self._audits: dict[int, list[dict[str, Any]]] = {}  # audits after the seeded one
        self._solved: dict[int, int] = {}  # ticket id -> when a write solved it
        self._next_audit = 0
        self._next_event = 0
        self.ticket_count = len(self.columns)
        self.version = 0  # bumped by every ticket write; caches of derived answers key on it
        self.search_cache: dict[tuple[Any, ...], list[int]] = {}
        self._export_order: array[int] | None = None
        # tickets recently handed to clients: the background agent edits these (collisions)
        self.recently_read: deque[int] = deque(maxlen=64)

    # ---- reading -------------------------------------------------------------------------

    def exists(self, ticket_id: int) -> bool:
        return 1 <= ticket_id <= self.ticket_count

    def ticket_data(self, ticket_id: int) -> dict[str, Any] | None:
        """The stored ticket (not a copy: callers must hold the lock and not change it)."""
        if not self.exists(ticket_id):
            return None
        written = self._tickets.get(ticket_id)
        if written is not None:
            return written
        return self._seeded_ticket(ticket_id)

    def updated_ts(self, ticket_id: int) -> int:
        written = self._tickets.get(ticket_id)
        if written is not None:
            return int(written["generated_timestamp"])
        return self.columns.updated[ticket_id - 1]

    def created_ts(self, ticket_id: int) -> int:
        return self.columns.created[ticket_id - 1]

    def status_index(self, ticket_id: int) -> int:
        written = self._tickets.get(ticket_id)
        if written is not None:
            return STATUSES.index(written["status"])
        return self.columns.status[ticket_id - 1]

    def is_written(self, ticket_id: int) -> bool:
        """Whether the ticket is a stored dict (shared state) rather than built per read."""
        return ticket_id in self._tickets

    def export_order(self) -> array[int]:
        """Ticket ids by created_at descending, id descending on ties (search export's order).

        No ticket is created or re-dated here, so the order never changes: it is sorted once,
        on the first export, into 4 bytes a ticket.
        """
        if self._export_order is None:
            created = self.columns.created
            # one int per key ((created << 32) | id) sorts far faster than a tuple per key
            self._export_order = array(
                "I",
                sorted(
                    range(1, self.ticket_count + 1),
                    key=lambda i: (created[i - 1] << 32) | i,
                    reverse=True,
                ),
            )
        return self._export_order

    def solved_at(self, ticket_id: int) -> str | None:
        """When the ticket was (last) solved; seeded ones at their last update (closed ones
        28 days before it, when they were closed)."""
        data = self.ticket_data(ticket_id)
        if data is None or data["status"] not in ("solved", "closed"):
            return None
        stamp = self._solved.get(ticket_id)
        if stamp is None:
            seeded = self.columns.updated[ticket_id - 1]
            closed = STATUSES[self.columns.status[ticket_id - 1]] == "closed"
            stamp = seeded - CLOSE_AFTER_DAYS * DAY if closed else seeded
        return iso(stamp)

    def mark_solved(self, ticket_id: int, when: int) -> None:
        self._solved[ticket_id] = when

    def iter_tickets(self) -> Iterator[dict[str, Any]]:
        """Every ticket in id order (stored dicts or fresh seeded ones; do not change them)."""
        for ticket_id in range(1, self.ticket_count + 1):
            data = self.ticket_data(ticket_id)
            assert data is not None
            yield data

    def audits(self, ticket_id: int) -> list[dict[str, Any]]:
        data = self.ticket_data(ticket_id)
        if data is None:
            return []
        return [self._seeded_audit(ticket_id), *self._audits.get(ticket_id, [])]

    def user(self, user_id: int | None) -> User | None:
        return self.users_by_id.get(user_id) if user_id is not None else None

    def group(self, group_id: int | None) -> Group | None:
        return self.groups_by_id.get(group_id) if group_id is not None else None

    def organization(self, org_id: int | None) -> Organization | None:
        return self.orgs_by_id.get(org_id) if org_id is not None else None

    def brand(self, brand_id: int | None) -> Brand | None:
        return self.brands_by_id.get(brand_id) if brand_id is not None else None

    # ---- writing -------------------------------------------------------------------------

    def writable(self, ticket_id: int) -> dict[str, Any]:
        """The stored ticket, materialised from its columns on first write.

        Callers change it right away, so this is also where the store's version moves.
        """
        self.version += 1
        written = self._tickets.get(ticket_id)
        if written is None:
            written = self._seeded_ticket(ticket_id)
            self._tickets[ticket_id] = written
        return written

    def record_audit(
        self,
        ticket_id: int,
        author_id: int,
        events: list[dict[str, Any]],
        created: int,
        *,
        client: str,
        ip: str,
        custom: dict[str, Any] | None = None,
        channel: str = "api",
    ) -> dict[str, Any]:
        audit_id = self.new_audit_id()
        for event in events:
            if not event.get("id"):
                event["id"] = self.new_event_id()
            if event["type"] == "Comment":
                event["audit_id"] = audit_id
        audit = {
            "id": audit_id,
            "ticket_id": ticket_id,
            "created_at": iso(created),
            "author_id": author_id,
            "metadata": {
                "system": {
                    "client": client,
                    "ip_address": ip,
                    "location": "Sandbox, Loopback",
                    "latitude": 0.0,
                    "longitude": 0.0,
                },
                "custom": dict(custom or {}),
            },
            "events": events,
            "via": API_VIA if channel == "api" else via(channel),
        }
        self._audits.setdefault(ticket_id, []).append(audit)
        return audit

    def new_audit_id(self) -> int:
        self._next_audit += 1
        return AUDIT_ID_BASE + self._next_audit

    def new_event_id(self) -> int:
        self._next_event += 1
        return EVENT_ID_BASE + self._next_event

    def comment_count(self) -> int:
        return sum(
            1
            for audits in self._audits.values()
            for audit in audits
            for event in audit["events"]
            if event["type"] == "Comment"
        )

    # ---- seeded tickets ------------------------------------------------------------------

    def _derived(self, ticket_id: int) -> int:
        return _mix(self._salt ^ ticket_id)

    def _field_values(
        self, ticket_id: int, row: int, status: str, updated: int
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Custom field values of a seeded ticket, and the tags its dropdowns/checkbox add."""
        h = self._derived(ticket_id)
        template = SUBJECTS[self.columns.subject[row]]
        values: list[dict[str, Any]] = []
        tags: list[str] = []
        for field in self.custom_fields:
            value: Any = None
            if field.title == "Order number":
                value = str(self.columns.number[row]) if template[3] else None
            elif field.type == "tagger" and field.title == "Product":
                pick = h % 5
                value = field.options[pick - 1].value if pick else None
            elif field.type == "tagger":
                value = field.options[(h >> 4) % len(field.options)].value if template[3] else None
            elif field.type == "checkbox":
                value = (h >> 8) % 12 == 0
                if value and field.tag:
                    tags.append(field.tag)
            elif field.type == "date":
                if (h >> 12) % 5 == 0 and status in ("open", "pending", "hold"):
                    value = iso(updated + ((h >> 16) % 14 + 1) * DAY)[:10]
            elif field.type == "integer":
                value = str((h >> 20) % 50 + 1) if (h >> 26) % 3 == 0 else None
            elif field.type == "multiselect":
                picked = [o.value for k, o in enumerate(field.options) if (h >> (30 + k)) & 1]
                value = picked or None
            elif field.type == "text":
                value = f"CR-{(h >> 40) % 100000:05d}" if (h >> 34) % 7 == 0 else None
            if field.type in ("tagger", "multiselect") and value:
                tags.extend(value if isinstance(value, list) else [value])
            values.append({"id": field.id, "value": value})
        return values, tags

    def _seeded_ticket(self, ticket_id: int) -> dict[str, Any]:
        row = ticket_id - 1
        c = self.columns
        status = STATUSES[c.status[row]]
        created, updated = c.created[row], c.updated[row]
        text, description, _, _ = SUBJECTS[c.subject[row]]
        number = c.number[row]
        requester = self.account.end_users[c.requester[row]]
        assignee = self.account.agents[c.assignee[row] - 1] if c.assignee[row] else None
        group = self.groups[c.group[row] - 1] if c.group[row] else None
        custom, field_tags = self._field_values(ticket_id, row, status, updated)
        tags = sorted({*c.tagsets[c.tagset[row]], *field_tags})
        channel = "email" if self._derived(ticket_id) >> 60 & 1 else "web"
        return new_ticket_data(
            ticket_id=ticket_id,
            created=created,
            updated=updated,
            kind=TYPES[c.type[row]],
            subject=text.format(n=number),
            description=description.format(n=number),
            priority=PRIORITIES[c.priority[row]],
            status=status,
            requester_id=requester.id,
            assignee_id=assignee.id if assignee else None,
            organization_id=requester.organization_id,
            brand_id=self.brands[brand_index(_mix(self._derived(ticket_id)))].id,
            group_id=group.id if group else None,
            tags=tags,
            custom_fields=custom,
            channel=channel,
        )

    def _seeded_audit(self, ticket_id: int) -> dict[str, Any]:
        """The creation audit of a seeded ticket, derived (never stored)."""
        seeded = self._seeded_ticket(ticket_id)
        audit_id = SEED_AUDIT_ID_BASE + ticket_id
        event_base = SEED_EVENT_ID_BASE + ticket_id * 16
        requester = seeded["requester_id"]
        events: list[dict[str, Any]] = [
            {**comment_event(event_base, audit_id, requester, seeded["description"], True)}
        ]
        for k, name in enumerate(
            (
                "subject",
                "status",
                "priority",
                "type",
                "requester_id",
                "group_id",
                "assignee_id",
                "tags",
            ),
            start=1,
        ):
            value = seeded[name]
            if name == "status":
                value = "new"
            elif isinstance(value, int):
                value = str(value)
            events.append(
                {"id": event_base + k, "type": "Create", "value": value, "field_name": name}
            )
        return {
            "id": audit_id,
            "ticket_id": ticket_id,
            "created_at": seeded["created_at"],
            "author_id": requester,
            "metadata": {"system": {}, "custom": {}},
            "events": events,
            "via": via(seeded["via"]["channel"]),
        }
