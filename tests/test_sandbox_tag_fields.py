"""Tags and tag-backed fields (dropdown, multiselect, checkbox) stay in step, as in Zendesk."""

from __future__ import annotations

from typing import Any

import httpx
from fixtures_sandbox import ServedSandbox

PRODUCT = 1_300_000_000_102  # tagger: product_widget, product_gadget, product_gizmo, product_api
ESCALATED = 1_300_000_000_104  # checkbox, tag "escalated"
PLATFORMS = 1_300_000_000_107  # multiselect: platform_web, platform_ios, platform_android


def value(ticket: dict[str, Any], field_id: int) -> Any:
    return next(f["value"] for f in ticket["custom_fields"] if f["id"] == field_id)


def ready(sandbox: ServedSandbox, client: httpx.Client) -> tuple[int, dict[str, Any]]:
    """An open ticket with a known starting point: tags [a, product_widget], Product widget."""
    ticket_id = next(
        i for i in range(1, sandbox.sb.ticket_count + 1) if sandbox.sb.ticket(i)["status"] == "open"
    )
    response = client.put(
        f"/api/v2/tickets/{ticket_id}.json",
        json={
            "ticket": {
                "tags": ["a"],
                "custom_fields": [
                    {"id": PRODUCT, "value": "product_widget"},
                    {"id": PLATFORMS, "value": None},
                    {"id": ESCALATED, "value": False},
                ],
            }
        },
    )
    assert response.status_code == 200, response.text
    ticket = response.json()["ticket"]
    assert ticket["tags"] == ["a", "product_widget"]
    return ticket_id, ticket


def last_events(sandbox: ServedSandbox, ticket_id: int) -> list[dict[str, Any]]:
    events = sandbox.sb.audits(ticket_id)[-1]["events"]
    return [{k: v for k, v in e.items() if k != "id"} for e in events]


def change(field: int | str, new: Any, old: Any) -> dict[str, Any]:
    return {"type": "Change", "value": new, "field_name": str(field), "previous_value": old}


