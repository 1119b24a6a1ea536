"""Zendesk's error bodies, turned into `runner.errors.Zendesk*Error` with a hint.

Zendesk answers errors in several envelopes (reference section 7); all are read here:
`{"error": "Code", "description": ".."}` (with `details` for RecordInvalid),
`{"error": {"title": "..", "message": ".."}}`, `{"errors": [{"code", "title", "detail"}]}`,
OAuth's `{"error": "invalid_token", "error_description": ".."}`, a bare `{"error": ".."}`, and
text/plain (429s, proxies). The message quotes Zendesk's own words; it never quotes headers.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from runner.errors import (
    ZendeskAuthError,
    ZendeskCollisionError,
    ZendeskError,
    ZendeskForbiddenError,
    ZendeskInvalidError,
    ZendeskNotFoundError,
    ZendeskRateLimitError,
    ZendeskServerError,
)

_MAX_TEXT = 300

_CLASSES: dict[int, type[ZendeskError]] = {
    400: ZendeskInvalidError,
    401: ZendeskAuthError,
    403: ZendeskForbiddenError,
    404: ZendeskNotFoundError,
    409: ZendeskCollisionError,
    413: ZendeskInvalidError,
    422: ZendeskInvalidError,
    429: ZendeskRateLimitError,
}


class WriteOutcomeUnknown(ZendeskError):
    """A write was sent but its answer was lost (dropped connection, timeout, 5xx).

    Whether Zendesk applied it is unknown; the caller must look for its effect before sending
    it again. `cause` is the error that hid the answer.
    """

    def __init__(self, message: str, *, cause: ZendeskError, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.cause = cause


def _describe_details(details: Any) -> str:
    """RecordInvalid's `details` map (field -> [{description}]) as one sentence."""
    if not isinstance(details, dict):
        return ""
    parts: list[str] = []
    for field, entries in details.items():
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, dict):
                text = entry.get("description") or entry.get("error") or ""
            else:
                text = str(entry)
            if text:
                parts.append(str(text) if str(text).lower().startswith(field.lower())
                             else f"{field}: {text}")
    return "; ".join(parts)


def parse_error_body(response: httpx.Response) -> tuple[str | None, str, Any]:
    """(code, Zendesk's message, details) from any of Zendesk's error envelopes."""
    text = response.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        message = text[:_MAX_TEXT] + ("..." if len(text) > _MAX_TEXT else "")
        return None, message or response.reason_phrase or "no message", None
    error = body.get("error")
    details = body.get("details")
    if isinstance(error, dict):
        code = error.get("title") or error.get("code")
        message = error.get("message") or error.get("description") or code or ""
        return _str(code), str(message), details
    if isinstance(body.get("errors"), list):
        items = [e for e in body["errors"] if isinstance(e, dict)]
        code = next((str(e["code"]) for e in items if e.get("code")), None)
        messages = [str(e.get("detail") or e.get("title") or e.get("code") or "") for e in items]
        return code, "; ".join(m for m in messages if m) or (code or ""), body["errors"]
    description = body.get("description") or body.get("error_description") or body.get("message")
    specifics = _describe_details(details)
    if isinstance(error, str) and not description:
        return error, error, details
    message = str(description or "")
    if specifics:
        message = f"{message}: {specifics}" if message else specifics
    return _str(error), message or text[:_MAX_TEXT], details


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _hint(status: int, code: str | None, message: str) -> str | None:
    lowered = message.lower()
    if status == 401:
        return ("Check the token's key and email (for an API token Zendesk needs the email of "
                "an active agent), then run `zdops tokens verify`.")
    if status == 403:
        if "scope" in lowered:
            return "Give the OAuth token the scopes named above (e.g. read, write)."
        return ("The token's user lacks the role or permission for this; use an agent or admin "
                "token, or ask the account owner.")
    if status == 404:
        if code == "InvalidEndpoint":
            return "This endpoint is not available on the account's plan."
        return "It may have been deleted, or the token's user cannot see it."
    if status == 409:
        return ("Someone changed the ticket after it was read; run `zdops plan` again to see "
                "the current state.")
    if status == 422 and "closed prevents ticket update" in lowered:
        return "Closed tickets cannot be updated; leave them out (e.g. add status<closed)."
    if status == 422 and "search response limits" in lowered:
        return "Search stops at 1,000 results; the client pages with search export instead."
    if status in (400, 413, 422):
        return "Zendesk rejected the request as sent; fix the value named above."
    if status == 429:
        return ("The account's API rate limit was reached (it is shared by every integration "
                "on the account); run again later or raise --max-wait.")
    if status >= 500:
        return "Zendesk had a problem; run again later (status.zendesk.com shows incidents)."
    return None


def error_from_response(
    response: httpx.Response,
    *,
    method: str,
    endpoint: str,
    ticket_id: int | None = None,
) -> ZendeskError:
    """The typed error for a failed answer, naming what was asked and what Zendesk said."""
    status = response.status_code
    code, message, details = parse_error_body(response)
    cls = _CLASSES.get(status, ZendeskServerError if status >= 500 else ZendeskError)
    subject = f"ticket #{ticket_id}: " if ticket_id is not None else ""
    said = f"{code}: {message}" if code and code not in message else message
    text = f"{subject}Zendesk answered {status} to {endpoint}: {said}"  # endpoint: "GET /api/..."
    return cls(
        text.rstrip(": "),
        status=status,
        method=method,
        endpoint=endpoint,
        code=code,
        details=details,
        ticket_id=ticket_id,
        hint=_hint(status, code, message),
    )
