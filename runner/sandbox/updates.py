"""Updating one ticket as Zendesk does: validation, system rules, collision check, audit.

Rules emulated (zendesk-api.md 2.3): closed tickets refuse every update (422); safe_update with
a stale updated_stamp is a 409 that changes nothing; status cannot go back to new; priority
cannot be reset to null; solving needs an assignee; assigning a new ticket opens it; tags
replace, additional_tags/remove_tags add and remove, and dropdown/multiselect/checkbox fields
follow their tags both ways; `updated_at` moves only when an event was recorded. Light agents
may add internal notes and nothing else.

The tag/field rule is written here apart from the engine's simulation of it
(runner.engine.tagfields) on purpose: the sandbox stands in for Zendesk, and an emulator that
shared the engine's code would agree with the engine's mistakes instead of exposing them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runner.sandbox.models import PRIORITIES, STATUSES, TYPES, TicketField, User
from runner.sandbox.replies import ApiError, forbidden, record_invalid
from runner.sandbox.shapes import comment_event, custom_status_id, event_value, iso
from runner.sandbox.store import Store

CLOSED_DETAILS = {"status": [{"description": "Status: closed prevents ticket update"}]}
MAX_COMMENT_CHARS = 65_536


def parse_stamp(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def normalise_tags(value: Any) -> list[str] | None:
    """Tags as Zendesk stores them: lower case, split on spaces, no duplicates; None if bad."""
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return None
    tags: list[str] = []
    for raw in value:
        for tag in raw.lower().split():
            if tag not in tags:
                tags.append(tag)
    return tags


def conflict() -> ApiError:
    return ApiError(
        409,
        {
            "error": "UpdateConflict",
            "description": "Safe Update prevented the update due to outdated ticket data. "
            "Please fetch the latest ticket data and try again.",
        },
    )


def check_stamp(
    store: Store, ticket_id: int, body: dict[str, Any], fallback_stamp: int | None = None
) -> None:
    """Raise 409 if a safe update's stamp is older than the ticket's last change."""
    stamp = fallback_stamp
    if body.get("safe_update") is not None:
        stamp = parse_stamp(body.get("updated_stamp"))
        if stamp is None:
            raise record_invalid(
                {
                    "updated_stamp": [
                        {
                            "description": "Updated stamp: a safe update needs the "
                            "updated_at you read, as an ISO-8601 time",
                            "error": "InvalidValue",
                        }
                    ]
                }
            )
    if stamp is not None and store.updated_ts(ticket_id) > stamp:
        raise conflict()


def apply_update(
    store: Store,
    ticket_id: int,
    body: dict[str, Any],
    actor: User,
    *,
    client: str = "",
    ip: str = "127.0.0.1",
    fallback_stamp: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply `body` (the inside of {"ticket": ...}) as `actor`; caller holds store.lock.

    Returns the stored ticket and the audit (an unrecorded empty one for a no-op update).
    """
    current = store.ticket_data(ticket_id)
    if current is None:
        raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
    if current["status"] == "closed":
        raise record_invalid(CLOSED_DETAILS)
    check_stamp(store, ticket_id, body, fallback_stamp)

    wanted, comment, errors = _read_changes(store, current, body)
    if errors:
        raise record_invalid(errors)
    tags = _sync_tags(store, current, wanted, body)
    if actor.is_light_agent and (
        wanted or tags is not None or (comment is not None and comment[1])
    ):
        raise forbidden()

    if current["status"] == "new" and wanted.get("assignee_id") and "status" not in wanted:
        wanted["status"] = "open"
    status = wanted.get("status", current["status"])
    assignee = wanted.get("assignee_id", current["assignee_id"])
    if status in ("solved", "closed"):
        missing = _missing_for_solve(store, current, wanted, assignee)
        if missing:
            raise record_invalid({"base": missing})

    events: list[dict[str, Any]] = []
    for name, value in wanted.items():
        if name == "custom_fields":
            continue
        previous = current[name]
        if value != previous:
            events.append(
                {
                    "type": "Change",
                    "value": event_value(value),
                    "field_name": name,
                    "previous_value": event_value(previous),
                }
            )
    for field_id, value in wanted.get("custom_fields", {}).items():
        previous = next(f["value"] for f in current["custom_fields"] if f["id"] == field_id)
        if value != previous:
            events.append(
                {
                    "type": "Change",
                    "value": event_value(value),
                    "field_name": str(field_id),
                    "previous_value": event_value(previous),
                }
            )
    if tags is not None:
        events.append(
            {
                "type": "Change",
                "value": tags,
                "field_name": "tags",
                "previous_value": list(current["tags"]),
            }
        )
    if comment is not None:
        text, public = comment
        events.append(comment_event(0, 0, actor.id, text, public))

    if not events:
        empty = {
            "id": store.new_audit_id(),
            "ticket_id": ticket_id,
            "created_at": current["updated_at"],
            "author_id": actor.id,
            "metadata": {"system": {}, "custom": {}},
            "events": [],
            "via": current["via"],
        }
        return current, empty

    current_status = current["status"]
    ticket = store.writable(ticket_id)
    for event in events:
        if event["type"] == "Comment":
            continue
        name = event["field_name"]
        if name == "tags":
            ticket["tags"] = list(event["value"])
        elif name.isdigit():
            _set_custom(ticket, int(name), wanted["custom_fields"][int(name)])
        else:
            ticket[name] = wanted[name]
            if name == "subject":
                ticket["raw_subject"] = wanted[name]
            if name == "status":
                ticket["custom_status_id"] = custom_status_id(wanted[name])
    # Strictly increasing per ticket: a safe_update stamp must tell two writes apart even
    # when they land in the same second.
    now = max(int(store.clock()), int(ticket["generated_timestamp"]) + 1)
    ticket["updated_at"] = iso(now)
    ticket["generated_timestamp"] = now
    if "status" in wanted and wanted["status"] == "solved" and current_status != "solved":
        store.mark_solved(ticket_id, now)
    metadata = body.get("metadata")
    audit = store.record_audit(
        ticket_id,
        actor.id,
        events,
        now,
        client=client,
        ip=ip,
        custom=metadata if isinstance(metadata, dict) else None,
    )
    return ticket, audit


