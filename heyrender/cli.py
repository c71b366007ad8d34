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
@reports_errors
def emulator(host: str, port: int, **options: Any) -> None:
    """Run the HeyGen-compatible API emulator until Ctrl-C."""
    from heyrender.emulator.server import Options, run

    run(Options(**options), host, port)


API_BASE = click.option(
    "--api-base", envvar="HEYGEN_API_BASE", default=None, help="HeyGen API base URL."
)


@main.command()
@MANIFEST
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--all", "show_all", is_flag=True, help="List every key, not the first ten.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 with nothing to do, 2 with changes, 1 on error.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=str),
    help="Save the plan to FILE for apply FILE to carry out exactly.",
)
@reports_errors
def plan(
    manifest: str, as_json: bool, show_all: bool, detailed_exitcode: bool, out: str | None
) -> None:
    """Show what apply would submit, row by row, and what it costs, like terraform plan."""
    sys.exit(commands.plan(manifest, as_json, show_all, detailed_exitcode, out))


@main.command()
@MANIFEST
@click.option("--yes", is_flag=True, help="Submit without asking for approval.")
@click.option(
    "--skip-invalid", is_flag=True, help="Submit the valid rows even if some are invalid."
)
@click.option("--replace-outdated", is_flag=True, help="Render rows whose request changed again.")
@click.option("--replace", multiple=True, metavar="KEY", help="Render this row again (repeatable).")
@click.option("--resubmit-uncertain", is_flag=True, help="Resubmit rows that could not be settled.")
@click.option("--limit", type=click.IntRange(min=0), help="Submit at most N videos.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Renders at once; lowered to the account's cap on a 429.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.01),
    default=10.0,
    show_default=True,
    help="First spacing of status polls, in seconds; grows to six times it.",
)
@click.option("--no-wait", is_flag=True, help="Submit and exit without waiting for renders.")
@click.option(
    "--timeout", type=click.FloatRange(min=0), help="Stop waiting after this many seconds."
)
@click.option(
    "--settle-grace",
    type=click.FloatRange(min=0),
    default=120.0,
    show_default=True,
    help="How long a lost create may take to appear in the video list.",
)
@API_BASE
@reports_errors
def apply(manifest: str, **options: Any) -> None:
    """Submit the videos that are missing and follow them until done."""
    sys.exit(commands.apply(manifest, **options))


@main.command()
@MANIFEST
@click.option("--refresh", is_flag=True, help="Poll unfinished videos and update the lockfile.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row and line.")
@API_BASE
@reports_errors
def status(manifest: str, refresh: bool, as_json: bool, api_base: str | None) -> None:
    """Show each row's video and status from the lockfile."""
    sys.exit(commands.status(manifest, refresh, as_json, api_base))


@main.command()
@MANIFEST
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=str), help="Folder for the files."
)
@API_BASE
@reports_errors
def download(manifest: str, out: str | None, api_base: str | None) -> None:
    """Save completed videos as <key>.mp4."""
    sys.exit(commands.download(manifest, out, api_base))


@main.command()
@MANIFEST
@click.option("--against", required=True, metavar="REV", help="Git revision to compare with.")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@reports_errors
def diff(manifest: str, against: str, as_json: bool) -> None:
    """Show how every row's request changed since a git revision, field by field."""
    sys.exit(commands.diff_since(manifest, against, as_json))


VIDEOS = click.option(
    "--videos",
    type=click.Path(file_okay=False, path_type=str),
    help="Folder of downloaded videos (default: download's, <name>-videos/).",
)


@main.command()
@MANIFEST
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=str),
    help="Folder for index.html (default: <name>-report/ beside the manifest).",
)
@VIDEOS
@API_BASE
@reports_errors
def report(manifest: str, out: str | None, videos: str | None, api_base: str | None) -> None:
    """Write a static HTML review page: a card per row, with players for finished videos."""
    sys.exit(commands.report(manifest, out, videos, api_base))


@main.command()
@MANIFEST
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
    help="CSV with a header, or one JSON object per line.",
)
@click.option("--columns", metavar="A,B", help="CSV columns to carry over beside the key.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=str), help="Write to FILE, not stdout."
)
@VIDEOS
@API_BASE
@reports_errors
def export(
    manifest: str,
    fmt: str,
    columns: str | None,
    out: str | None,
    videos: str | None,
    api_base: str | None,
) -> None:
    """One line per row with its video, status and links, for mail merges."""
    sys.exit(commands.export(manifest, fmt, columns, out, videos, api_base))
