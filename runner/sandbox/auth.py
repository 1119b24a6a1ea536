"""Authentication as Zendesk does it, and the credentials the sandbox mints for its users.

- `Basic base64("email/token:KEY")`: an API token; tokens belong to the account, not to a user,
  so any minted token works with any active user's email, and the request acts as that user.
  An unknown token or email: 401 `{"error":"Couldn't authenticate you"}`.
- `Basic base64("email:password")`: passwords are not enabled here, so this is a failed login,
  which Zendesk treats like no credentials (users/me answers the anonymous user).
- `Bearer TOKEN`: an OAuth access token, bound to its user; unknown: 401 invalid_token.
- A suspended user: zendesk-api.md records nothing about how Zendesk answers one, so the
  sandbox picks the answer a client can explain: the credentials authenticate, `users/me`
  answers 200 with `"suspended": true` (`active` stays true: Zendesk documents
  `active: false` as a deleted user), and every agent endpoint answers 403 Forbidden. This
  is the "inactive user" case of `zdops tokens verify`. Unconfirmed against a real account.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from dataclasses import dataclass

from runner.sandbox.models import User
from runner.sandbox.replies import ApiError, invalid_token, unauthenticated

KINDS = ("oauth", "api_token")


@dataclass(frozen=True)
class Caller:
    """Who a request acts as; `user` is None for an anonymous caller."""

    user: User | None
    failed: ApiError | None = None  # the 401 to answer on endpoints that need a user


ANONYMOUS = Caller(None)


class Credentials:
    """Minted keys: OAuth tokens per user, API tokens per account (one minted per user)."""

    def __init__(self, seed: int, users_by_email: dict[str, User]) -> None:
        self._seed = seed
        self._users_by_email = users_by_email
        self._lock = threading.Lock()
        self._oauth: dict[str, int] = {}  # token -> user id
        self._api_tokens: set[str] = set()
        self._users_by_id = {u.id: u for u in users_by_email.values()}

    def mint(self, email: str, kind: str = "oauth") -> str:
        """The key for `email` (the same one every time for a given seed)."""
        if kind not in KINDS:
            raise ValueError(f"unknown credential kind {kind!r}; use one of {', '.join(KINDS)}")
        user = self._users_by_email.get(email.lower())
        if user is None:
            raise KeyError(f"no sandbox user has the email {email!r}")
        digest = hashlib.sha256(f"{self._seed}:{kind}:{user.id}".encode()).hexdigest()
        key = digest[:40]
        with self._lock:
            if kind == "oauth":
                self._oauth[key] = user.id
            else:
                self._api_tokens.add(key)
        return key

    def authenticate(self, header: str | None) -> Caller:
        if not header:
            return ANONYMOUS
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer":
            with self._lock:
                user_id = self._oauth.get(value)
            if user_id is None:
                raise invalid_token()
            return Caller(self._users_by_id[user_id])
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise unauthenticated() from None
            login, _, secret = decoded.partition(":")
            email, marker, _ = login.rpartition("/token")
            if marker and login.endswith("/token"):
                with self._lock:
                    known = secret in self._api_tokens
                user = self._users_by_email.get(email.lower())
                if not known or user is None:
                    raise unauthenticated()
                return Caller(user)
            # A password login: not enabled in the sandbox, so it never succeeds.
            return Caller(None, failed=unauthenticated())
        raise unauthenticated()
