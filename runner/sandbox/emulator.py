"""The Sandbox: one seeded Zendesk account, its WSGI app, and the Python API tests use."""

from __future__ import annotations

import base64
import copy
from dataclasses import replace
from datetime import datetime
from typing import Any

from runner.sandbox.app import App
from runner.sandbox.auth import Credentials
from runner.sandbox.clock import Clock
from runner.sandbox.faults import Dice, Faults, parse_faults
from runner.sandbox.jobs import Jobs
from runner.sandbox.models import User
from runner.sandbox.ratelimit import DEFAULT_PLAN_LIMIT, Window
from runner.sandbox.seed import seed_account
from runner.sandbox.shapes import comment_event, iso, ticket_json, user_json
from runner.sandbox.stats import Stats
from runner.sandbox.store import Store

DEFAULT_BASE_URL = "http://127.0.0.1"
AGENT_NOTES = (
    "Looking into this.",
    "Checked with the warehouse.",
    "Waiting on billing.",
    "Customer called, see notes.",
)


class Sandbox:
    """A seeded Zendesk account served by `app` (a WSGI callable).

    `tickets`, `seed` and `now` fix the data; `rate_limit` is requests per minute for the
    account, enforced with 429s (None: not enforced, but every answer still carries Zendesk's
    rate-limit headers, reporting `plan_limit`); `latency_ms` adds to every
    answer; `faults` is a spec string or `Faults` (see runner.sandbox.faults);
    `ticket_update_limit` is Zendesk's 30 updates per 10 minutes per user per ticket.
    """

    def __init__(
        self,
        tickets: int = 1000,
        seed: int = 1,
        rate_limit: int | None = None,
        latency_ms: float = 0,
        faults: str | Faults | None = None,
        now: datetime | float | None = None,
        *,
        domain: str = "example.com",
        ticket_update_limit: int = 30,
        plan_limit: int = DEFAULT_PLAN_LIMIT,
    ) -> None:
        if tickets < 0:
            raise ValueError(f"tickets must be 0 or more, got {tickets}")
        if rate_limit is not None and rate_limit < 1:
            raise ValueError(f"rate_limit must be at least 1 request per minute, got {rate_limit}")
        if plan_limit < 1:
            raise ValueError(f"plan_limit must be at least 1 request per minute, got {plan_limit}")
        self.seed = seed
        self.clock = Clock(now)
        account = seed_account(seed, tickets, int(self.clock.start), domain)
        self.store = Store(account, seed, self.clock)
        self.domain = domain
        self.base_url = DEFAULT_BASE_URL
        spec = parse_faults(faults)
        if latency_ms:
            spec = replace(spec, latency_ms=float(latency_ms))
        self.dice = Dice(seed, spec)
        self.keys = Credentials(seed, self.store.users_by_email)
        self.jobs = Jobs(self.store, self.dice, seed)
        self.stats_counter = Stats()
        self.rate_limit = Window(rate_limit, 60.0, self.clock) if rate_limit is not None else None
        # Zendesk sends its rate-limit headers on every answer: without an emulated limit,
        # this window counts requests for them and refuses none.
        self.plan_window = Window(plan_limit, 60.0, self.clock)
        self.ticket_updates = Window(ticket_update_limit, 600.0, self.clock)
        self.incremental_limit = Window(10, 60.0, self.clock) if rate_limit is not None else None
        self.app = App(self)

    # ---- people ----------------------------------------------------------------------------

    @property
    def users(self) -> list[dict[str, Any]]:
        return [self._user(u) for u in self.store.users]

    def _user(self, user: User) -> dict[str, Any]:
        return user_json(user, self.base_url)

    def _by_email(self, local: str) -> dict[str, Any]:
        return self._user(self.store.users_by_email[f"{local}@{self.domain}"])

    @property
    def admin(self) -> dict[str, Any]:
        return self._by_email("admin")

    @property
    def bot(self) -> dict[str, Any]:
        return self._by_email("bot")

    @property
    def agent(self) -> dict[str, Any]:
        return self._by_email("jane")

    @property
    def light_agent(self) -> dict[str, Any]:
        return self._by_email("light")

    @property
    def suspended_agent(self) -> dict[str, Any]:
        return self._by_email("suspended")

    @property
    def end_user(self) -> dict[str, Any]:
        return self._user(self.store.account.end_users[0])

    @property
    def groups(self) -> list[dict[str, Any]]:
        return [{"id": g.id, "name": g.name} for g in self.store.groups]

    @property
    def organizations(self) -> list[dict[str, Any]]:
        return [{"id": o.id, "name": o.name} for o in self.store.organizations]

    @property
    def brands(self) -> list[dict[str, Any]]:
        return [{"id": b.id, "name": b.name, "default": b.default} for b in self.store.brands]

    @property
    def ticket_fields(self) -> list[dict[str, Any]]:
        return [
            {"id": f.id, "title": f.title, "type": f.type, "options": [o.value for o in f.options]}
            for f in self.store.custom_fields
        ]

    def credentials(self, email: str, kind: str = "oauth") -> str:
        """The key that authenticates as `email` (`oauth`: Bearer; `api_token`: Basic)."""
        return self.keys.mint(email, kind)

    def auth_header(self, email: str, kind: str = "oauth") -> str:
        """A ready Authorization header value for `email`."""
        key = self.credentials(email, kind)
        if kind == "oauth":
            return f"Bearer {key}"
        return "Basic " + base64.b64encode(f"{email}/token:{key}".encode()).decode()

    # ---- state -----------------------------------------------------------------------------

    @property
    def ticket_count(self) -> int:
        return self.store.ticket_count

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        with self.store.lock:
            data = self.store.ticket_data(ticket_id)
            if data is None:
                raise KeyError(f"the sandbox has no ticket {ticket_id}")
            return ticket_json(data, self.base_url)

    def audits(self, ticket_id: int) -> list[dict[str, Any]]:
        with self.store.lock:
            if not self.store.exists(ticket_id):
                raise KeyError(f"the sandbox has no ticket {ticket_id}")
            return copy.deepcopy(self.store.audits(ticket_id))

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        """Every Comment event of a ticket, oldest first (the description first)."""
        return [e for a in self.audits(ticket_id) for e in a["events"] if e["type"] == "Comment"]

    def stats(self) -> dict[str, Any]:
        snapshot = self.stats_counter.snapshot()
        with self.store.lock:
            snapshot["tickets"] = self.store.ticket_count
            snapshot["comments_added"] = self.store.comment_count()
        snapshot["jobs_in_flight"] = len(self.jobs.in_flight())
        snapshot["faults_spec"] = self.dice.faults.spec()
        return snapshot

    def reset_stats(self) -> None:
        self.stats_counter.reset()

    def set_faults(self, spec: str | Faults | None) -> None:
        self.dice.set(parse_faults(spec))

    def wait_for_jobs(self, timeout: float = 10.0) -> bool:
        return self.jobs.wait_idle(timeout)

    def agent_edit(self, ticket_id: int, note: str | None = None) -> dict[str, Any] | None:
        """A human agent adds an internal note (bumping updated_at); None if it is closed."""
        agent = self.store.users_by_email[f"jane@{self.domain}"]
        with self.store.lock:
            data = self.store.ticket_data(ticket_id)
            if data is None:
                raise KeyError(f"the sandbox has no ticket {ticket_id}")
            if data["status"] == "closed":
                return None
            ticket = self.store.writable(ticket_id)
            now = max(int(self.clock()), int(ticket["generated_timestamp"]) + 1)
            ticket["updated_at"] = iso(now)
            ticket["generated_timestamp"] = now
            text = note or AGENT_NOTES[ticket_id % len(AGENT_NOTES)]
            event = comment_event(0, 0, agent.id, text, False)
            self.store.record_audit(
                ticket_id,
                agent.id,
                [event],
                now,
                client="Zendesk Web",
                ip="10.0.0.1",
                channel="web",
            )
            return ticket_json(ticket, self.base_url)

    def close(self) -> None:
        """Stop the job worker (the served HTTP server is stopped by `serve`)."""
        self.jobs.stop()
