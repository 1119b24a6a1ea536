"""The Zendesk client: auth, pacing and retries, paging, bulk jobs, typed errors, names.

Everything zdops says to Zendesk goes through one `ZendeskClient` per token::

    from runner.zendesk import Credentials, ZendeskClient, TicketUpdate

    with ZendeskClient("https://acme.zendesk.com", Credentials("oauth", "bot@acme.com", key),
                       transport=None, timeout=30.0, max_wait=300.0) as client:
        client.me()                                    # the users/me "user" (id None: rejected)
        client.get_ticket(42); client.show_many([1, 2])
        for ticket in client.search_export("status<solved tags:vip"): ...
        client.search_count("status<solved")           # -> int
        client.update_ticket(42, {"priority": "high"}, updated_stamp=ticket["updated_at"])
        for result in client.update_many([TicketUpdate(42, {...}, stamp), ...]): ...
        client.audits(42); client.groups(); client.ticket_fields()
        client.organizations(); client.organization(7); client.organizations_named("Acme")
        client.brands(); client.brand(9)
        client.user_by_email("a@b.c"); client.users_show_many([7, 8])
        client.stats                                   # ClientStats: calls, retries, 429s, slept

`Directory(client)` resolves group names, user emails, ticket field titles, dropdown options,
brands and organizations to ids, fetching each small list once per run (organizations, which
can number tens of thousands, are looked up by name or id and cached instead).

Behaviour, in one place:

- Auth: `kind="oauth"` sends `Bearer KEY`, `kind="api_token"` Basic `email/token:KEY`. The
  header is added only to requests for the base URL's origin; a URL from an answer
  (`links.next`, `next_page`) that names another origin is refused with TrustError.
- Rate limits: headers of both spellings are read (`ratelimit-*`, `x-rate-limit*`,
  `zendesk-ratelimit-*`, `zendesk-rate-limit-*`); the client slows down before the limit
  (`Pacer`), waits out 429 and 503-with-Retry-After with jitter, and gives up with
  ZendeskRateLimitError once one request has waited `max_wait` seconds.
- Retries: GETs are retried on 5xx and transport errors (`RetryPolicy.retries`); writes are
  retried after a 429 or a connection that never opened, and otherwise never blindly: a lost
  answer to `update_ticket` re-reads the ticket (and its audits) before anything is resent, and
  `update_many` re-reads the tickets of a lost submission.
- Paging: cursor paging (`page[size]`, `page[after]`) wherever offered, search export for
  searches (no 1,000 ceiling), offset only for users/search.
- Sleeping and time go through the injected `sleep` and `clock` (tests never wait).

Errors (all `runner.errors.ZendeskError`, with `status`, `method`, `endpoint`, `code`,
`details`, `ticket_id`, Zendesk's own message and a hint)::

    ZendeskAuthError 401 · ZendeskForbiddenError 403 · ZendeskNotFoundError 404
    ZendeskCollisionError 409 (and a lost update whose ticket someone else changed)
    ZendeskInvalidError 400/413/422 · ZendeskRateLimitError 429 past max_wait, TooManyJobs
    ZendeskServerError 5xx past the retry budget · ZendeskTransportError network, timeouts
    WriteOutcomeUnknown (runner.zendesk.errors; a ZendeskError): a write whose answer was
        lost; raised only by `ZendeskClient.request` for callers that send their own writes
    TrustError: a URL pointing off our origin

`update_many` yields an `UpdateResult(ticket_id, success, error, details, job_id)` per ticket;
failures are results, not exceptions (codes from Zendesk, or `JobFailed`, `JobExpired`,
`NoResult`, `OutcomeUnknown`).
"""

from runner.zendesk.auth import Credentials, TokenKind
from runner.zendesk.client import DEFAULT_TIMEOUT, ZendeskClient
from runner.zendesk.errors import WriteOutcomeUnknown, error_from_response
from runner.zendesk.jobs import TicketUpdate, UpdateResult
from runner.zendesk.ratelimit import Bucket, Pacer, parse_rate_limits
from runner.zendesk.resolve import Directory
from runner.zendesk.retry import RetryPolicy
from runner.zendesk.stats import ClientStats

__all__ = [
    "DEFAULT_TIMEOUT",
    "Bucket",
    "ClientStats",
    "Credentials",
    "Directory",
    "Pacer",
    "RetryPolicy",
    "TicketUpdate",
    "TokenKind",
    "UpdateResult",
    "WriteOutcomeUnknown",
    "ZendeskClient",
    "error_from_response",
    "parse_rate_limits",
]
