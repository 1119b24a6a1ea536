"""Directory: names to ids, each list fetched once per run, unknown names named."""

from __future__ import annotations

import pytest
from test_zendesk_fakes import Scripted, make_client, ok

from runner.errors import ResolveError
from runner.zendesk import Directory

GROUPS = {"groups": [{"id": 10, "name": "Support"}, {"id": 11, "name": "Billing"},
                     {"id": 12, "name": "Old", "deleted": True}], "meta": {"has_more": False}}
FIELDS = {"ticket_fields": [
    {"id": 100, "title": "Order number", "type": "text"},
    {"id": 101, "title": "Product", "raw_title": "{{dc.product}}", "type": "tagger",
     "custom_field_options": [{"id": 1, "name": "Widget Pro", "value": "widget_pro"},
                              {"id": 2, "name": "Gadget", "value": "gadget"}]}]}


def _script() -> Scripted:
    return (Scripted().add("GET", "/api/v2/groups.json", ok(GROUPS))
            .add("GET", "/api/v2/ticket_fields.json", ok(FIELDS)))


def test_groups_by_name_or_id_one_fetch() -> None:
    script = _script()
    with make_client(script) as client:
        directory = Directory(client)
        assert directory.group_id("billing") == 11
        assert directory.group_id("Support") == 10
        assert directory.group_id(11) == 11 and directory.group_id("10") == 10
    assert len(script.calls("GET", "/api/v2/groups.json")) == 1


def test_unknown_and_deleted_group_names_what_exists() -> None:
    with make_client(_script()) as client:
        directory = Directory(client)
        with pytest.raises(ResolveError) as caught:
            directory.group_id("Old")
    assert "group 'Old' not found" in str(caught.value)
    assert "'Billing', 'Support'" in str(caught.value)


def test_fields_and_options() -> None:
    script = _script()
    with make_client(script) as client:
        directory = Directory(client)
        assert directory.ticket_field("order number")["id"] == 100
        assert directory.option_value("Product", "Widget Pro") == "widget_pro"
        assert directory.option_value(101, "gadget") == "gadget"
        with pytest.raises(ResolveError, match=r"has no option 'Nope'.*'Gadget', 'Widget Pro'"):
            directory.option_value("Product", "Nope")
        with pytest.raises(ResolveError, match="ticket field 'Color' not found"):
            directory.ticket_field("Color")
    assert len(script.calls("GET", "/api/v2/ticket_fields.json")) == 1


def test_users_by_email_cached_including_misses() -> None:
    path = "/api/v2/users/search.json"
    script = (Scripted()
              .add("GET", path, ok({"users": [{"id": 7, "email": "jane@acme.com"}]}))
              .add("GET", path, ok({"users": []})))
    with make_client(script) as client:
        directory = Directory(client)
        assert directory.user_id("Jane@acme.com") == 7
        assert directory.user_id("jane@acme.com") == 7
        assert directory.user_id(42) == 42
        for _ in range(2):
            with pytest.raises(ResolveError, match=r"no Zendesk user has the email 'x@acme\.com'"):
                directory.user_id("x@acme.com")
        assert directory.users([7]) == {7: {"id": 7, "email": "jane@acme.com"}}
    assert len(script.calls("GET", path)) == 2


def test_users_by_id_fetch_only_unknown() -> None:
    path = "/api/v2/users/show_many.json"
    script = Scripted().always("GET", path, lambda r: ok({"users": [
        {"id": int(i)} for i in r.url.params["ids"].split(",")]}))
    with make_client(script) as client:
        directory = Directory(client)
        assert set(directory.users([1, 2])) == {1, 2}
        assert set(directory.users([2, 3])) == {2, 3}
    assert [r.url.params["ids"] for r in script.requests] == ["1,2", "3"]
