"""Every Zendesk error body shape (reference section 7) becomes the right typed error."""

from __future__ import annotations

import httpx
import pytest
from test_zendesk_fakes import Scripted, make_client, ok, text

from runner.errors import (
    ZendeskAuthError,
    ZendeskCollisionError,
    ZendeskError,
    ZendeskForbiddenError,
    ZendeskInvalidError,
    ZendeskNotFoundError,
)
from runner.zendesk import error_from_response


def _error(response: httpx.Response, ticket_id: int | None = None) -> ZendeskError:
    return error_from_response(response, method="PUT", endpoint="PUT /api/v2/tickets/{id}",
                               ticket_id=ticket_id)


def test_string_error_with_description() -> None:
    error = _error(ok({"error": "RecordNotFound", "description": "Not found"}, 404), 7)
    assert isinstance(error, ZendeskNotFoundError)
    assert error.code == "RecordNotFound" and error.ticket_id == 7
    assert str(error).startswith("ticket #7: Zendesk answered 404 to PUT /api/v2/tickets/{id}: ")
    assert "RecordNotFound: Not found" in str(error)


def test_record_invalid_details_closed_ticket() -> None:
    body = {"error": "RecordInvalid", "description": "Record validation errors",
            "details": {"status": [{"description": "Status: closed prevents ticket update"}]}}
    error = _error(ok(body, 422), 42)
    assert isinstance(error, ZendeskInvalidError)
    assert "Status: closed prevents ticket update" in str(error)
    assert "Closed tickets cannot be updated" in str(error)
    assert error.details == body["details"]


def test_record_invalid_every_details_key() -> None:
    body = {"error": "RecordInvalid", "description": "Record validation errors",
            "details": {"base": [{"description": "Assignee: is required when solving a ticket",
                                  "error": None}],
                        "priority": [{"description": "cannot be reset"}]}}
    message = str(_error(ok(body, 422)))
    assert "Assignee: is required when solving a ticket" in message
    assert "priority: cannot be reset" in message


def test_object_error_title_message() -> None:
    body = {"error": {"title": "Forbidden", "message": "You do not have access to this page."}}
    error = _error(ok(body, 403))
    assert isinstance(error, ZendeskForbiddenError)
    assert error.code == "Forbidden"
    assert "You do not have access to this page." in str(error)
    assert "role" in str(error)


def test_missing_scope_hint() -> None:
    body = {"error": "Forbidden", "description": "You are missing the following required "
                                                 "scopes: read"}
    error = _error(ok(body, 403))
    assert "missing the following required scopes: read" in str(error)
    assert "scopes" in (error.hint or "")


def test_errors_array() -> None:
    body = {"errors": [{"code": "InvalidPaginationDepth", "title": "Pagination requests using "
                        "Offset Pagination are limited", "detail": "use cursor"}]}
    error = _error(ok(body, 400))
    assert isinstance(error, ZendeskInvalidError)
    assert error.code == "InvalidPaginationDepth"
    assert "use cursor" in str(error)


def test_bare_error_string() -> None:
    error = _error(ok({"error": "Couldn't authenticate you"}, 401))
    assert isinstance(error, ZendeskAuthError)
    assert "Couldn't authenticate you" in str(error)


def test_oauth_error_description() -> None:
    body = {"error": "invalid_token", "error_description": "The access token provided is "
                                                           "expired, revoked, malformed"}
    error = _error(ok(body, 401))
    assert error.code == "invalid_token" and "expired, revoked" in str(error)


def test_text_plain_body() -> None:
    error = _error(text(400, "Bad Request: something odd"))
    assert isinstance(error, ZendeskInvalidError) and error.code is None
    assert "Bad Request: something odd" in str(error)


def test_long_text_body_is_cut() -> None:
    error = _error(text(418, "x" * 5000))
    assert len(str(error)) < 600 and type(error) is ZendeskError


def test_409_on_put_is_a_collision_and_not_retried() -> None:
    script = Scripted().add("PUT", "/api/v2/tickets/9.json",
                            ok({"error": "UpdateConflict", "description": "changed"}, 409))
    with make_client(script) as client, pytest.raises(ZendeskCollisionError) as caught:
        client.update_ticket(9, {"status": "solved"}, updated_stamp="2024-01-01T10:00:00Z")
    assert caught.value.ticket_id == 9 and caught.value.status == 409
    assert "zdops plan" in str(caught.value)
    assert len(script.requests) == 1


def test_non_json_success_is_an_error() -> None:
    script = Scripted().add("GET", "/api/v2/tickets/1.json", text(200, "<html>login</html>"))
    with make_client(script) as client, pytest.raises(ZendeskError, match="not a JSON object"):
        client.get_ticket(1)
