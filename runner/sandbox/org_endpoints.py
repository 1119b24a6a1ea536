"""Endpoints for organizations and brands, with the paging and roles Zendesk documents.

- organizations: cursor paging (`page[size]`) or offset paging; show; show_many;
  `search?name=` (exact, case-insensitive; admins only, as documented: plain agents get 403);
  `autocomplete?name=` (names starting with the fragment; agents; offset paging).
- brands: the list sorted by name (cursor or offset paging); show.
"""

from __future__ import annotations

from typing import Any

from runner.sandbox.models import Brand, Organization
from runner.sandbox.paging import cursor_page, offset_page
from runner.sandbox.replies import Reply, bad_request, json_reply, not_found
from runner.sandbox.request import Request, int_ids
from runner.sandbox.shapes import brand_json, organization_json


def _organizations_reply(request: Request, found: list[Organization], endpoint: str) -> Reply:
    """One offset page of `found`; `endpoint` is the path without `/` and `.json`."""
    page, meta = offset_page(
        found, request.query, base_url=request.base_url, path=f"/{endpoint}.json",
        endpoint=endpoint,
    )
    body = [organization_json(o, request.base_url) for o in page]
    return json_reply(200, {"organizations": body, **meta})


def organizations_list(request: Request) -> Reply:
    request.agent()
    organizations = request.sandbox.store.organizations
    if request.arg("page[size]") is None:
        return _organizations_reply(request, list(organizations), "api/v2/organizations")
    positions, meta = cursor_page(
        [o.id for o in organizations], request.query, base_url=request.base_url,
        path="/api/v2/organizations.json",
    )
    body = [organization_json(organizations[i], request.base_url) for i in positions]
    return json_reply(200, {"organizations": body, **meta})


def organization_show(request: Request) -> Reply:
    request.agent()
    organization = request.sandbox.store.organization(request.int_param("id"))
    if organization is None:
        raise not_found()
    return json_reply(200, {"organization": organization_json(organization, request.base_url)})


def organizations_show_many(request: Request) -> Reply:
    request.agent()
    store = request.sandbox.store
    wanted = int_ids(request.ids_arg("ids"))
    found = [o for o in (store.organization(i) for i in wanted) if o is not None]
    body = [organization_json(o, request.base_url) for o in found]
    return json_reply(
        200, {"organizations": body, "next_page": None, "previous_page": None, "count": len(body)}
    )


def _name_arg(request: Request) -> str:
    name = (request.arg("name") or "").strip()
    if not name:
        raise bad_request("ParameterMissing", "Parameter name is required")
    return name


def organizations_search(request: Request) -> Reply:
    request.admin()
    store = request.sandbox.store
    if request.arg("external_id") is not None:
        found: list[Organization] = []  # seeded organizations have no external ids
    else:
        wanted = _name_arg(request).casefold()
        found = [o for o in store.organizations if o.name.casefold() == wanted]
    return _organizations_reply(request, found, "api/v2/organizations/search")


def organizations_autocomplete(request: Request) -> Reply:
    request.agent()
    fragment = _name_arg(request).casefold()
    found = [o for o in request.sandbox.store.organizations
             if o.name.casefold().startswith(fragment)]
    return _organizations_reply(request, found, "api/v2/organizations/autocomplete")


def _by_name(brand: Brand) -> tuple[str, int]:
    return brand.name.casefold(), brand.id


def brands_list(request: Request) -> Reply:
    request.agent()
    brands = sorted(request.sandbox.store.brands, key=_by_name)
    path = "/api/v2/brands.json"
    meta: dict[str, Any]
    if request.arg("page[size]") is None:
        page, meta = offset_page(
            brands, request.query, base_url=request.base_url, path=path, endpoint="api/v2/brands"
        )
    else:
        positions, meta = cursor_page(
            [_by_name(b) for b in brands], request.query, base_url=request.base_url, path=path
        )
        page = [brands[i] for i in positions]
    return json_reply(200, {"brands": [brand_json(b, request.base_url) for b in page], **meta})


def brand_show(request: Request) -> Reply:
    request.agent()
    brand = request.sandbox.store.brand(request.int_param("id"))
    if brand is None:
        raise not_found()
    return json_reply(200, {"brand": brand_json(brand, request.base_url)})
