"""Fixtures for the Zendesk sandbox (owned by the sandbox area).

def test_x(sandbox):                      # 200 seeded tickets, served on 127.0.0.1
    client = sandbox.client(sandbox.bot["email"])      # httpx.Client as the bot (OAuth)
    client.get("/api/v2/users/me.json")
    sandbox.sb.ticket(1)                  # the Python API of runner.sandbox.Sandbox

def test_y(sandbox_factory):
    served = sandbox_factory(tickets=50, faults="500:1")
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from runner.sandbox import Sandbox, Server

FIXED_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@dataclass
class ServedSandbox:
    """A Sandbox served on 127.0.0.1, with credential and client helpers."""

    sb: Sandbox
    server: Server
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def state(self) -> Sandbox:
        return self.sb

    @property
    def admin(self) -> dict[str, Any]:
        return self.sb.admin

    @property
    def bot(self) -> dict[str, Any]:
        return self.sb.bot

    @property
    def agent(self) -> dict[str, Any]:
        return self.sb.agent

    @property
    def light_agent(self) -> dict[str, Any]:
        return self.sb.light_agent

    @property
    def end_user(self) -> dict[str, Any]:
        return self.sb.end_user

    @property
    def suspended_agent(self) -> dict[str, Any]:
        return self.sb.suspended_agent

    def credentials(self, email: str, kind: str = "oauth") -> str:
        return self.sb.credentials(email, kind)

    def auth_header(self, email: str, kind: str = "oauth") -> str:
        key = self.credentials(email, kind)
        if kind == "oauth":
            return f"Bearer {key}"
        return "Basic " + base64.b64encode(f"{email}/token:{key}".encode()).decode()

    def client(self, email: str | None = None, kind: str = "oauth", **kwargs: Any) -> httpx.Client:
        """An httpx.Client on the sandbox, authenticated as `email` (anonymous if None)."""
        headers = {"Authorization": self.auth_header(email, kind)} if email else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=10, **kwargs)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self.server.stop()


def _serve(**kwargs: Any) -> ServedSandbox:
    kwargs.setdefault("tickets", 200)
    kwargs.setdefault("now", FIXED_NOW)
    sb = Sandbox(**kwargs)
    return ServedSandbox(sb, Server(sb, 0).start())


@pytest.fixture
def sandbox() -> Iterator[ServedSandbox]:
    """A served sandbox: 200 tickets, seed 1, now fixed at 2026-01-15T12:00Z, no faults."""
    served = _serve()
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., ServedSandbox]]:
    """Make served sandboxes with Sandbox(**kwargs); all are stopped after the test."""
    made: list[ServedSandbox] = []

    def make(**kwargs: Any) -> ServedSandbox:
        served = _serve(**kwargs)
        made.append(served)
        return served

    try:
        yield make
    finally:
        for served in made:
            served.close()
