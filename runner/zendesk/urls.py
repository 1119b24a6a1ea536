"""Endpoint names for counters and messages, and the rule for URLs Zendesk hands back."""

from __future__ import annotations

import re

import httpx

from runner.errors import TrustError
from runner.zendesk.auth import origin_of

_ID_SEGMENT = re.compile(r"^(\d+|V\d-[0-9a-f]+|[0-9a-f]{32})$")


def endpoint_key(method: str, path: str) -> str:
    """`PUT /api/v2/tickets/{id}` for `/api/v2/tickets/42.json`: one key per endpoint."""
    if path.endswith(".json"):
        path = path[: -len(".json")]
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    return f"{method} {'/'.join(segments)}"


def same_origin_url(url: str, base: httpx.URL, *, what: str) -> httpx.URL:
    """A URL from an answer (links.next, next_page), accepted only on our own origin.

    Zendesk returns absolute URLs; one that names another host is refused, so a crafted or
    proxied answer can never steer a request (and the token with it) elsewhere.
    """
    parsed = base.join(url)
    if origin_of(parsed) != origin_of(base):
        raise TrustError(
            f"Zendesk's {what} points to {parsed.scheme}://{parsed.host}, not to "
            f"{base.scheme}://{base.host}; refusing to follow it.",
            hint="Check the configured Zendesk URL (and any proxy in front of it).",
        )
    return parsed
