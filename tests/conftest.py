"""Shared pytest set-up. Fixtures live in plugin modules next to this file, one per area."""

pytest_plugins = ["fixtures_sandbox", "fixtures_sops", "fixtures_reconcile"]
