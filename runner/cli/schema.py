"""`zdops schema`: print the config's JSON Schema (schemas/config.schema.json is this output)."""

from __future__ import annotations

import click


@click.command("schema")
def schema() -> None:
    """Print the JSON Schema of the config file (draft 2020-12)."""
    from runner.config.schema import schema_json

    click.echo(schema_json(), nl=False)
