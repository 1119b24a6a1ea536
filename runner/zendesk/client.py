"""ZendeskClient: one connection pool, one token, and every call made the careful way."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

import httpx

from runner import __version__
from runner.errors import (
    ZendeskCollisionError,
    ZendeskError,
    ZendeskForbiddenError,
    ZendeskNotFoundError,
    ZendeskRateLimitError,
    ZendeskServerError,
    ZendeskTransportError,
)
from runner.zendesk import paging
from runner.zendesk.auth import Credentials, ZendeskAuth
from runner.zendesk.errors import WriteOutcomeUnknown, error_from_response
from runner.zendesk.jobs import (
    DEFAULT_JOB_WAIT,
    DEFAULT_MAX_JOBS,
    BulkUpdate,
    TicketUpdate,
)
from runner.zendesk.ratelimit import Pacer, parse_retry_after
from runner.zendesk.retry import NOT_SENT, RETRYABLE_STATUS, RetryPolicy
from runner.zendesk.stats import ClientStats
from runner.zendesk.urls import endpoint_key, same_origin_url
from runner.zendesk.verify import (
    fields_match,
    our_audit_since,
    resend_is_safe,
    unverifiable_keys,
)

JSON = dict[str, Any]
Params = paging.Params

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
SHOW_MANY_MAX = 100


class ZendeskClient:
    """A synchronous client for Zendesk Support with one token and one connection pool.

    Every request goes through `request()`: it paces itself on Zendesk's rate-limit headers,
    waits out 429s (and 503s with Retry-After) within `max_wait` seconds, retries 5xx and
    transport errors for reads, and turns every failure into a typed `ZendeskError`. Writes
    are never sent twice blindly: see `update_ticket` and `update_many`.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_wait: float = 300.0,
        retry: RetryPolicy | None = None,
        max_jobs: int = DEFAULT_MAX_JOBS,
        job_wait: float = DEFAULT_JOB_WAIT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        pacer: Pacer | None = None,
        user_agent: str = f"zdops/{__version__}",
    ) -> None:
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        self.retry = RetryPolicy(max_wait=max_wait) if retry is None else retry
        self.max_jobs = max_jobs
        self.job_wait = job_wait
        # Seconds per ticket the account's background jobs ran at, as last measured: it times
        # the next wave's first poll (see runner.zendesk.jobs).
        self.job_pace: float | None = None
        self.stats = ClientStats()
        self._sleep_fn = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._pacer = pacer or Pacer()
        self._me_id: int | None = None
        self._organization_search_forbidden = False
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=ZendeskAuth(credentials, self.base_url),
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": user_agent},
        )

    def __repr__(self) -> str:
        return f"ZendeskClient({str(self.base_url)!r})"

    def __enter__(self) -> ZendeskClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the one way a request is made -------------------------------------------------------

    def sleep(self, seconds: float, *, paced: bool = False) -> None:
        """Wait through the injected sleep, and count it."""
        if seconds <= 0:
            return
        self.stats.slept += seconds
        if paced:
            self.stats.paced += seconds
        self._sleep_fn(seconds)

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @property
    def rng(self) -> random.Random:
        return self._rng

    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Params | None = None,
        json: Any = None,
        ticket_id: int | None = None,
    ) -> httpx.Response:
        """Send one request and return its successful answer, or raise a ZendeskError.

        GETs are retried on 5xx and transport errors; any method is retried after a 429 (the
        request was refused, not applied). For a write whose answer was lost (5xx, dropped or
        timed-out connection after sending) this raises `WriteOutcomeUnknown` for the caller
        to resolve.
        """
        target = self.base_url.join(url) if isinstance(url, str) else url
        endpoint = endpoint_key(method, target.path)
        idempotent = method in ("GET", "HEAD")
        waited = 0.0
        failures = 0
        limited = 0
        while True:
            pause = self._pacer.delay(endpoint, self._clock())
            if pause:
                waited += pause
                self.sleep(pause, paced=True)
            self.stats.calls[endpoint] += 1
            try:
                response = self._http.request(method, target, params=params, json=json)
            except httpx.TransportError as exc:
                error = self._transport_error(exc, method, endpoint, ticket_id)
                if not idempotent and not isinstance(exc, NOT_SENT):
                    raise self._unknown(error) from None
                failures += 1
                wait = self.retry.backoff(failures - 1, self._rng)
                if failures > self.retry.retries or waited + wait > self.retry.max_wait:
                    error.message += f" (gave up after {failures} attempts)"
                    raise error from None
                waited += wait
                self.stats.retries += 1
                self.sleep(wait)
                continue
            self._pacer.observe(endpoint, response.headers, self._clock())
            if response.is_success:
                return response
            failure = error_from_response(response, method=method, endpoint=endpoint,
                                          ticket_id=ticket_id)
            retry_after = parse_retry_after(response.headers, time.time())
            if response.status_code == 429 or (response.status_code == 503
                                               and retry_after is not None):
                self.stats.rate_limited += 1
                if failure.code == "TooManyJobs":
                    raise failure
                wait = self.retry.rate_limited_wait(retry_after, limited, self._rng)
                limited += 1
                if waited + wait > self.retry.max_wait:
                    asked = (f", and Zendesk asks for {retry_after:.0f}s more"
                             if retry_after is not None else "")
                    raise ZendeskRateLimitError(
                        f"{failure.message} (still limited after waiting {waited:.0f}s{asked}; "
                        f"the budget is {self.retry.max_wait:.0f}s)",
                        status=failure.status, method=method, endpoint=endpoint,
                        code=failure.code, ticket_id=ticket_id, hint=failure.hint,
                    )
                waited += wait
                self.stats.retries += 1
                self.sleep(wait)
                continue
            if response.status_code in RETRYABLE_STATUS:
                if not idempotent:
                    raise self._unknown(failure)
                failures += 1
                wait = self.retry.backoff(failures - 1, self._rng)
                if failures > self.retry.retries or waited + wait > self.retry.max_wait:
                    raise ZendeskServerError(
                        f"{failure.message} (gave up after {failures} attempts)",
                        status=failure.status, method=method, endpoint=endpoint,
                        code=failure.code, ticket_id=ticket_id, hint=failure.hint,
                    )
                waited += wait
                self.stats.retries += 1
                self.sleep(wait)
                continue
            raise failure

    def _transport_error(self, exc: httpx.TransportError, method: str, endpoint: str,
                         ticket_id: int | None) -> ZendeskTransportError:
        what = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        subject = f"ticket #{ticket_id}: " if ticket_id is not None else ""
        return ZendeskTransportError(
            f"{subject}{endpoint} to {self._origin_text()} {what}: "
            f"{type(exc).__name__}: {exc or 'no detail'}",
            method=method, endpoint=endpoint, ticket_id=ticket_id,
            hint="Check the network and the Zendesk URL, then run again.",
        )

    def _origin_text(self) -> str:
        return f"{self.base_url.scheme}://{self.base_url.netloc.decode('ascii')}"

    @staticmethod
    def _unknown(error: ZendeskError) -> WriteOutcomeUnknown:
        return WriteOutcomeUnknown(
            f"{error.message}; the change may or may not have been applied",
            cause=error, status=error.status, method=error.method, endpoint=error.endpoint,
            ticket_id=error.ticket_id,
            hint="Run `zdops plan` again to see the ticket as it is now.",
        )

    def get_json(self, url: str, params: Params | None = None) -> JSON:
        """GET a path (or a URL on our own origin) and return its JSON object."""
        target = same_origin_url(url, self.base_url, what="next page link")
        return self.json(self.request("GET", target, params=params))

    @staticmethod
    def json(response: httpx.Response) -> JSON:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            request = response.request
            endpoint = endpoint_key(request.method, request.url.path)
            raise ZendeskError(
                f"Zendesk answered {response.status_code} to {endpoint} with something that is "
                f"not a JSON object ({response.headers.get('content-type')}).",
                status=response.status_code, method=request.method, endpoint=endpoint,
                hint="Check that the configured URL is a Zendesk account.",
            )
        return body

    # -- reads -------------------------------------------------------------------------------

    def me(self) -> JSON:
        """The user the token acts as (`id` is null when Zendesk did not accept it)."""
        user = self.get_json("/api/v2/users/me.json")["user"]
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            self._me_id = user["id"]
        return dict(user) if isinstance(user, dict) else {}

    def me_id(self) -> int | None:
        if self._me_id is None:
            self.me()
        return self._me_id

    def get_ticket(self, ticket_id: int) -> JSON:
        response = self.request("GET", f"/api/v2/tickets/{ticket_id}.json", ticket_id=ticket_id)
        ticket: JSON = self.json(response)["ticket"]
        return ticket

    def show_many(self, ids: Iterable[int]) -> list[JSON]:
        """Tickets by id, 100 per call; ids Zendesk does not have are simply absent."""
        return self._show_many("/api/v2/tickets/show_many.json", "tickets", ids)

    def users_show_many(self, ids: Iterable[int]) -> list[JSON]:
        return self._show_many("/api/v2/users/show_many.json", "users", ids)

    def _show_many(self, path: str, key: str, ids: Iterable[int]) -> list[JSON]:
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found: list[JSON] = []
        for start in range(0, len(wanted), SHOW_MANY_MAX):
            chunk = ",".join(str(i) for i in wanted[start:start + SHOW_MANY_MAX])
            found.extend(self.get_json(path, {"ids": chunk}).get(key) or [])
        return found

    def search_export(self, query: str, *, object_type: str = "ticket",
                      page_size: int = 1000) -> Iterator[JSON]:
        """Every match of a search (tickets by default), never capped at 1,000."""
        return paging.search_export(self.get_json, query, object_type=object_type,
                                    page_size=page_size)

    def search_count(self, query: str, *, object_type: str = "ticket") -> int:
        q = f"type:{object_type} {paging.strip_type(query)}".strip()
        count = self.get_json("/api/v2/search/count.json", {"query": q}).get("count")
        if not isinstance(count, int):
            raise ZendeskError("Zendesk's search count answer has no count.",
                               method="GET", endpoint="GET /api/v2/search/count")
        return count

    def audits(self, ticket_id: int) -> list[JSON]:
        return list(paging.iter_cursor(self.get_json, f"/api/v2/tickets/{ticket_id}/audits.json",
                                       "audits"))

    def groups(self) -> list[JSON]:
        return list(paging.iter_cursor(self.get_json, "/api/v2/groups.json", "groups"))

    def ticket_fields(self) -> list[JSON]:
        return list(paging.iter_cursor(self.get_json, "/api/v2/ticket_fields.json",
                                       "ticket_fields"))

    def organizations(self) -> list[JSON]:
        """Every organization, cursor paged; an account may have thousands: prefer the lookups."""
        return list(paging.iter_cursor(self.get_json, "/api/v2/organizations.json",
                                       "organizations"))

    def organization(self, organization_id: int) -> JSON:
        """One organization; ZendeskNotFoundError if Zendesk has none with this id."""
        found: JSON = self.get_json(f"/api/v2/organizations/{organization_id}.json")[
            "organization"]
        return found

    def organizations_show_many(self, ids: Iterable[int]) -> list[JSON]:
        """Organizations by id, 100 per call; ids Zendesk does not have are simply absent."""
        return self._show_many("/api/v2/organizations/show_many.json", "organizations", ids)

    def organizations_named(self, name: str) -> list[JSON]:
        """Organizations whose name is `name`, case-insensitively (Zendesk keeps names unique).

        organizations/search?name= matches exactly in one call, but Zendesk allows it only to
        admins (and custom roles that manage organizations): a plain agent's token gets 403.
        Then autocomplete, which agents may use, lists the names starting with `name` and the
        exact ones are kept; the 403 is remembered so later names skip straight to it.
        """
        wanted = name.strip()
        if not wanted:
            return []  # both endpoints refuse an empty name with 400; no organization has one
        if not self._organization_search_forbidden:
            try:
                found = paging.iter_offset(self.get_json, "/api/v2/organizations/search.json",
                                           "organizations", params={"name": wanted})
                return [o for o in found if _same_name(o, wanted)]
            except ZendeskForbiddenError:
                self._organization_search_forbidden = True
        started = paging.iter_offset(self.get_json, "/api/v2/organizations/autocomplete.json",
                                     "organizations", params={"name": wanted})
        return [o for o in started if _same_name(o, wanted)]

    def brands(self) -> list[JSON]:
        """Every brand (an account has a handful), cursor paged."""
        return list(paging.iter_cursor(self.get_json, "/api/v2/brands.json", "brands"))

    def brand(self, brand_id: int) -> JSON:
        """One brand; ZendeskNotFoundError if Zendesk has none with this id."""
        found: JSON = self.get_json(f"/api/v2/brands/{brand_id}.json")["brand"]
        return found

    def user_by_email(self, email: str) -> JSON | None:
        """The user with exactly this email (case-insensitive), or None."""
        wanted = email.strip().lower()
        users = paging.iter_offset(self.get_json, "/api/v2/users/search.json", "users",
                                   params={"query": f"email:{email.strip()}"})
        for user in users:
            if str(user.get("email") or "").lower() == wanted:
                return user
        return None

    def job_status(self, job_id: str) -> JSON:
        status: JSON = self.get_json(f"/api/v2/job_statuses/{job_id}.json")["job_status"]
        return status

    def job_statuses(self, job_ids: Sequence[str]) -> dict[str, JSON]:
        """The statuses of up to 100 jobs in one call, by id; an expired job is absent."""
        if len(job_ids) == 1:
            try:
                return {job_ids[0]: self.job_status(job_ids[0])}
            except ZendeskNotFoundError:
                return {}
        found = self.get_json(
            "/api/v2/job_statuses/show_many.json", {"ids": ",".join(job_ids)}
        ).get("job_statuses")
        return {
            str(status["id"]): status
            for status in (found if isinstance(found, list) else [])
            if isinstance(status, dict) and status.get("id")
        }

    # -- writes ------------------------------------------------------------------------------

    def update_ticket(self, ticket_id: int, changes: dict[str, Any], *,
                      updated_stamp: str | None) -> JSON:
        """Update one ticket and return it as Zendesk has it afterwards.

        With `updated_stamp` the update is a safe update: if the ticket changed since, Zendesk
        applies nothing and this raises ZendeskCollisionError. If the answer is lost, the
        ticket is read again before anything is resent: unchanged since the stamp means it was
        not applied (resend); our change visible means it was (return the ticket); anything
        else is someone else's edit (collision). Without a stamp, a comment that is not visible
        is not resent (WriteOutcomeUnknown): nothing would stop it from appearing twice.
        """
        body = dict(changes)
        if updated_stamp is not None:
            body.update(safe_update=True, updated_stamp=updated_stamp)
        path = f"/api/v2/tickets/{ticket_id}.json"
        attempt = 0
        while True:
            try:
                response = self.request("PUT", path, json={"ticket": body}, ticket_id=ticket_id)
                ticket: JSON = self.json(response)["ticket"]
                return ticket
            except WriteOutcomeUnknown as lost:
                current = self.get_ticket(ticket_id)
                if self.landed(current, changes, updated_stamp):
                    return current
                moved = updated_stamp is not None and current.get("updated_at") != updated_stamp
                if moved:
                    raise ZendeskCollisionError(
                        f"ticket #{ticket_id}: the answer to our update was lost, and the ticket "
                        f"changed after {updated_stamp} without our change: someone else "
                        "edited it.",
                        status=409, method="PUT", endpoint=lost.endpoint, ticket_id=ticket_id,
                        hint="Run `zdops plan` again to see the ticket as it is now.",
                    ) from None
                if not resend_is_safe(changes, updated_stamp, current):
                    raise lost from None
                attempt += 1
                if attempt > self.retry.retries:
                    raise lost.cause from None
                self.stats.retries += 1
                self.sleep(self.retry.backoff(attempt - 1, self._rng))

    def landed(self, ticket: JSON, changes: dict[str, Any], updated_stamp: str | None) -> bool:
        """Whether `changes` are visible on `ticket` (re-read after a lost answer)."""
        if not fields_match(ticket, changes):
            return False
        comment = changes.get("comment")
        needs_audit = isinstance(comment, dict) or bool(unverifiable_keys(ticket, changes))
        if not needs_audit:
            return True
        if updated_stamp is not None and ticket.get("updated_at") == updated_stamp:
            return False
        me = self.me_id()
        if me is None:
            return False
        return our_audit_since(self.audits(int(ticket["id"])), me, updated_stamp,
                               comment if isinstance(comment, dict) else None)

    def update_many(self, updates: Sequence[TicketUpdate]) -> BulkUpdate:
        """Apply many updates as background jobs; iterate the run for each ticket's outcome."""
        return BulkUpdate(self, updates)


def _same_name(record: JSON, name: str) -> bool:
    return str(record.get("name") or "").strip().casefold() == name.casefold()