def test_setting_a_dropdown_swaps_its_option_tags(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id, _ = ready(sandbox, client)
    response = client.put(
        f"/api/v2/tickets/{ticket_id}.json",
        json={"ticket": {"custom_fields": [{"id": PRODUCT, "value": "product_gizmo"}]}},
    )
    assert response.status_code == 200
    assert response.json()["ticket"]["tags"] == ["a", "product_gizmo"]
    assert response.json()["audit"]["events"][0]["id"]  # events carry ids like Zendesk's
    assert last_events(sandbox, ticket_id) == [
        change(PRODUCT, "product_gizmo", "product_widget"),
        change("tags", ["a", "product_gizmo"], ["a", "product_widget"]),
    ]
    cleared = client.put(
        f"/api/v2/tickets/{ticket_id}.json",
        json={"ticket": {"custom_fields": [{"id": PRODUCT, "value": None}]}},
    )
    assert cleared.json()["ticket"]["tags"] == ["a"]
    assert last_events(sandbox, ticket_id) == [
        change(PRODUCT, None, "product_gizmo"),
        change("tags", ["a"], ["a", "product_gizmo"]),
    ]


def test_removing_an_option_tag_clears_the_dropdown(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id, _ = ready(sandbox, client)
    path = f"/api/v2/tickets/{ticket_id}/tags.json"
    response = client.request("DELETE", path, json={"tags": ["product_widget"]})
    assert (response.status_code, response.json()) == (200, {"tags": ["a"]})
    assert value(sandbox.sb.ticket(ticket_id), PRODUCT) is None
    assert last_events(sandbox, ticket_id) == [
        change(PRODUCT, None, "product_widget"),
        change("tags", ["a"], ["a", "product_widget"]),
    ]


def test_adding_an_option_tag_picks_that_option(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id, _ = ready(sandbox, client)
    path = f"/api/v2/tickets/{ticket_id}/tags.json"
    response = client.put(path, json={"tags": ["product_api"]})
    assert (response.status_code, response.json()) == (200, {"tags": ["a", "product_api"]})
    assert value(sandbox.sb.ticket(ticket_id), PRODUCT) == "product_api"
    assert last_events(sandbox, ticket_id) == [
        change(PRODUCT, "product_api", "product_widget"),
        change("tags", ["a", "product_api"], ["a", "product_widget"]),
    ]
    replaced = client.post(path, json={"tags": ["b", "escalated", "platform_ios"]})
    assert (replaced.status_code, replaced.json()) == (
        201,
        {"tags": ["b", "escalated", "platform_ios"]},
    )
    ticket = sandbox.sb.ticket(ticket_id)
    assert (value(ticket, PRODUCT), value(ticket, ESCALATED), value(ticket, PLATFORMS)) == (
        None,
        True,
        ["platform_ios"],
    )
    assert last_events(sandbox, ticket_id) == [
        change(PRODUCT, None, "product_api"),
        change(ESCALATED, "true", "false"),
        change(PLATFORMS, ["platform_ios"], None),
        change("tags", ["b", "escalated", "platform_ios"], ["a", "product_api"]),
    ]


def test_multiselect_follows_its_tags_per_option(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id, _ = ready(sandbox, client)
    path = f"/api/v2/tickets/{ticket_id}.json"
    both = {"id": PLATFORMS, "value": ["platform_web", "platform_ios"]}
    client.put(path, json={"ticket": {"custom_fields": [both]}})
    response = client.put(path, json={"ticket": {"remove_tags": ["platform_web"]}})
    assert response.json()["ticket"]["tags"] == ["a", "product_widget", "platform_ios"]
    assert value(response.json()["ticket"], PLATFORMS) == ["platform_ios"]
    assert last_events(sandbox, ticket_id) == [
        change(PLATFORMS, ["platform_ios"], ["platform_web", "platform_ios"]),
        change(
            "tags",
            ["a", "product_widget", "platform_ios"],
            ["a", "product_widget", "platform_web", "platform_ios"],
        ),
    ]


def test_a_tags_replace_on_a_ticket_put_clears_fields_whose_tags_it_drops(
    sandbox: ServedSandbox,
) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id, _ = ready(sandbox, client)
    response = client.put(f"/api/v2/tickets/{ticket_id}.json", json={"ticket": {"tags": ["a"]}})
    assert value(response.json()["ticket"], PRODUCT) is None
    assert [e["field_name"] for e in response.json()["audit"]["events"]] == [str(PRODUCT), "tags"]


def test_update_many_keeps_fields_in_step_with_its_tags(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id, _ = ready(sandbox, client)
    bulk = client.put(
        "/api/v2/tickets/update_many.json",
        params={"ids": str(ticket_id)},
        json={"ticket": {"additional_tags": ["product_gadget"], "remove_tags": ["a"]}},
    )
    assert bulk.status_code == 200
    assert sandbox.sb.wait_for_jobs()
    ticket = sandbox.sb.ticket(ticket_id)
    assert (ticket["tags"], value(ticket, PRODUCT)) == (["product_gadget"], "product_gadget")
    assert last_events(sandbox, ticket_id) == [
        change(PRODUCT, "product_gadget", "product_widget"),
        change("tags", ["product_gadget"], ["a", "product_widget"]),
    ]
    batch = client.put(
        "/api/v2/tickets/update_many.json",
        json={"tickets": [{"id": ticket_id, "tags": ["z"]}]},
    )
    assert batch.status_code == 200
    assert sandbox.sb.wait_for_jobs()
    assert value(sandbox.sb.ticket(ticket_id), PRODUCT) is None


def test_a_light_agent_cannot_change_tags_through_a_ticket_put(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id, before = ready(sandbox, client)
    light = sandbox.client(sandbox.light_agent["email"])
    response = light.put(f"/api/v2/tickets/{ticket_id}.json", json={"ticket": {"tags": ["x"]}})
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "title": "Forbidden",
            "message": "You do not have access to this page. Please contact the account "
            "owner of this help desk for further help.",
        }
    }
    assert sandbox.sb.ticket(ticket_id)["tags"] == before["tags"]


def test_an_unrelated_tag_leaves_a_multiselect_in_its_order(sandbox: ServedSandbox) -> None:
    client = sandbox.client(sandbox.bot["email"])
    ticket_id, _ = ready(sandbox, client)
    path = f"/api/v2/tickets/{ticket_id}.json"
    reversed_order = {"id": PLATFORMS, "value": ["platform_ios", "platform_web"]}
    client.put(path, json={"ticket": {"custom_fields": [reversed_order]}})
    response = client.put(path, json={"ticket": {"additional_tags": ["b"]}})
    assert value(response.json()["ticket"], PLATFORMS) == ["platform_ios", "platform_web"]
    assert [e["field_name"] for e in response.json()["audit"]["events"]] == ["tags"]
