"""What each CLI command does, as plain functions that return an exit code."""

from __future__ import annotations

import click

from heyrender import manifest as manifests
from heyrender import output
from heyrender.errors import HeyrenderError
from heyrender.expand import Expansion
from heyrender.validate import checked_rows
from heyrender.validate import validate as validate_manifest


def validate(path: str, as_json: bool) -> int:
    result = validate_manifest(manifests.load(path))
    if as_json:
        click.echo(output.validation_json(result))
    else:
        for line in output.validation_text(result):
            click.echo(line, err=line != result.summary())
    return 0 if result.ok else 1


def render(path: str, row_key: str | None, fmt: str) -> int:
    manifest = manifests.load(path)
    expansion = Expansion(manifest)
    csv_name = manifest.source.csv.name
    found = invalid = 0
    for row in checked_rows(expansion):
        if row_key is not None and row.key != row_key:
            continue
        found += 1
        for problem in row.problems:
            invalid += 1
            click.echo(f"row {row.key} ({csv_name} line {row.line}): {problem}", err=True)
        if row.body is None:
            continue
        if fmt == "json":
            click.echo(output.body_json(row.body, pretty=row_key is not None))
        else:
            click.echo(output.body_yaml(row, csv_name), nl=False)
    expansion.check_keys()
    if row_key is not None and not found:
        raise HeyrenderError(
            f"no row with {manifest.source.key} {row_key!r} in {csv_name}"
            + (" (or source.where leaves it out)" if manifest.source.where else "")
        )
    return 1 if invalid else 0
