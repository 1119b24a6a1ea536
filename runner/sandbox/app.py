"""The WSGI application: routing, auth and roles, limits and faults around the endpoints.

Order of work for an API request (what a client sees first wins): injected latency, the
background agent, dropped connection, injected 5xx, the account rate limit, authentication,
the endpoint itself; then, for a write picked by the `lost` fault, the answer is thrown away
and the connection closed.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from runner.sandbox.auth import ANONYMOUS
from runner.sandbox.endpoints import ROUTES, Request
from runner.sandbox.faults import Fate
from runner.sandbox.ratelimit import ACCOUNT_LIMIT_BODY
from runner.sandbox.replies import (
    ApiError,
    Reply,
    invalid_endpoint,
    json_reply,
    text_reply,
)

if TYPE_CHECKING:
    from runner.sandbox.emulator import Sandbox

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
StartResponse = Callable[..., Any]


class DropConnection(Exception):
    """Close the client's connection without an answer (the `drop` and `lost` faults).

    The threaded server catches it; under httpx.WSGITransport it reaches the client as an
    exception, which is as close to a dropped connection as an in-process call gets.
    """


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Callable[..., Reply]
    params: list[str] = field(default_factory=list)


def _compile_routes() -> list[_Route]:
    routes = []
    for method, template, handler in ROUTES:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        routes.append(_Route(method, re.compile(f"^{regex}$"), f"{method} {template}", handler))
    return routes


_ROUTES = _compile_routes()


def normalise_path(path: str) -> str:
    """`/api/v2/tickets/1.json` and `/api/v2/tickets/1/` both mean `/api/v2/tickets/1`."""
    if path.endswith(".json"):
        path = path[: -len(".json")]
    return path.rstrip("/") or "/"


class App:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        reply = self.handle(environ)
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            *reply.headers,
        ]
        start_response(reply.status_line, headers)
        return [reply.body]

    def handle(self, environ: dict[str, Any]) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        raw_path = environ.get("PATH_INFO", "/") or "/"
        path = normalise_path(raw_path)
        if path.startswith("/_sandbox/"):
            return self._admin(method, path)
        sandbox = self.sandbox
        route, params = self._match(method, path)
        endpoint = route.name if route else "unknown"
        is_write = method in WRITE_METHODS
        fate = sandbox.dice.fate(is_write)
        self._suffer(fate, endpoint)
        if fate.status is not None:
            reply = _injected_error(fate.status)
            sandbox.stats_counter.record(endpoint, reply.status)
            return reply
        try:
            body = _read_body(environ)
        except OSError:
            raise DropConnection() from None
        # read per request: tests may swap in another limit on a running sandbox
        limit = sandbox.rate_limit
        verdict = limit.hit() if limit is not None else sandbox.plan_window.hit(enforce=False)
        headers = verdict.account_headers()
        if not verdict.allowed:
            reply = text_reply(429, ACCOUNT_LIMIT_BODY, [*headers, verdict.retry_after()])
            sandbox.stats_counter.record(endpoint, 429)
            return reply
        caller = ANONYMOUS
        try:
            caller = sandbox.keys.authenticate(environ.get("HTTP_AUTHORIZATION"))
            if route is None:
                raise invalid_endpoint(method, raw_path)
            request = Request(
                sandbox=sandbox,
                method=method,
                path=raw_path,
                query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
                body=body,
                caller=caller,
                base_url=_base_url(environ),
                client=environ.get("HTTP_USER_AGENT", ""),
                ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
                params=params,
            )
            reply = route.handler(request)
        except ApiError as error:
            reply = error.reply()
        except Exception as error:  # a sandbox bug: answer 500, keep serving, let tests see it
            sandbox.stats_counter.fault("internal_error")
            traceback.print_exc()
            reply = json_reply(
                500,
                {
                    "error": "SandboxInternalError",
                    "description": f"{type(error).__name__}: {error}",
                },
            )
        reply.headers = [*headers, *reply.headers]
        if is_write:
            user_id = caller.user.id if caller.user else None
            sandbox.stats_counter.write(
                user_id, method, raw_path, environ.get("QUERY_STRING", ""), body
            )
        sandbox.stats_counter.record(endpoint, reply.status)
        if fate.lose:
            sandbox.stats_counter.fault("lost")
            raise DropConnection()
        return reply

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in _ROUTES:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None, {}

    def _suffer(self, fate: Fate, endpoint: str) -> None:
        sandbox = self.sandbox
        if fate.delay_s:
            time.sleep(fate.delay_s)
        if fate.agent_edit:
            with sandbox.store.lock:
                recent = list(sandbox.store.recently_read)
            if recent:
                ticket_id = recent[sandbox.dice.choice_index(len(recent))]
            elif sandbox.store.ticket_count:
                ticket_id = 1 + sandbox.dice.choice_index(sandbox.store.ticket_count)
            else:
                ticket_id = 0
            if ticket_id and sandbox.agent_edit(ticket_id) is not None:
                sandbox.stats_counter.fault("agent")
        if fate.drop:
            sandbox.stats_counter.fault("drop")
            sandbox.stats_counter.record(endpoint, 0)
            raise DropConnection()
        if fate.status is not None:
            sandbox.stats_counter.fault(str(fate.status))

    def _admin(self, method: str, path: str) -> Reply:
        if path == "/_sandbox/stats" and method == "GET":
            return json_reply(200, self.sandbox.stats())
        if path == "/_sandbox/stats/reset" and method == "POST":
            self.sandbox.reset_stats()
            return json_reply(200, {"reset": True})
        return json_reply(
            404, {"error": "InvalidEndpoint", "description": f"Not found: {method} {path}"}
        )


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    data: bytes = environ["wsgi.input"].read(length)
    return data


def _base_url(environ: dict[str, Any]) -> str:
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"


def _injected_error(status: int) -> Reply:
    if status == 503:
        return text_reply(
            503,
            "Service Unavailable: the server is temporarily unable to "
            "handle the request. Please try again later.",
            [("Retry-After", "1")],
        )
    if status == 502:
        return Reply(
            502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html; charset=utf-8"
        )
    return json_reply(
        500,
        {"error": "InternalServerError", "description": "Something went wrong. Please try again."},
    )
