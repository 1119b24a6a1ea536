"""The search vocabulary: keywords, the ticket attribute each reads, and the values they take."""

from __future__ import annotations

import re

STATUSES: tuple[str, ...] = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
TICKET_TYPES: tuple[str, ...] = ("question", "incident", "problem", "task")
OBJECT_TYPES: tuple[str, ...] = ("ticket", "user", "organization", "group")
# order_by value -> canonical sort field; the `_at` forms are what the API's sort_by takes.
ORDER_FIELDS: dict[str, str] = {
    "created": "created",
    "created_at": "created",
    "updated": "updated",
    "updated_at": "updated",
    "commented": "commented",
    "priority": "priority",
    "status": "status",
    "ticket_type": "ticket_type",
}
SORT_ORDERS: tuple[str, ...] = ("asc", "desc")

# keyword -> the ticket attribute it reads (Term.field)
FIELDS: dict[str, str] = {
    "status": "status",
    "priority": "priority",
    "ticket_type": "type",
    "tags": "tags",
    "assignee": "assignee_id",
    "requester": "requester_id",
    "submitter": "submitter_id",
    "group": "group_id",
    "organization": "organization_id",
    "brand": "brand_id",
    "via": "via",
    "subject": "subject",
    "description": "description",
    "created": "created_at",
    "updated": "updated_at",
    "solved": "solved_at",
    "due_date": "due_at",
    "id": "id",
    "text": "text",
}
USER_KEYWORDS = frozenset({"assignee", "requester", "submitter"})
NAMED_KEYWORDS = frozenset({"group", "organization", "brand"})
DATE_KEYWORDS = frozenset({"created", "updated", "solved", "due_date"})
NONE_KEYWORDS = frozenset({"assignee", "group", "organization", "tags", "via"})
WILDCARD_KEYWORDS = frozenset({"subject", "description", "tags"})  # and custom fields
ORDERED_KEYWORDS = frozenset({"status", "priority"}) | DATE_KEYWORDS  # and custom fields
CONTROL_KEYWORDS = frozenset({"type", "order_by", "sort"})
CUSTOM_PREFIX = "custom_field_"
# Real Zendesk keywords that zdops does not evaluate: most need data a ticket's JSON does not
# carry (comments, form names, attachments); rejecting them by name beats matching by guess.
UNSUPPORTED_KEYWORDS = frozenset(
    {
        "commenter",
        "cc",
        "comment",
        "form",
        "recipient",
        "has_attachment",
        "custom_status_id",
        "fieldvalue",
        "satisfaction",
        "support_type",
    }
)
KNOWN_KEYWORDS: tuple[str, ...] = (
    *sorted(k for k in FIELDS if k not in ("id", "text")),
    "custom_field_<id>",
    *sorted(CONTROL_KEYWORDS),
)

VIA_ALIASES = {"mail": "email"}  # Zendesk search calls the email channel `mail`

# value shapes that both the parser and the matcher read
NUMBER_RE = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)
MAX_ID_DIGITS = 19  # Zendesk ids are 64-bit; longer digit strings name nothing
