"""Shared fakes for the Zendesk client's unit tests (no tests here).

`Scripted` is an httpx.MockTransport handler that answers each (method, path) from a queue of
responses (or a function), records every request, and fails loudly on anything unexpected.
`FakeTime` is the injected clock and sleep: sleeping advances the clock, nothing waits.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from runner.secrets import Secret
from runner.zendesk import Credentials, RetryPolicy, ZendeskClient

BASE = "https://acme.zendesk.com"
KEY = "zd-k3y-0123456789abcdef-SECRET"
EMAIL = "bot@acme.com"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class Scripted:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], deque[Answer]] = {}
        self.defaults: dict[tuple[str, str], Answer] = {}
        self.requests: list[httpx.Request] = []

    def add(self, method: str, path: str, *answers: Answer) -> Scripted:
        self.routes.setdefault((method, path), deque()).extend(answers)
        return self

    def always(self, method: str, path: str, answer: Answer) -> Scripted:
        self.defaults[(method, path)] = answer
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        queue = self.routes.get(key)
        if queue:
            answer = queue.popleft()
        elif key in self.defaults:
            answer = self.defaults[key]
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


def ok(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload, headers=headers)


def text(status: int, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, text=body, headers={"content-type": "text/plain",
                                                      **(headers or {})})


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def make_client(script: Scripted, time: FakeTime | None = None, *, kind: str = "oauth",
                retries: int = 3, max_wait: float = 120.0, **kwargs: Any) -> ZendeskClient:
    time = time or FakeTime()
    return ZendeskClient(
        BASE,
        Credentials(kind, EMAIL, Secret(KEY)),  # type: ignore[arg-type]
        transport=httpx.MockTransport(script),
        retry=RetryPolicy(retries=retries, max_wait=max_wait),
        sleep=time.sleep,
        clock=time.clock,
        rng=random.Random(7),
        **kwargs,
    )


def ticket(ticket_id: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": ticket_id, "subject": f"ticket {ticket_id}", "status": "open", "priority": "normal",
        "group_id": None, "assignee_id": None, "tags": [], "custom_fields": [],
        "updated_at": "2024-01-01T10:00:00Z",
    }
    base.update(fields)
    return base
