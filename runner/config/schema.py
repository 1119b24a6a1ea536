"""The config's JSON Schema, generated from the models so that the two cannot drift.

Editors (via the yaml-language-server `$schema` comment) complete keys and show each Field's
description as help; CI can validate with any JSON Schema tool. The semantic checks (one
primary token, queries that parse, ...) are beyond what a schema can say: `zdops validate`
is the full check.
"""

from __future__ import annotations

import json
from typing import Any

from runner.config.models import Config

SCHEMA_ID = "https://github.com/zdops/zdops/blob/main/schemas/config.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_schema() -> dict[str, Any]:
    generated = Config.model_json_schema(mode="validation")
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": "zdops config",
        **{key: value for key, value in generated.items() if key != "title"},
    }


def schema_json() -> str:
    """The schema as written to schemas/config.schema.json (stable order, final newline)."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"
