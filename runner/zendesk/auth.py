"""Credentials and the httpx auth hook that turns them into an Authorization header.

The key is revealed here and nowhere else, at the moment a request is sent, and only to a
request whose origin is the client's own base URL: a redirect, a `links.next` or a job URL
that points elsewhere never gets the header.
"""

from __future__ import annotations

import base64
from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal

import httpx

from runner.errors import TrustError
from runner.secrets import Secret

TokenKind = Literal["oauth", "api_token"]


@dataclass(frozen=True, repr=False)
class Credentials:
    """What one declared token authenticates with.

    `kind="oauth"` sends `Bearer KEY`; `kind="api_token"` sends Basic `email/token:KEY`, where the
    email is part of the credential (Zendesk acts as whichever user's email comes with the token).
    """

    kind: TokenKind
    email: str
    key: Secret

    def __post_init__(self) -> None:
        if self.kind not in ("oauth", "api_token"):
            raise ValueError(f"unknown token kind {self.kind!r}: use 'oauth' or 'api_token'")

    def __repr__(self) -> str:
        return f"Credentials(kind={self.kind!r}, email={self.email!r}, key={self.key!r})"

    def authorization(self) -> str:
        """The Authorization header value. Callers must send it, never print or store it."""
        if self.kind == "oauth":
            return f"Bearer {self.key.reveal()}"
        raw = f"{self.email}/token:{self.key.reveal()}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def origin_of(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and effective port: two URLs may share a token only if these are equal."""
    port = url.port
    if port is None:
        port = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, port)


class ZendeskAuth(httpx.Auth):
    """Adds the token to requests for `base_url`'s origin and refuses every other origin."""

    def __init__(self, credentials: Credentials, base_url: httpx.URL) -> None:
        self._credentials = credentials
        self._origin = origin_of(base_url)

    def __repr__(self) -> str:
        return f"ZendeskAuth(kind={self._credentials.kind!r}, email={self._credentials.email!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if origin_of(request.url) != self._origin:
            scheme, host, port = self._origin
            raise TrustError(
                f"refusing to send the token for {self._credentials.email} to "
                f"{request.url.scheme}://{request.url.host}: this client only talks to "
                f"{scheme}://{host}:{port}.",
                hint="A Zendesk answer pointed to another host; nothing was sent there.",
            )
        request.headers["Authorization"] = self._credentials.authorization()
        yield request