def _set_custom(ticket: dict[str, Any], field_id: int, value: Any) -> None:
    for key in ("custom_fields", "fields"):
        for item in ticket[key]:
            if item["id"] == field_id:
                item["value"] = list(value) if isinstance(value, list) else value


def _sync_tags(
    store: Store, current: dict[str, Any], wanted: dict[str, Any], body: dict[str, Any]
) -> list[str] | None:
    """The ticket's new tags (None if unchanged), keeping tag-backed fields in step.

    Zendesk links dropdown, multiselect and checkbox fields to tags both ways: setting a field
    puts its option's tag on the ticket and takes its other options' tags off; adding an
    option's tag picks that option, removing it clears the field (a multiselect per option,
    a checkbox unticks). Field values that follow from the tags are added to
    wanted["custom_fields"], so they are validated, audited and stored like explicit ones.
    """
    before: list[str] = current["tags"]
    tags = list(before)
    if "tags" in body:
        tags = normalise_tags(body["tags"]) or []
    for tag in normalise_tags(body.get("additional_tags")) or []:
        if tag not in tags:
            tags.append(tag)
    remove = set(normalise_tags(body.get("remove_tags")) or [])
    tags = [t for t in tags if t not in remove]
    explicit: dict[int, Any] = wanted.get("custom_fields", {})
    # An explicit value wins over tags sent in the same update.
    for field_id, value in explicit.items():
        field = store.fields_by_id[field_id]
        owned = _field_tags(field)
        tags = [t for t in tags if t not in owned]
        tags += [t for t in _value_tags(field, value) if t not in tags]
    if tags != before:
        old_values = {f["id"]: f["value"] for f in current["custom_fields"]}
        derived: dict[int, Any] = {}
        for field in store.custom_fields:
            if field.id in explicit or not _field_tags(field):
                continue
            old = old_values.get(field.id)
            value = _value_from_tags(field, old, tags, before)
            if field.type == "tagger":
                # one option at a time: the chosen option's tag stays, the others go
                tags = [t for t in tags if t == value or t not in _field_tags(field)]
            if value != old:
                derived[field.id] = value
        if derived:
            wanted["custom_fields"] = {**explicit, **derived}
    return None if tags == before else tags


