"""schemas/config.schema.json is exactly `zdops schema`, and says what editors need."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from runner.cli import main
from runner.config.schema import schema_json

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "schemas" / "config.schema.json"


def test_published_schema_is_current() -> None:
    assert PUBLISHED.read_text() == schema_json(), (
        "schemas/config.schema.json is stale: regenerate it with "
        "`zdops schema > schemas/config.schema.json` and commit the result"
    )


def test_cli_prints_the_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert result.output == schema_json()


def test_schema_carries_dialect_help_and_enums() -> None:
    schema = json.loads(schema_json())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("config.schema.json")
    defs = schema["$defs"]
    assert "ENC\\[AES256_GCM" in defs["Token"]["properties"]["key"]["pattern"]
    assert defs["Token"]["properties"]["kind"]["enum"] == ["oauth", "api_token"]
    assert "less_than" in defs["Condition"]["properties"]["operator"]["enum"]
    assert defs["Actions"]["properties"]["priority"]["enum"] == ["low", "normal", "high", "urgent"]
    assert defs["Rule"]["properties"]["run_as"]["description"]
    assert defs["Zendesk"]["oneOf"] == [
        {"required": ["subdomain"], "properties": {"subdomain": {"type": "string"}}},
        {"required": ["url"], "properties": {"url": {"type": "string"}}},
    ]


def test_example_points_editors_at_the_schema() -> None:
    first = (ROOT / "config.example.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=./schemas/config.schema.json"
