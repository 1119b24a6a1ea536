"""HTTP answers of the sandbox, and the error bodies Zendesk sends (zendesk-api.md section 7)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Headers = list[tuple[str, str]]

REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: Headers = field(default_factory=list)

    @property
    def status_line(self) -> str:
        return f"{self.status} {REASONS.get(self.status, 'Unknown')}"


def json_reply(status: int, payload: Any, headers: Headers | None = None) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, body, headers=list(headers or []))


def text_reply(status: int, text: str, headers: Headers | None = None) -> Reply:
    return Reply(status, text.encode(), "text/plain; charset=utf-8", list(headers or []))


class ApiError(Exception):
    """An error answer; raised anywhere below the router and turned into a Reply there."""

    def __init__(self, status: int, payload: Any, headers: Headers | None = None) -> None:
        super().__init__(f"{status} {payload}")
        self.status = status
        self.payload = payload
        self.headers = list(headers or [])

    def reply(self) -> Reply:
        if isinstance(self.payload, str):
            return text_reply(self.status, self.payload, self.headers)
        return json_reply(self.status, self.payload, self.headers)


def not_found() -> ApiError:
    return ApiError(404, {"error": "RecordNotFound", "description": "Not found"})


def invalid_endpoint(method: str, path: str) -> ApiError:
    return ApiError(
        404,
        {"error": "InvalidEndpoint", "description": f"Not found: {method} {path}"},
    )


def unauthenticated() -> ApiError:
    return ApiError(401, {"error": "Couldn't authenticate you"})


def invalid_token() -> ApiError:
    return ApiError(
        401,
        {
            "error": "invalid_token",
            "error_description": "The access token provided is expired, revoked, malformed "
            "or invalid for other reasons.",
        },
    )


def forbidden() -> ApiError:
    return ApiError(
        403,
        {
            "error": {
                "title": "Forbidden",
                "message": "You do not have access to this page. Please contact the account "
                "owner of this help desk for further help.",
            }
        },
    )


def record_invalid(details: dict[str, list[dict[str, Any]]]) -> ApiError:
    return ApiError(
        422,
        {"error": "RecordInvalid", "description": "Record validation errors", "details": details},
    )


def invalid_attribute(message: str) -> ApiError:
    return ApiError(400, {"error": {"title": "Invalid attribute", "message": message}})


def bad_request(code: str, description: str) -> ApiError:
    return ApiError(400, {"error": code, "description": description})


def too_many_values(name: str, limit: int = 100) -> ApiError:
    return ApiError(
        400,
        {
            "error": "TooManyValues",
            "description": f"Parameter {name} cannot specify more than {limit} values",
            "max_count": limit,
        },
    )


def pagination_error(code: str, title: str, detail: str) -> ApiError:
    return ApiError(
        400, {"errors": [{"code": code, "title": title, "detail": detail, "status": "400"}]}
    )
