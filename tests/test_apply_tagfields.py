"""End to end against the sandbox: dropdowns and their tags move together, as in Zendesk.

The plan shows exactly what the sandbox (which follows Zendesk's tag-field links) ends with, a
later rule sees the tag a dropdown put on, and a second plan after apply finds nothing to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures_reconcile import Configure, apply_with_report, rules_yaml, saved_plan, zdops
from fixtures_sandbox import ServedSandbox

RULES = rules_yaml(
    """
    - name: gizmo-is-api
      when:
        query: 'status<solved tags:product_gizmo'
      actions:
        custom_fields: {Product: API}
    - name: mark-api
      when:
        query: 'status<solved tags:product_api'
        all:
          - {field: tags, operator: not_includes, value: api-seen}
      actions:
        tags: {add: [api-seen]}
    - name: drop-android
      when:
        query: 'status<solved tags:platform_android'
      actions:
        tags: {remove: [platform_android]}
    """
)


def field_id(sandbox: ServedSandbox, title: str) -> int:
    found: int = next(f["id"] for f in sandbox.sb.ticket_fields if f["title"] == title)
    return found


def value(ticket: dict[str, Any], field: int) -> Any:
    return next((f["value"] for f in ticket["custom_fields"] if f["id"] == field), None)


def test_dropdown_tags_in_the_plan_are_what_zendesk_does_and_a_replan_is_empty(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    product, platforms = field_id(sandbox, "Product"), field_id(sandbox, "Platforms")
    config = configure(RULES)
    plan_path, plan = saved_plan(config, tmp_path)
    changes = {c["ticket_id"]: c for c in plan["changes"]}
    gizmos = [i for i, c in changes.items() if "gizmo-is-api" in c["rules"]]
    androids = [i for i, c in changes.items() if "drop-android" in c["rules"]]
    assert gizmos and androids
    for ticket_id in gizmos:
        change = changes[ticket_id]
        assert "product_api" in change["tags_added"] and "api-seen" in change["tags_added"]
        assert "product_gizmo" in change["tags_removed"]
        assert "mark-api" in change["rules"]  # it saw the tag the dropdown puts on
    for ticket_id in androids:
        fields = {f["field"]: f for f in changes[ticket_id]["fields"]}
        after = fields[f"custom_fields.{platforms}"]["after"]
        assert "platform_android" not in (after or [])

    result, _ = apply_with_report(config, tmp_path, str(plan_path))
    assert result.exit_code == 0, result.output
    for ticket_id, change in changes.items():
        ticket = sandbox.sb.ticket(ticket_id)
        assert set(change["tags_added"]) <= set(ticket["tags"])
        assert not set(change["tags_removed"]) & set(ticket["tags"])
        for planned in change["fields"]:
            if planned["field"].startswith("custom_fields."):
                got = value(ticket, int(planned["field"].split(".")[1]))
                assert (got or None) == (planned["after"] or None), (ticket_id, planned)
    assert all(value(sandbox.sb.ticket(i), product) == "product_api" for i in gizmos)
    again = zdops("plan", str(config.path), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