def _field_tags(field: TicketField) -> frozenset[str]:
    """Every tag a field's values can put on a ticket."""
    if field.type == "checkbox":
        return frozenset([field.tag]) if field.tag else frozenset()
    if field.type in ("tagger", "multiselect"):
        return field.option_values()
    return frozenset()


def _value_from_tags(field: TicketField, old: Any, tags: list[str], before: list[str]) -> Any:
    """A tag-backed field's value once the ticket has `tags` (it had `before`)."""
    if field.type == "checkbox":
        ticked = field.tag in tags
        return old if ticked == bool(old) else ticked
    options = [o.value for o in field.options]
    if field.type == "multiselect":
        # kept options stay in the order the value had, so an unrelated tag change is no change
        kept = [o for o in old or [] if o in tags]
        return kept + [o for o in options if o in tags and o not in kept] or None
    added = [t for t in tags if t in options and t not in before]
    if added:
        return added[-1]  # the last one named wins, as a later write would
    return old if old in tags else None


def _value_tags(field: TicketField, value: Any) -> list[str]:
    if field.type == "checkbox":
        return [field.tag] if value and field.tag else []
    if field.type == "tagger" and isinstance(value, str):
        return [value]
    if field.type == "multiselect" and isinstance(value, list):
        return list(value)
    return []


def _missing_for_solve(
    store: Store, current: dict[str, Any], wanted: dict[str, Any], assignee: int | None
) -> list[dict[str, Any]]:
    missing = []
    for field in store.fields:
        if not field.required:
            continue
        if field.type == "assignee":
            empty = assignee is None
        else:
            value = wanted.get("custom_fields", {}).get(
                field.id,
                next((f["value"] for f in current["custom_fields"] if f["id"] == field.id), None),
            )
            empty = value in (None, "", [], False)
        if empty:
            missing.append(
                {
                    "description": f"{field.title}: is required when solving a ticket",
                    "error": None,
                    "ticket_field_id": field.id,
                    "ticket_field_type": "Field" + field.type.capitalize(),
                }
            )
    return missing


def _invalid(errors: dict[str, list[dict[str, Any]]], key: str, message: str) -> None:
    errors.setdefault(key, []).append({"description": message, "error": "InvalidValue"})


def _read_changes(
    store: Store, current: dict[str, Any], body: dict[str, Any]
) -> tuple[dict[str, Any], tuple[str, bool] | None, dict[str, list[dict[str, Any]]]]:
    """Validated field changes (name -> value), the comment, and validation errors."""
    wanted: dict[str, Any] = {}
    errors: dict[str, list[dict[str, Any]]] = {}
    if "status" in body:
        status = body["status"]
        if status not in STATUSES:
            _invalid(errors, "status", f"Status: {status!r} is not a valid status")
        elif status == "new" and current["status"] != "new":
            _invalid(errors, "status", "Status: cannot be changed back to new")
        else:
            wanted["status"] = status
    if "priority" in body:
        priority = body["priority"]
        if priority not in PRIORITIES:
            _invalid(errors, "priority", f"Priority: {priority!r} is not a valid priority")
        elif priority is None and current["priority"] is not None:
            _invalid(errors, "priority", "Priority: cannot be reset")
        else:
            wanted["priority"] = priority
    if "type" in body:
        if body["type"] not in TYPES:
            _invalid(errors, "type", f"Type: {body['type']!r} is not a valid type")
        else:
            wanted["type"] = body["type"]
    if "subject" in body:
        if not isinstance(body["subject"], str) or not body["subject"].strip():
            _invalid(errors, "subject", "Subject: cannot be blank")
        else:
            wanted["subject"] = body["subject"]
    assignee_id = body.get("assignee_id", current["assignee_id"])
    if isinstance(body.get("assignee_email"), str):
        user = store.users_by_email.get(body["assignee_email"].lower())
        assignee_id = user.id if user else -1
    if "assignee_id" in body or "assignee_email" in body:
        user = store.user(assignee_id) if isinstance(assignee_id, int) else None
        if assignee_id is not None and (user is None or not user.can_edit_tickets):
            _invalid(errors, "assignee", f"Assignee: {assignee_id} is not an agent of this account")
        else:
            wanted["assignee_id"] = assignee_id
    if "group_id" in body:
        group_id = body["group_id"]
        if group_id is not None and store.group(group_id) is None:
            _invalid(errors, "group", f"Group: {group_id} is invalid")
        else:
            wanted["group_id"] = group_id
    if "requester_id" in body:
        if store.user(body["requester_id"]) is None:
            _invalid(errors, "requester", f"Requester: {body['requester_id']} is invalid")
        else:
            wanted["requester_id"] = body["requester_id"]
    for key in ("tags", "additional_tags", "remove_tags"):
        if key in body and normalise_tags(body[key]) is None:
            _invalid(errors, key, f"{key}: must be a list of strings")
    custom = _read_custom_fields(store, body, errors)
    if custom:
        wanted["custom_fields"] = custom
    comment = _read_comment(body.get("comment"), current, errors)
    return wanted, comment, errors


