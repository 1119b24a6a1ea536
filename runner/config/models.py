"""The config file as pydantic v2 models: the single source of truth for its shape.

Every model forbids unknown keys (a typo must not be silently ignored) and is strict (YAML's
`yes` or `"5"` are not quietly turned into a bool or an int), except the `sops` block, which
belongs to sops and is only read. Checks that need more than one value at a time (one primary
token, run_as names a token, ...) live in `runner.config.checks`, where each can be located and
explained on its own.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from runner.config.fields import ACTION_STATUSES, FIELD_PATTERN, PRIORITIES, Operator

Status = Literal["open", "pending", "hold", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
TicketType = Literal["question", "incident", "problem", "task"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
SUBDOMAIN_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
URL_PATTERN = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
# What `sops encrypt` writes for a string value (see the sops notes in the README).
_B64 = "[A-Za-z0-9+/=]+"
ENC_PATTERN = rf"^ENC\[AES256_GCM,data:{_B64},iv:{_B64},tag:{_B64},type:str\]$"
TAG_PATTERN = r"^[^\s,]+$"

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Email = Annotated[str, Field(pattern=EMAIL_PATTERN)]
Tag = Annotated[str, Field(pattern=TAG_PATTERN)]


def _whole_number(value: Any) -> Any:
    # JSON, and so the JSON Schema, has one kind of number: `limit: 5.0` is the integer 5 there.
    # Strict validation would refuse it; accept exactly what the published schema accepts.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


PositiveInt = Annotated[int, Field(ge=1), BeforeValidator(_whole_number)]

_STRICT = ConfigDict(extra="forbid", strict=True)


def _enum_schema(values: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


class Zendesk(BaseModel):
    """Which Zendesk account the rules act on."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        # Exactly one of them given as a string: `subdomain: null` next to a url is as good as
        # leaving it out, in the schema as in the model.
        json_schema_extra={
            "oneOf": [
                {"required": [name], "properties": {name: {"type": "string"}}}
                for name in ("subdomain", "url")
            ]
        },
    )

    subdomain: str | None = Field(
        None,
        pattern=SUBDOMAIN_PATTERN,
        description="The account's subdomain: `acme` for https://acme.zendesk.com.",
    )
    url: str | None = Field(
        None,
        pattern=URL_PATTERN,
        description="The base URL instead of a subdomain: https, or http on a loopback address "
        "only (the local sandbox).",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.subdomain is None) == (self.url is None):
            raise ValueError(
                "give exactly one of `subdomain` (e.g. acme) or `url` (e.g. http://127.0.0.1:8765)"
            )
        return self

    @property
    def base_url(self) -> str:
        """Where the API lives, without a trailing slash."""
        if self.url is not None:
            return self.url.rstrip("/")
        return f"https://{self.subdomain}.zendesk.com"


class Token(BaseModel):
    """A Zendesk credential the runner may act with. Only `key` is secret."""

    model_config = _STRICT

    name: Name = Field(description="How rules and commands refer to this token.")
    email: Email = Field(description="The Zendesk user this token acts as.")
    kind: Literal["oauth", "api_token"] = Field(
        "oauth",
        description="oauth: an OAuth access token (Bearer). api_token: a legacy API token "
        "(Basic email/token), switched off by Zendesk on 2027-04-30.",
    )
    key: str = Field(
        pattern=ENC_PATTERN,
        description="The secret, encrypted in place by sops: ENC[AES256_GCM,...,type:str]. "
        "Add tokens with `zdops tokens add`, never in plain text.",
    )
    primary: bool = Field(
        False, description="The token every rule acts with unless it names another (run_as)."
    )


class Defaults(BaseModel):
    """Values a rule uses when it does not say otherwise."""

    model_config = _STRICT

    limit: PositiveInt = Field(500, description="The most tickets one rule may change in one run.")


class Condition(BaseModel):
    """One client-side test on a ticket, e.g. {field: subject, operator: matches, value: x}."""

    model_config = _STRICT

    field: str = Field(
        pattern=FIELD_PATTERN,
        description="status, priority, type, subject, description, tags, assignee, group, "
        "requester, organization, brand, via, created_at, updated_at, or "
        "custom_fields.<title or id>.",
    )
    operator: Operator = Field(
        description="less_than/greater_than on status and priority; includes/not_includes on "
        "tags; older_than/newer_than on created_at/updated_at with a duration such as 72h; "
        "matches takes a Python regex; present/not_present take no value."
    )
    value: Any = Field(
        None,
        description="What to compare with: a string, number, list of tags, or duration.",
    )


class When(BaseModel):
    """Which tickets a rule selects: the search query, then client-side conditions."""

    model_config = _STRICT

    query: str | None = Field(
        None,
        description="Zendesk search syntax (type:ticket is implied), "
        "e.g. 'status<solved tags:vip'.",
    )
    all: list[Condition] = Field(
        default_factory=list, description="Client-side conditions that must all hold."
    )
    any: list[Condition] = Field(
        default_factory=list,
        description="Client-side conditions of which at least one must hold (when given).",
    )


