"""Rules that name organizations and brands, end to end: `zdops plan` and `zdops apply` against
the served sandbox (real sops, real HTTP). Expected tickets are worked out from the sandbox's
Python API, never from the plan.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fixtures_reconcile import (
    Configure,
    assert_no_secret,
    outcomes,
    read_report,
    rules_yaml,
    tickets,
    zdops,
)
from fixtures_sandbox import ServedSandbox

ACME_RULE = """
  - name: acme-escalation
    when:
      query: 'organization:"Acme Enterprise" status<closed'
      all:
        - {field: organization, operator: is, value: Acme Enterprise}
        - {field: brand, operator: is, value: acme}
        - {field: tags, operator: not_includes, value: acme-escalated}
    actions:
      tags: {add: [acme-escalated]}
"""

GLOBEX_SHOP_RULE = """
  - name: globex-shop-outside-acme
    when:
      query: 'brand:"Globex Shop" status<closed'
      all:
        - {field: organization, operator: is_not, value: Acme Enterprise}
        - {field: brand, operator: is_not, value: Sandbox}
        - {field: tags, operator: not_includes, value: shop-routed}
    actions:
      tags: {add: [shop-routed]}
"""


def named_id(records: list[dict[str, Any]], name: str) -> int:
    return int(next(r["id"] for r in records if r["name"] == name))


def expected(sandbox: ServedSandbox) -> dict[str, tuple[set[int], set[int]]]:
    """Per rule: the tickets its query reads, and those it changes."""
    sb = sandbox.sb
    acme_org = named_id(sb.organizations, "Acme Enterprise")
    acme_brand = named_id(sb.brands, "Acme")
    shop_brand = named_id(sb.brands, "Globex Shop")
    live = [t for t in tickets(sandbox) if t["status"] != "closed"]
    acme_read = {t["id"] for t in live if t["organization_id"] == acme_org}
    acme_change = {t["id"] for t in live
                   if t["id"] in acme_read and t["brand_id"] == acme_brand}
    shop_read = {t["id"] for t in live if t["brand_id"] == shop_brand}
    shop_change = {t["id"] for t in live
                   if t["id"] in shop_read and t["organization_id"] != acme_org}
    return {"acme-escalation": (acme_read, acme_change),
            "globex-shop-outside-acme": (shop_read, shop_change)}


def test_plan_then_apply_rules_that_name_organizations_and_brands(
    sandbox: ServedSandbox, configure: Configure, tmp_path: Path
) -> None:
    want = expected(sandbox)
    acme_read, acme_change = want["acme-escalation"]
    shop_read, shop_change = want["globex-shop-outside-acme"]
    # the seeded data must make every condition matter, or this test proves nothing
    assert acme_change and acme_read - acme_change
    assert shop_change and shop_read - shop_change
    config = configure(rules_yaml(ACME_RULE, GLOBEX_SHOP_RULE))

    planned = zdops("plan", str(config.path), "--format", "json")
    assert planned.exit_code == 0, planned.output
    data = json.loads(planned.stdout)
    summaries = {r["name"]: r for r in data["rules"]}
    for name, (read, change) in want.items():
        assert summaries[name]["read"] == len(read), name
        assert summaries[name]["changing"] == len(change), name
    by_ticket = {c["ticket_id"]: c for c in data["changes"]}
    assert set(by_ticket) == acme_change | shop_change
    for ticket_id in acme_change:
        assert "acme-escalated" in by_ticket[ticket_id]["tags_added"]

    report_path = tmp_path / "report.json"
    applied = zdops("apply", str(config.path), "--yes", "--report", str(report_path))
    assert applied.exit_code == 0, applied.output
    assert outcomes(read_report(report_path)) == dict.fromkeys(acme_change | shop_change,
                                                                "applied")
    for ticket in tickets(sandbox):
        assert ("acme-escalated" in ticket["tags"]) == (ticket["id"] in acme_change)
        assert ("shop-routed" in ticket["tags"]) == (ticket["id"] in shop_change)

    again = zdops("plan", str(config.path), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert_no_secret(config, planned, applied, again, report_path.read_text())


def test_names_cost_a_few_calls_per_run(sandbox: ServedSandbox, configure: Configure) -> None:
    config = configure(rules_yaml(ACME_RULE, GLOBEX_SHOP_RULE))
    sandbox.sb.reset_stats()
    assert zdops("plan", str(config.path)).exit_code == 0
    by_endpoint = sandbox.sb.stats()["by_endpoint"]
    lookups = {k: v["total"] for k, v in by_endpoint.items()
               if "organizations" in k or "brands" in k}
    # one brand list; "Acme Enterprise" looked up once although two rules name it (the bot
    # is an agent: search is refused once, then autocomplete)
    assert lookups == {
        "GET /api/v2/brands": 1,
        "GET /api/v2/organizations/search": 1,
        "GET /api/v2/organizations/autocomplete": 1,
    }


def test_an_unknown_organization_names_the_rule_and_the_name(
    sandbox: ServedSandbox, configure: Configure
) -> None:
    rule = ACME_RULE.replace("value: Acme Enterprise", "value: Acme Enterprises")
    config = configure(rules_yaml(rule))
    result = zdops("plan", str(config.path))
    assert result.exit_code == 1
    assert 'rule "acme-escalation"' in result.output
    assert "'Acme Enterprises'" in result.output and "organization" in result.output
    assert "Traceback" not in result.output
    before = [t["tags"] for t in tickets(sandbox)]
    applied = zdops("apply", str(config.path), "--yes")
    assert applied.exit_code == 1 and "'Acme Enterprises'" in applied.output
    assert [t["tags"] for t in tickets(sandbox)] == before


def test_an_unknown_brand_names_the_rule_and_the_name(configure: Configure) -> None:
    rule = GLOBEX_SHOP_RULE.replace("value: Sandbox", "value: Sandbox Outlet")
    result = zdops("plan", str(configure(rules_yaml(rule)).path))
    assert result.exit_code == 1
    assert 'rule "globex-shop-outside-acme"' in result.output
    assert "brand" in result.output and "'Sandbox Outlet'" in result.output


def test_a_query_naming_an_unknown_organization_reads_nothing(configure: Configure) -> None:
    # Zendesk's search answers an unknown organization name with no results, not an error
    rule = ACME_RULE.replace('organization:"Acme Enterprise"', 'organization:"Nobody Inc"')
    data = json.loads(zdops("plan", str(configure(rules_yaml(rule)).path),
                            "--format", "json").stdout)
    (summary,) = data["rules"]
    assert summary["read"] == 0 and data["changes"] == []
