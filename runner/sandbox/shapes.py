"""The JSON shapes Zendesk answers with (keys and key order as in the recorded responses)."""

from __future__ import annotations

import time
from typing import Any

from runner.sandbox.models import (
    CUSTOM_STATUS_ID_BASE,
    STATUSES,
    TICKET_FORM_ID,
    Brand,
    Group,
    Organization,
    TicketField,
    User,
)

API_VIA: dict[str, Any] = {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def custom_status_id(status: str) -> int:
    return CUSTOM_STATUS_ID_BASE + STATUSES.index(status)


def via(channel: str) -> dict[str, Any]:
    return {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}}


def ticket_json(data: dict[str, Any], base_url: str, *, fresh: bool = False) -> dict[str, Any]:
    """The API form of a stored ticket: `url` first, and a private copy of mutable values.

    `fresh`: `data` was built for this answer alone (a seeded ticket read from the columns),
    so nothing else can change it and the copy is skipped: it costs more than building the
    ticket did (~28 ms for a page of 1,000).
    """
    out: dict[str, Any] = {"url": f"{base_url}/api/v2/tickets/{data['id']}.json"}
    if fresh:
        out.update(data)
        return out
    for key, value in data.items():
        if isinstance(value, list):
            value = [dict(item) if isinstance(item, dict) else item for item in value]
            if key in ("custom_fields", "fields"):
                value = [
                    {**item, "value": list(item["value"])}
                    if isinstance(item.get("value"), list)
                    else item
                    for item in value
                ]
        elif isinstance(value, dict):
            value = dict(value)
        out[key] = value
    return out


def new_ticket_data(
    *,
    ticket_id: int,
    created: int,
    updated: int,
    kind: str | None,
    subject: str,
    description: str,
    priority: str | None,
    status: str,
    requester_id: int,
    assignee_id: int | None,
    organization_id: int | None,
    brand_id: int,
    group_id: int | None,
    tags: list[str],
    custom_fields: list[dict[str, Any]],
    channel: str,
) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "external_id": None,
        "via": via(channel),
        "created_at": iso(created),
        "updated_at": iso(updated),
        "generated_timestamp": updated,
        "type": kind,
        "subject": subject,
        "raw_subject": subject,
        "description": description,
        "priority": priority,
        "status": status,
        "recipient": None,
        "requester_id": requester_id,
        "submitter_id": requester_id,
        "assignee_id": assignee_id,
        "organization_id": organization_id,
        "group_id": group_id,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": tags,
        "custom_fields": custom_fields,
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "custom_status_id": custom_status_id(status),
        "fields": [dict(item) for item in custom_fields],
        "followup_ids": [],
        "ticket_form_id": TICKET_FORM_ID,
        "brand_id": brand_id,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }


def user_json(user: User, base_url: str) -> dict[str, Any]:
    return {
        "id": user.id,
        "url": f"{base_url}/api/v2/users/{user.id}.json",
        "name": user.name,
        "email": user.email,
        "created_at": iso(user.created),
        "updated_at": iso(user.created),
        "time_zone": "UTC",
        "iana_time_zone": "Etc/UTC",
        "phone": None,
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": user.organization_id,
        "role": user.role,
        "verified": True,
        "external_id": None,
        "tags": [],
        "alias": None,
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": iso(user.created) if user.is_agent else None,
        "two_factor_auth_enabled": None,
        "signature": None,
        "details": None,
        "notes": None,
        "role_type": user.role_type,
        "custom_role_id": None,
        "moderator": user.role == "admin",
        "ticket_restriction": None if user.is_agent else "requested",
        "only_private_comments": user.is_light_agent,
        "restricted_agent": False,
        "suspended": user.suspended,
        "default_group_id": user.default_group_id,
        "report_csv": user.role == "admin",
        "user_fields": {},
    }


def anonymous_user_json() -> dict[str, Any]:
    return {
        "id": None,
        "url": None,
        "name": "Anonymous user",
        "email": "invalid@example.com",
        "created_at": None,
        "updated_at": None,
        "time_zone": "UTC",
        "iana_time_zone": "Etc/UTC",
        "phone": None,
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": None,
        "role": "end-user",
        "verified": False,
        "external_id": None,
        "tags": [],
        "alias": None,
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "signature": None,
        "details": None,
        "notes": None,
        "role_type": None,
        "custom_role_id": None,
        "moderator": False,
        "ticket_restriction": "requested",
        "only_private_comments": False,
        "restricted_agent": True,
        "suspended": False,
        "default_group_id": None,
        "user_fields": {},
    }


