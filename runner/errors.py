"""The one exception tree of zdops, and the exit codes it maps to.

Every error a user can cause or meet is a `ZdopsError`. The CLI catches `ZdopsError` at the top,
prints `str(error)` (one paragraph: what is wrong, where, and what to do) and exits with
`error.exit_code`. Anything else that escapes is a bug: the CLI prints a short "internal error"
line and, only with `--debug`, the traceback.

    ZdopsError                      exit 1
    ├── ConfigError                 the config file is unreadable or invalid (carries Problems)
    ├── QuerySyntaxError            a Zendesk search query that cannot be parsed
    ├── SecretsError                sops missing, too old, no key, MAC mismatch, timeout, ...
    ├── TrustError                  a token would be sent somewhere the file's owner did not allow
    ├── IdentityError               a token does not act as the user the file declares
    ├── ZendeskError                an answer from Zendesk (or the transport) that is a failure
    │   ├── ZendeskAuthError        401
    │   ├── ZendeskForbiddenError   403
    │   ├── ZendeskNotFoundError    404
    │   ├── ZendeskCollisionError   409 (safe_update: the ticket changed since it was read)
    │   ├── ZendeskInvalidError     422 RecordInvalid, closed ticket, search limit, ...
    │   ├── ZendeskRateLimitError   429 (or 503) past the client's time budget
    │   ├── ZendeskServerError      5xx past the retry budget
    │   ├── ZendeskTransportError   connection refused/dropped, timeouts
    │   └── ZendeskJobError         a background job that failed or expired
    ├── ResolveError                a name in a rule (group, user, field, option) not found
    ├── PlanError                   a saved plan that does not fit the config or is corrupt
    └── ApplyError                  one or more changes failed while applying
    Interrupted                     exit 130 (Ctrl-C, SIGTERM)

Messages never contain a secret: a `Secret` formats as a mask, and code that builds messages
from sops or Zendesk output must not echo request headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES_PENDING = 2
EXIT_INTERRUPTED = 130


class ZdopsError(Exception):
    """Base of every error zdops reports to a user."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


@dataclass(frozen=True)
class Problem:
    """One located finding in a config file.

    `line` and `column` are 1-based; 0 means unknown. `path` names the YAML node by identity,
    e.g. `rules[route-vip-refunds].when.all[0].operator`.
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file

    def __str__(self) -> str:
        where = self.location()
        subject = f"{self.path}: " if self.path else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{subject}{self.message}"


class ConfigError(ZdopsError):
    """The config file could not be loaded or is invalid; `problems` holds every finding."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors) or "invalid config")


class QuerySyntaxError(ZdopsError):
    """A Zendesk search query that cannot be parsed; `column` is 1-based within the query."""

    def __init__(self, reason: str, query: str, column: int = 1) -> None:
        super().__init__(f"cannot parse search query at column {column}: {reason}")
        self.reason = reason
        self.query = query
        self.column = column


class SecretsError(ZdopsError):
    """sops could not give us the keys (missing binary, no key, tampering, timeout, ...)."""


class TrustError(ZdopsError):
    """A token would go to a host or account that the file's owner did not allow."""


class IdentityError(ZdopsError):
    """A token authenticates as someone other than the declared, active agent."""


class ZendeskError(ZdopsError):
    """A failed answer from Zendesk, with what was asked and Zendesk's own words."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        endpoint: str | None = None,
        code: str | None = None,
        details: Any = None,
        ticket_id: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.method = method
        self.endpoint = endpoint
        self.code = code
        self.details = details
        self.ticket_id = ticket_id


class ZendeskAuthError(ZendeskError):
    pass


class ZendeskForbiddenError(ZendeskError):
    pass


class ZendeskNotFoundError(ZendeskError):
    pass


class ZendeskCollisionError(ZendeskError):
    pass


class ZendeskInvalidError(ZendeskError):
    pass


class ZendeskRateLimitError(ZendeskError):
    pass


class ZendeskServerError(ZendeskError):
    pass


class ZendeskTransportError(ZendeskError):
    pass


class ZendeskJobError(ZendeskError):
    pass


class ResolveError(ZdopsError):
    """A rule names a group, user, ticket field or option that Zendesk does not have."""


class PlanError(ZdopsError):
    """A saved plan that is corrupt, or that no longer fits the config it was made from."""


class ApplyError(ZdopsError):
    """Applying finished, but at least one change failed (each is in the report)."""


class Interrupted(ZdopsError):
    """The run was interrupted (Ctrl-C or SIGTERM) after cleaning up what was in flight."""

    exit_code = EXIT_INTERRUPTED
