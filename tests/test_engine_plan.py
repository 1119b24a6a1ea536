"""The plan as data: exact JSON round trip, tamper detection, and Zendesk update bodies."""

from __future__ import annotations

import json

import pytest
from engine_builders import make_plan

from runner.engine.plan import CommentChange, FieldChange, Override, Plan, RuleSummary, TicketChange
from runner.errors import PlanError

CHANGE = TicketChange(
    ticket_id=1042,
    subject="Refund — ünïcode",
    updated_at="2024-05-30T08:00:00Z",
    token="bot",
    rules=("route", "escalate"),
    fields=(
        FieldChange("priority", "normal", "urgent", "escalate"),
        FieldChange("group", 10, 11, "route", before_label="Support", after_label="Billing"),
        FieldChange("custom_fields.506", ["a"], ["a", "b"], "route", label="Products"),
    ),
    tags_added=("routed",),
    tags_removed=("triage",),
    tags_before=("vip", "triage"),
    comments=(CommentChange("Routed.", False, "route"),),
    overrides=(Override("priority", "route", "high", "escalate", "urgent"),),
)


PLAN = make_plan(
    [
        RuleSummary("route", "bot", 41, 40, 1, 39),
        RuleSummary("big", "bot", 900, 900, 0, 0, would_change=900, blocked="too many"),
    ],
    [CHANGE],
)


def test_json_round_trip_is_exact() -> None:
    text = PLAN.to_json()
    assert json.loads(text)["format"] == "zdops-plan" and json.loads(text)["version"] == 1
    again = Plan.from_json(text)
    assert again == PLAN
    assert again.to_json() == text


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["changes"][0]["fields"][0].update(after="low"),
        lambda d: d["changes"][0].update(ticket_id=1043),
        lambda d: d["rules"][1].update(blocked=None),
        lambda d: d.update(config_digest="sha256:other"),
        lambda d: d["changes"].append(d["changes"][0]),
    ],
)
def test_edited_plans_are_rejected(tamper: object) -> None:
    data = json.loads(PLAN.to_json())
    tamper(data)  # type: ignore[operator]
    with pytest.raises(PlanError, match="checksum does not match"):
        Plan.from_json(json.dumps(data), source="plan.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"format": "other"}', "not a zdops plan"),
        ('{"format": "zdops-plan", "version": 2}', "version 2 is not supported"),
        ('{"format": "zdops-plan", "version": 1, "rules": []}', "lacks"),
    ],
)
def test_corrupt_plans_are_rejected(text: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        Plan.from_json(text, source="plan.json")


def test_wrong_types_are_rejected_even_with_a_recomputed_checksum() -> None:
    data = json.loads(PLAN.to_json())
    data["changes"][0]["ticket_id"] = "1042"
    with pytest.raises(PlanError, match=r"changes\[0\].ticket_id should be an integer"):
        Plan.from_dict(data)
    data = json.loads(PLAN.to_json())
    data["changes"][0]["surprise"] = 1
    with pytest.raises(PlanError, match="unknown keys"):
        Plan.from_dict(data)


def test_update_body_for_zendesk() -> None:
    assert CHANGE.update_body() == {
        "priority": "urgent",
        "group_id": 11,
        "custom_fields": [{"id": 506, "value": ["a", "b"]}],
        "additional_tags": ["routed"],
        "remove_tags": ["triage"],
        "comment": {"body": "Routed.", "public": False},
        "safe_update": True,
        "updated_stamp": "2024-05-30T08:00:00Z",
    }
    full = CHANGE.update_body(tags_mode="full")
    assert full["tags"] == ["vip", "routed"] and "additional_tags" not in full


def test_a_reply_and_a_note_need_two_updates() -> None:
    change = TicketChange(
        ticket_id=1,
        subject=None,
        updated_at="t",
        token="bot",
        rules=("a", "b", "c"),
        comments=(
            CommentChange("note 1", False, "a"),
            CommentChange("reply", True, "b"),
            CommentChange("note 2", False, "c"),
        ),
    )
    assert change.update_bodies() == [
        {"comment": {"body": "reply", "public": True}, "safe_update": True, "updated_stamp": "t"},
        {"comment": {"body": "note 1\n\nnote 2", "public": False}},
    ]
    with pytest.raises(PlanError, match="two updates"):
        change.update_body()
