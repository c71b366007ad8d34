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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port; 0 picks a free one.")
@click.option("--render-seconds", default=3.0, show_default=True, help="How long a render takes.")
@click.option("--fail-rate", default=0.0, show_default=True, help="Share of videos that fail.")
@click.option("--max-concurrent", default=3, show_default=True, help="Unfinished videos allowed.")
@click.option("--api-key", default=None, help="Accept only this key (default: any non-empty key).")
@click.option(
    "--url-ttl", default=7 * 24 * 3600.0, show_default=True, help="Seconds a file URL lives."
)
@click.option("--fault-rate", default=0.0, show_default=True, help="Share of requests that fail.")
@click.option("--slow-seconds", default=120.0, show_default=True, help="Delay of a 'slow' fault.")
@click.option("--credits", type=int, default=None, help="Videos the account can pay for.")
@click.option("--retry-after", default=1.0, show_default=True, help="Retry-After sent with a 429.")
@click.option("--seed", type=int, default=None, help="Seed for failures and faults.")
@click.option("--quiet", is_flag=True, help="No line per request.")
def emulator(host: str, port: int, **options: Any) -> None:
    """Run the HeyGen-compatible API emulator until Ctrl-C."""
    from heyrender.emulator.server import Options, run

    run(Options(**options), host, port)
