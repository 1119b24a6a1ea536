"""The route table: (method, path template, handler). Paths are matched without `.json`."""

from __future__ import annotations

from collections.abc import Callable

from runner.sandbox import account_endpoints as account
from runner.sandbox import org_endpoints as orgs
from runner.sandbox import search_endpoints as searching
from runner.sandbox import ticket_endpoints as tickets
from runner.sandbox.replies import Reply
from runner.sandbox.request import Request

__all__ = ["ROUTES", "Request"]

ROUTES: list[tuple[str, str, Callable[[Request], Reply]]] = [
    ("GET", "/api/v2/users/me", account.users_me),
    ("GET", "/api/v2/users/show_many", account.users_show_many),
    ("GET", "/api/v2/users/search", account.users_search),
    ("GET", "/api/v2/users/{id}", account.user_show),
    ("GET", "/api/v2/groups", account.groups_list),
    ("GET", "/api/v2/groups/{id}", account.group_show),
    ("GET", "/api/v2/organizations", orgs.organizations_list),
    ("GET", "/api/v2/organizations/show_many", orgs.organizations_show_many),
    ("GET", "/api/v2/organizations/search", orgs.organizations_search),
    ("GET", "/api/v2/organizations/autocomplete", orgs.organizations_autocomplete),
    ("GET", "/api/v2/organizations/{id}", orgs.organization_show),
    ("GET", "/api/v2/brands", orgs.brands_list),
    ("GET", "/api/v2/brands/{id}", orgs.brand_show),
    ("GET", "/api/v2/ticket_fields", account.ticket_fields_list),
    ("GET", "/api/v2/ticket_fields/{id}", account.ticket_field_show),
    ("GET", "/api/v2/job_statuses", account.job_statuses_list),
    ("GET", "/api/v2/job_statuses/show_many", account.job_statuses_show_many),
    ("GET", "/api/v2/job_statuses/{id}", account.job_status_show),
    ("GET", "/api/v2/tickets", tickets.tickets_list),
    ("GET", "/api/v2/tickets/show_many", tickets.tickets_show_many),
    ("PUT", "/api/v2/tickets/update_many", tickets.tickets_update_many),
    ("GET", "/api/v2/tickets/{id}", tickets.ticket_show),
    ("PUT", "/api/v2/tickets/{id}", tickets.ticket_update),
    ("GET", "/api/v2/tickets/{id}/tags", tickets.tags_show),
    ("POST", "/api/v2/tickets/{id}/tags", tickets.tags_set),
    ("PUT", "/api/v2/tickets/{id}/tags", tickets.tags_add),
    ("DELETE", "/api/v2/tickets/{id}/tags", tickets.tags_remove),
    ("GET", "/api/v2/tickets/{id}/audits", tickets.audits_list),
    ("GET", "/api/v2/incremental/tickets/cursor", tickets.incremental_tickets),
    ("GET", "/api/v2/search", searching.search_json),
    ("GET", "/api/v2/search/count", searching.search_count),
    ("GET", "/api/v2/search/export", searching.search_export),
]
