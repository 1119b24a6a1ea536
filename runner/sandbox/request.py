"""One API request as the endpoint handlers see it, with Zendesk's role checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runner.sandbox.auth import Caller
from runner.sandbox.models import User
from runner.sandbox.replies import ApiError, forbidden, too_many_values, unauthenticated

if TYPE_CHECKING:
    from runner.sandbox.emulator import Sandbox


@dataclass
class Request:
    sandbox: Sandbox
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    caller: Caller
    base_url: str
    client: str
    ip: str
    params: dict[str, str]

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            payload = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise ApiError(
                400,
                {
                    "error": "InvalidJSON",
                    "description": f"The request body is not valid JSON: {error}",
                },
            ) from None
        if not isinstance(payload, dict):
            raise ApiError(
                400,
                {"error": "InvalidJSON", "description": "The request body must be a JSON object"},
            )
        return payload

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"}) from None

    def ids_arg(self, name: str = "ids", limit: int = 100) -> list[str]:
        raw = self.arg(name)
        if raw is None:
            raise ApiError(
                400, {"error": "ParameterMissing", "description": f"Parameter {name} is required"}
            )
        values = [v.strip() for v in raw.split(",") if v.strip()]
        if len(values) > limit:
            raise too_many_values(name, limit)
        return values

    # ---- roles ---------------------------------------------------------------------------

    def user(self) -> User:
        """The authenticated user; 401 for an anonymous caller."""
        if self.caller.user is None:
            raise self.caller.failed or unauthenticated()
        return self.caller.user

    def agent(self) -> User:
        user = self.user()
        # A suspended agent's key still authenticates (users/me shows suspended: true, see
        # runner.sandbox.auth) but reaches nothing an agent could.
        if not user.is_agent or user.suspended:
            raise forbidden()
        return user

    def editor(self) -> User:
        """An agent who may change ticket fields (not a light agent)."""
        user = self.agent()
        if user.is_light_agent:
            raise forbidden()
        return user

    def admin(self) -> User:
        user = self.user()
        if user.role != "admin" or user.suspended:
            raise forbidden()
        return user


def int_ids(values: list[str], name: str = "ids") -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except ValueError:
            raise ApiError(
                400, {"error": "InvalidValue", "description": f"{name}: {value!r} is not an id"}
            ) from None
    return ids
