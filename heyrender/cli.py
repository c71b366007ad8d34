"""Command-line wiring: each command parses its options and calls one core function."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from heyrender import __version__, commands
from heyrender.errors import HeyrenderError

F = TypeVar("F", bound=Callable[..., Any])
MANIFEST = click.argument("manifest", type=click.Path(dir_okay=False, path_type=str))


def reports_errors(command: F) -> F:
    """Turns heyrender's errors into one 'Error: ...' line and the error's exit code."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except HeyrenderError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            sys.exit(exc.exit_code)

    return run  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="heyrender")
def main() -> None:
    """Personalized HeyGen avatar videos from a manifest and a CSV."""


@main.command()
@MANIFEST
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@reports_errors
def validate(manifest: str, as_json: bool) -> None:
    """Expand every row and check every request against the API's rules."""
    sys.exit(commands.validate(manifest, as_json))


@main.command()
@MANIFEST
@click.option("--row", "row_key", metavar="KEY", help="Only the row with this key.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="yaml documents, or JSON (one body per line; indented with --row).",
)
@reports_errors
def render(manifest: str, row_key: str | None, fmt: str) -> None:
    """Print the request bodies exactly as they would be sent."""
    sys.exit(commands.render(manifest, row_key, fmt))