def _read_custom_fields(
    store: Store, body: dict[str, Any], errors: dict[str, list[dict[str, Any]]]
) -> dict[int, Any]:
    items = body.get("custom_fields", body.get("fields"))
    if items is None:
        return {}
    if isinstance(items, dict):  # Zendesk also takes {"<id>": value}
        items = [{"id": k, "value": v} for k, v in items.items()]
    if not isinstance(items, list):
        _invalid(errors, "custom_fields", "Custom fields: must be a list of {id, value}")
        return {}
    values: dict[int, Any] = {}
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            _invalid(errors, "custom_fields", "Custom fields: each item needs an id and a value")
            continue
        try:
            field_id = int(item["id"])
        except (TypeError, ValueError):
            _invalid(errors, "custom_fields", f"Custom fields: {item['id']!r} is not a field id")
            continue
        field = store.fields_by_id.get(field_id)
        if field is None:
            continue  # Zendesk drops unknown field ids silently
        value = item.get("value")
        problem = _field_problem(field, value)
        if problem:
            errors.setdefault("base", []).append(
                {
                    "description": f"{field.title}: {problem}",
                    "error": "InvalidValue",
                    "ticket_field_id": field.id,
                }
            )
            continue
        if field.type == "integer" and value is not None:
            value = str(int(value))
        if field.type == "checkbox":
            value = bool(value)
        if value == "" or value == []:
            value = None
        values[field_id] = value
    return values


def _field_problem(field: TicketField, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if field.type == "checkbox" and not isinstance(value, bool):
        return f"{value!r} is not true or false"
    if field.type == "tagger" and value not in field.option_values():
        return f"{value!r} is not one of its options ({', '.join(sorted(field.option_values()))})"
    if field.type == "multiselect" and (
        not isinstance(value, list) or not set(value) <= field.option_values()
    ):
        return f"{value!r} is not a list of its options"
    if field.type == "integer":
        try:
            int(str(value))
        except ValueError:
            return f"{value!r} is not an integer"
    if field.type == "date":
        try:
            datetime.strptime(str(value), "%Y-%m-%d")
        except ValueError:
            return f"{value!r} is not a date (YYYY-MM-DD)"
    if field.type == "text" and not isinstance(value, str | int | float):
        return f"{value!r} is not text"
    return None


def _read_comment(
    raw: Any, current: dict[str, Any], errors: dict[str, list[dict[str, Any]]]
) -> tuple[str, bool] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"body": raw}
    if not isinstance(raw, dict):
        _invalid(errors, "comment", "Comment: must be an object with a body")
        return None
    text = raw.get("body", raw.get("html_body"))
    if not isinstance(text, str) or not text.strip():
        errors.setdefault("base", []).append(
            {"description": "Comment: value cannot be blank", "error": "BlankValue"}
        )
        return None
    if len(text) > MAX_COMMENT_CHARS:
        _invalid(errors, "comment", f"Comment: is too long (maximum {MAX_COMMENT_CHARS})")
        return None
    # Without "public" a comment inherits the ticket's visibility (zendesk-api.md 2.3).
    public = raw.get("public", current["is_public"])
    return text, bool(public)