def group_json(group: Group, base_url: str) -> dict[str, Any]:
    return {
        "url": f"{base_url}/api/v2/groups/{group.id}.json",
        "id": group.id,
        "is_public": True,
        "name": group.name,
        "description": group.description,
        "default": group.default,
        "deleted": False,
        "created_at": iso(group.created),
        "updated_at": iso(group.created),
    }


def organization_json(org: Organization, base_url: str) -> dict[str, Any]:
    return {
        "url": f"{base_url}/api/v2/organizations/{org.id}.json",
        "id": org.id,
        "name": org.name,
        "shared_tickets": False,
        "shared_comments": False,
        "external_id": None,
        "created_at": iso(org.created),
        "updated_at": iso(org.created),
        "domain_names": [],
        "details": "",
        "notes": "",
        "group_id": None,
        "tags": [],
        "organization_fields": {},
    }


def brand_json(brand: Brand, base_url: str) -> dict[str, Any]:
    return {
        "url": f"{base_url}/api/v2/brands/{brand.id}.json",
        "id": brand.id,
        "name": brand.name,
        "brand_url": f"https://{brand.subdomain}.zendesk.com",
        "subdomain": brand.subdomain,
        "host_mapping": None,
        "has_help_center": False,
        "help_center_state": "disabled",
        "active": True,
        "default": brand.default,
        "is_deleted": False,
        "logo": None,
        "ticket_form_ids": [TICKET_FORM_ID],
        "signature_template": "{{agent.signature}}",
        "created_at": iso(brand.created),
        "updated_at": iso(brand.created),
    }


def ticket_field_json(field: TicketField, base_url: str) -> dict[str, Any]:
    options = [
        {"id": o.id, "name": o.name, "raw_name": o.name, "value": o.value, "default": False}
        for o in field.options
    ]
    out: dict[str, Any] = {
        "url": f"{base_url}/api/v2/ticket_fields/{field.id}.json",
        "id": field.id,
        "type": field.type,
        "title": field.title,
        "raw_title": field.title,
        "description": "",
        "raw_description": "",
        "position": field.position,
        "active": True,
        "required": field.required,
        "collapsed_for_agents": False,
        "regexp_for_validation": None,
        "title_in_portal": field.title,
        "raw_title_in_portal": field.title,
        "visible_in_portal": not field.is_custom,
        "editable_in_portal": False,
        "required_in_portal": False,
        "tag": field.tag,
        "created_at": iso(field.created),
        "updated_at": iso(field.created),
        "removable": field.removable,
        "key": None,
        "agent_description": None,
    }
    if field.type in ("tagger", "multiselect"):
        out["custom_field_options"] = options
    if field.type == "status":
        out["system_field_options"] = [
            {"name": s.capitalize(), "value": s} for s in STATUSES if s != "closed"
        ]
    return out


def comment_event(
    event_id: int, audit_id: int, author_id: int, body: str, public: bool
) -> dict[str, Any]:
    escaped = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    paragraphs = "".join(f'<p dir="auto">{line}</p>' for line in escaped.split("\n"))
    return {
        "id": event_id,
        "type": "Comment",
        "author_id": author_id,
        "body": body,
        "html_body": f'<div class="zd-comment" dir="auto">{paragraphs}</div>',
        "plain_body": body,
        "public": public,
        "attachments": [],
        "audit_id": audit_id,
    }


def event_value(value: Any) -> Any:
    """Audit events carry ids (and other scalars) as strings, lists as lists, null as null."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def job_status_json(job: dict[str, Any], base_url: str) -> dict[str, Any]:
    return {
        "id": job["id"],
        "url": f"{base_url}/api/v2/job_statuses/{job['id']}.json",
        "total": job["total"],
        "progress": job["progress"],
        "status": job["status"],
        "message": job["message"],
        "results": [dict(r) for r in job["results"]] if job["results"] is not None else None,
        "job_type": job["job_type"],
    }