class TagActions(BaseModel):
    """Tag changes: add and remove keep other tags; set replaces the whole list."""

    model_config = _STRICT

    add: list[Tag] = Field(default_factory=list, description="Tags to add.")
    remove: list[Tag] = Field(default_factory=list, description="Tags to remove.")
    set: list[Tag] | None = Field(
        None, description="The ticket's whole tag list (replaces every tag)."
    )


class Comment(BaseModel):
    """A comment to add. Placeholders: {{ticket.id}}, {{ticket.subject}},
    {{ticket.requester.name}}, {{rule.name}}."""

    model_config = _STRICT

    body: str = Field(min_length=1, description="The comment text, with optional placeholders.")
    public: bool = Field(
        False, description="true: a public reply the requester sees; false: an internal note."
    )


class Actions(BaseModel):
    """What to do to each selected ticket. A key left out is left alone; null clears it."""

    model_config = _STRICT

    # None only ever means "absent" here: Zendesk cannot clear a status or a priority, so an
    # explicit null is rejected below and the schema does not offer it.
    status: Annotated[Status | None, WithJsonSchema(_enum_schema(ACTION_STATUSES))] = Field(
        None, description="open, pending, hold, solved or closed."
    )
    priority: Annotated[Priority | None, WithJsonSchema(_enum_schema(PRIORITIES))] = Field(
        None, description="low, normal, high or urgent."
    )
    type: TicketType | None = Field(
        None, description="question, incident, problem or task; null clears it."
    )
    assignee: Email | PositiveInt | None = Field(
        None, description="The agent's email or numeric id; null unassigns."
    )
    group: Annotated[str, Field(min_length=1)] | PositiveInt | None = Field(
        None, description="The group's name or numeric id; null clears it."
    )
    tags: TagActions | None = Field(None, description="Tags to add, remove or set.")
    custom_fields: dict[str, Any] | None = Field(
        None, description="Custom field title or numeric id -> value (null clears it)."
    )
    comment: Comment | None = Field(None, description="A comment or internal note to add.")

    @field_validator("status", "priority", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(
                f"Zendesk cannot clear a ticket's {info.field_name}; "
                f"leave `{info.field_name}` out to keep it as it is"
            )
        return value


class Rule(BaseModel):
    """Select tickets, then act on them."""

    model_config = _STRICT

    name: Name = Field(description="Unique; used in plans, `--rule NAME` and comment templates.")
    description: str | None = Field(None, description="What the rule is for, for reviewers.")
    enabled: bool = Field(True, description="false keeps the rule in the file but never runs it.")
    run_as: Name | None = Field(
        None, description="The token this rule acts with; default: the primary token."
    )
    when: When = Field(description="Which tickets to select.")
    actions: Actions = Field(description="What to do to them.")
    limit: PositiveInt | None = Field(
        None,
        description="The most tickets this rule may change in one run; default: defaults.limit.",
    )

    def effective_limit(self, defaults: Defaults) -> int:
        return self.limit if self.limit is not None else defaults.limit


class SopsMetadata(BaseModel):
    """The block sops appends when it encrypts the file. zdops reads it and never writes it."""

    model_config = ConfigDict(extra="allow")

    mac_only_encrypted: bool = Field(
        False,
        strict=True,  # sops writes a YAML boolean; a string "true" is a hand edit, as in the schema
        description="true when only encrypted values are covered by the MAC, so that the rest "
        "of the file can be edited in a pull request.",
    )


class Config(BaseModel):
    """A zdops config file."""

    model_config = _STRICT

    version: Literal[1] = Field(description="The config format version; always 1.")
    zendesk: Zendesk
    tokens: list[Token] = Field(
        default_factory=list,
        description="Credentials, exactly one with primary: true. Keys are sops-encrypted.",
    )
    defaults: Defaults = Field(default_factory=lambda: Defaults.model_validate({}))
    rules: list[Rule] = Field(default_factory=list, description="Run in file order.")
    sops: SopsMetadata | None = Field(None, description="Written by sops; do not edit by hand.")

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_a_number(cls, value: Any) -> Any:
        # True == 1 in Python, so Literal[1] alone would take `version: true` (or YAML 1.1's
        # `yes`, which our loader keeps as text); the schema's `const: 1` does not.
        if isinstance(value, bool):
            raise ValueError("the config format version is the number 1, not true or false")
        return value

    @property
    def primary_token(self) -> Token:
        """The one primary token (the loader's checks guarantee there is exactly one)."""
        for token in self.tokens:
            if token.primary:
                return token
        raise LookupError("the config has no primary token")

    def token(self, name: str) -> Token:
        for token in self.tokens:
            if token.name == name:
                return token
        raise KeyError(name)

    def acting_token(self, rule: Rule) -> Token:
        """The token a rule acts with: its run_as, or the primary token."""
        return self.token(rule.run_as) if rule.run_as else self.primary_token

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)
