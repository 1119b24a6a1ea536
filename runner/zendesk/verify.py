"""Did our update land? Used when the answer to a write was lost and before any resend.

A ticket update is checked against the ticket as it is now (each field we set has our value,
each tag we added is there and each we removed is gone) and, for a comment, against the
ticket's audits: an audit by our own user, made since the `updated_stamp` we sent, holding a
Comment event with our text. Keys that the ticket does not echo back (write-only ones such as
`metadata`) are accepted only with such an audit of ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

JSON = dict[str, Any]

_CONTROL_KEYS = frozenset({"safe_update", "updated_stamp", "id"})
_CHECKED_KEYS = frozenset({"comment", "additional_tags", "remove_tags", "tags", "custom_fields"})


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def fields_match(ticket: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    """Whether every field the changes set already holds its value in `ticket`."""
    tags = {str(tag) for tag in ticket.get("tags") or []}
    for key, wanted in changes.items():
        if key in _CONTROL_KEYS or key == "comment":
            continue
        if key == "additional_tags":
            if not set(map(str, wanted)) <= tags:
                return False
        elif key == "remove_tags":
            if set(map(str, wanted)) & tags:
                return False
        elif key == "tags":
            if set(map(str, wanted)) != tags:
                return False
        elif key == "custom_fields":
            current = {f.get("id"): f.get("value") for f in ticket.get("custom_fields") or []}
            if any(current.get(f.get("id")) != f.get("value") for f in wanted):
                return False
        elif key in ticket and ticket[key] != wanted:
            return False
    return True


def unverifiable_keys(ticket: Mapping[str, Any], changes: Mapping[str, Any]) -> set[str]:
    """Keys of the changes that the ticket itself cannot confirm."""
    return {k for k in changes
            if k not in ticket and k not in _CONTROL_KEYS and k not in _CHECKED_KEYS}


def resend_is_safe(changes: Mapping[str, Any], updated_stamp: str | None,
                   ticket: Mapping[str, Any] | None) -> bool:
    """Whether sending `changes` again, after an answer was lost and the change is not visible
    on `ticket`, cannot apply them twice.

    A safe update cannot: Zendesk refuses a second copy once the first moved the ticket on.
    Without a stamp, a lost first copy may still be in flight when the ticket is read, so only
    changes that are the same however often they land (no comment, nothing unverifiable) go again.
    """
    if updated_stamp is not None:
        return True
    return "comment" not in changes and not unverifiable_keys(ticket or {}, changes)


def _comment_matches(event: Mapping[str, Any], comment: Mapping[str, Any]) -> bool:
    ours = _text(comment.get("body") or comment.get("html_body"))
    texts = {_text(event.get(k)) for k in ("body", "plain_body", "html_body")}
    if ours not in texts and not any(ours and ours in t for t in texts):
        return False
    return "public" not in comment or bool(event.get("public")) == bool(comment["public"])


def our_audit_since(audits: Iterable[Mapping[str, Any]], author_id: int,
                    since: str | None, comment: Mapping[str, Any] | None) -> bool:
    """Whether an audit by `author_id` since `since` exists (with `comment`, if given)."""
    floor = _when(since)
    for audit in audits:
        if audit.get("author_id") != author_id:
            continue
        created = _when(audit.get("created_at"))
        if floor is not None and created is not None and created < floor:
            continue
        if comment is None:
            return True
        events = audit.get("events") or []
        if any(e.get("type") == "Comment" and _comment_matches(e, comment) for e in events):
            return True
    return False
