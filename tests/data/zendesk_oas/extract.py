"""One-off: extract the response schemas the sandbox conformance tests need from Zendesk's OAS.

Run by hand when the reference spec changes (tests never read it):
    python tests/data/zendesk_oas/extract.py /work/shared/reference/zendesk-support-oas.yaml

Each schema is written as JSON Schema with $refs resolved, descriptions/examples dropped and
OpenAPI 3.0 `nullable: true` turned into an explicit null type, so jsonschema can check it.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

import yaml

SCHEMAS = [
    "CurrentUserResponse",
    "UserResponse",
    "UsersResponse",
    "GroupsResponse",
    "GroupResponse",
    "OrganizationsResponse",
    "OrganizationResponse",
    "BrandsResponse",
    "BrandResponse",
    "TicketFieldsResponse",
    "TicketFieldResponse",
    "TicketsResponse",
    "TicketResponse",
    "TicketUpdateResponse",
    "JobStatusResponse",
    "JobStatusesResponse",
    "TagsByObjectIdResponse",
    "TicketAuditsResponseNoneCursor",
    "SearchResponse",
    "SearchCountResponse",
    "SearchExportResponse",
    "CursorBasedExportIncrementalTicketsResponse",
]
DROP = {"description", "example", "examples", "externalDocs", "title", "deprecated"}


def load(path: str) -> dict[str, Any]:
    loader = yaml.CSafeLoader
    loader.add_constructor("tag:yaml.org,2002:value", lambda ldr, node: ldr.construct_scalar(node))
    return yaml.load(Path(path).read_text(), Loader=loader)


def clean(node: Any, components: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [clean(item, components, seen) for item in node]
    if isinstance(node, datetime.date | datetime.datetime):
        return node.isoformat()
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:  # a recursive schema: stop with "anything"
            return {}
        return clean(components[name], components, (*seen, name))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROP or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {k: clean(v, components, seen) for k, v in value.items()}
        else:
            out[key] = clean(value, components, seen)
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "type" not in out and ("allOf" in out or "oneOf" in out or "anyOf" in out):
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def main(spec: str) -> None:
    components = load(spec)["components"]["schemas"]
    here = Path(__file__).parent
    for name in SCHEMAS:
        schema = clean(components[name], components)
        (here / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        print(f"wrote {name}.json")


if __name__ == "__main__":
    main(sys.argv[1])
