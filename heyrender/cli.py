"""Command-line wiring: each command parses its options and calls one core function."""

from __future__ import annotations

import errno
import math
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from heyrender import __version__, commands
from heyrender.cligroup import Example, Group
from heyrender.emulator.faults import CREATE_FAULTS
from heyrender.errors import HeyrenderError, os_error_sentence
from heyrender.terminal import OutputSettings

F = TypeVar("F", bound=Callable[..., Any])
EXIT_INTERRUPTED = 130
pass_output = click.make_pass_decorator(OutputSettings, ensure=True)
OS_ERROR_HINTS = {
    errno.ENOSPC: "free some disk space, then run the command again",
    errno.EDQUOT: "free some disk space, then run the command again",
    errno.EACCES: "check that you may read and write that path",
    errno.EPERM: "check that you may read and write that path",
    errno.EROFS: "choose a folder on a writable file system",
}


def fail(message: str, hint: str | None, exit_code: int) -> NoReturn:
    ctx = click.get_current_context(silent=True)
    settings = ctx.find_object(OutputSettings) if ctx else None
    colored = settings is None or settings.color
    label = click.style("Error:", fg="red", bold=True) if colored else "Error:"
    click.echo(f"{label} {message}", err=True)
    if hint:
        click.echo(f"Hint: {hint}", err=True)
    sys.exit(exit_code)


def quiet_broken_pipe() -> NoReturn:
    """stdout's reader went away (`heyrender render m.yaml | head`): stop without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(1)


OUTSIDE_CAMPAIGN = click.option(
    "--allow-outside-campaign",
    is_flag=True,
    help="Let the manifest name files outside its campaign (its git repository or folder).",
)


def MANIFEST(command: F) -> F:
    """The manifest argument, and the one flag that widens which files it may name."""
    argument = click.argument("manifest", type=click.Path(dir_okay=False, path_type=str))
    return argument(OUTSIDE_CAMPAIGN(command))


def reports_errors(command: F) -> F:
    """The CLI's one error boundary: heyrender's errors, a user's file that cannot be read
    or written, and Ctrl-C each become one line on stderr and an exit code, never a
    traceback. Every command is wrapped in it."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except HeyrenderError as exc:
            fail(exc.message, exc.hint, exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", None, EXIT_INTERRUPTED)
        except click.Abort as exc:  # click turns Ctrl-C or end of input at a prompt into Abort
            if isinstance(exc.__context__, KeyboardInterrupt):
                fail("interrupted", None, EXIT_INTERRUPTED)
            fail("no answer was given", None, 1)
        except BrokenPipeError:
            quiet_broken_pipe()
        except OSError as exc:
            fail(os_error_sentence(exc), OS_ERROR_HINTS.get(exc.errno or 0), 1)

    run.reports_errors = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    examples=[
        Example("heyrender validate outreach.yaml", "Check every row; nothing is sent"),
        Example("heyrender plan outreach.yaml", "See what apply would submit"),
        Example("heyrender apply outreach.yaml", "Submit the missing videos, after a yes"),
        Example("heyrender download outreach.yaml", "Save the completed videos"),
    ],
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print no progress or info lines; errors and the final summary still show.",
)
@click.option("--no-color", is_flag=True, help="No colour in the output (also: NO_COLOR set).")
@click.version_option(__version__, prog_name="heyrender")
@click.pass_context
def main(ctx: click.Context, quiet: bool, no_color: bool) -> None:
    """Personalized HeyGen avatar videos from a manifest and a CSV.

    A manifest (YAML) names a CSV of recipients and a request body whose strings are
    templates over each row. apply submits each missing video exactly once and records
    it in the lockfile beside the manifest (outreach.yaml -> outreach.lock); commit the
    lockfile with the manifest and the CSV.

    The global options may go before or after the command.
    """
    ctx.obj = OutputSettings.from_options(quiet=quiet, no_color=no_color)


@main.command(
    examples=[
        Example("heyrender validate outreach.yaml"),
        Example("heyrender validate outreach.yaml --json | jq '.problems[]'", "For machines"),
    ]
)
@MANIFEST
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@reports_errors
def validate(manifest: str, as_json: bool, allow_outside_campaign: bool) -> None:
    """Check every row's request; nothing is sent.

    Expands every row of the CSV through the manifest's templates and checks each request
    against HeyGen's rules. Problems go to stderr, one line per row and field, then a
    summary; the exit code is 1 if any row is invalid.
    """
    sys.exit(commands.validate(manifest, as_json, allow_outside_campaign))


@main.command(
    examples=[
        Example("heyrender render outreach.yaml --row dana@acme.io", "One row's body, as YAML"),
        Example("heyrender render outreach.yaml --format json > bodies.jsonl", "Every body"),
    ]
)
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
def render(manifest: str, row_key: str | None, fmt: str, allow_outside_campaign: bool) -> None:
    """Print the request bodies exactly as they would be sent.

    Like helm template or dbt compile: nothing is sent. Invalid rows are reported on
    stderr, get no body, and make the exit code 1.
    """
    sys.exit(commands.render(manifest, row_key, fmt, allow_outside_campaign))


class Finite(click.FloatRange):
    """A float range that also refuses nan and inf."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def finite(low: float, high: float | None = None, *, above: bool = False) -> Finite:
    return Finite(min=low, max=high, min_open=above)


@main.command(
    examples=[
        Example("heyrender emulator --port 8080", "Rehearse a campaign without spending credits"),
        Example(
            "HEYGEN_API_BASE=http://127.0.0.1:8080 HEYGEN_API_KEY=any "
            "heyrender apply outreach.yaml --yes"
        ),
        Example("heyrender emulator --port 0 --fault-rate 0.1 --seed 7", "With faults"),
    ]
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port; 0 picks a free one.",
)
@click.option(
    "--render-seconds",
    type=finite(0),
    default=3.0,
    show_default=True,
    help="How long a render takes.",
)
@click.option(
    "--fail-rate",
    type=finite(0, 1),
    default=0.0,
    show_default=True,
    help="Share of videos that fail.",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Unfinished videos allowed.",
)
@click.option("--api-key", default=None, help="Accept only this key (default: any non-empty key).")
@click.option(
    "--url-ttl",
    type=finite(0, above=True),
    default=7 * 24 * 3600.0,
    show_default=True,
    help="Seconds a file URL lives.",
)
@click.option(
    "--fault-rate",
    type=finite(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests that fail.",
)
@click.option(
    "--fault-kinds",
    type=click.Choice(CREATE_FAULTS),
    multiple=True,
    help="Inject only these kinds of fault (repeatable; default: all).",
)
@click.option(
    "--slow-seconds",
    type=finite(0),
    default=120.0,
    show_default=True,
    help="Delay of a 'slow' fault.",
)
@click.option(
    "--credits", type=click.IntRange(min=0), default=None, help="Videos the account can pay for."
)
@click.option(
    "--balance-usd",
    type=finite(0),
    default=1_000_000.0,
    show_default=True,
    help="The wallet's USD balance; each rendered second draws it down.",
)
@click.option(
    "--billing-type",
    type=click.Choice(["wallet", "subscription", "usage_based"]),
    default="wallet",
    show_default=True,
    help="The account shape GET /v3/users/me answers with.",
)
@click.option(
    "--idempotency-ttl",
    type=finite(0, above=True),
    default=24 * 3600.0,
    show_default=True,
    help="Seconds an Idempotency-Key replays its first answer.",
)
@click.option(
    "--retry-after",
    type=finite(0),
    default=1.0,
    show_default=True,
    help="Retry-After sent with a 429.",
)
@click.option("--seed", type=int, default=None, help="Seed for failures and faults.")
@click.option("--quiet", is_flag=True, help="No line per request (also: heyrender --quiet).")
@pass_output
@reports_errors
def emulator(
    output: OutputSettings,
    /,
    host: str,
    port: int,
    billing_type: str,
    fault_kinds: tuple[str, ...],
    **options: Any,
) -> None:
    """Run a HeyGen-compatible API server (v3 and v2) on loopback.

    It checks bodies with the same schemas as validate, honours Idempotency-Key, keeps a
    wallet, accepts asset uploads, renders videos in a few seconds and serves real MP4 files
    from expiring URLs. It runs until Ctrl-C.
    """
    from heyrender.emulator.billing import BillingType
    from heyrender.emulator.server import Options, run

    options["quiet"] = options["quiet"] or output.quiet
    kinds = fault_kinds or CREATE_FAULTS
    run(Options(billing_type=BillingType(billing_type), fault_kinds=kinds, **options), host, port)


API_BASE = click.option(
    "--api-base",
    envvar="HEYGEN_API_BASE",
    default=None,
    metavar="URL",
    help="HeyGen API base URL; falls back to HEYGEN_API_BASE.  [default: https://api.heygen.com]",
)


@main.command(
    examples=[
        Example("heyrender plan outreach.yaml"),
        Example(
            "heyrender plan outreach.yaml --detailed-exitcode",
            "In CI: exit 0 when nothing is to do, 2 when rows are pending",
        ),
        Example("heyrender plan outreach.yaml --out reviewed.plan", "Save it for review"),
    ]
)
@MANIFEST
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--all", "show_all", is_flag=True, help="List every key, changes before unchanged rows."
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 with nothing to do, 2 with changes, 1 on error.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=str),
    metavar="FILE",
    help="Save the plan to FILE, for apply FILE to carry out exactly.",
)
@reports_errors
def plan(
    manifest: str,
    as_json: bool,
    show_all: bool,
    detailed_exitcode: bool,
    out: str | None,
    allow_outside_campaign: bool,
) -> None:
    """Show what apply would submit and what it would cost.

    Compares the rows with the lockfile, like terraform plan, without talking to HeyGen:
    rows to create, in progress, done, outdated (naming the fields that changed),
    orphaned, uncertain and invalid; then the estimated seconds and USD of what apply
    would submit.
    """
    sys.exit(
        commands.plan(
            manifest, as_json, show_all, detailed_exitcode, allow_outside_campaign, out=out
        )
    )


@main.command(
    examples=[
        Example("heyrender apply outreach.yaml", "Show the plan, ask, submit, follow to the end"),
        Example("heyrender apply outreach.yaml --limit 5", "Sample five rows first"),
        Example("heyrender apply outreach.yaml --yes --no-wait", "In CI: submit and exit"),
        Example("heyrender apply outreach.yaml --replace-outdated", "Render edited rows again"),
        Example("heyrender apply outreach.yaml --max-cost 50", "Spend at most $50 (estimated)"),
        Example("heyrender apply reviewed.plan", "Carry out a plan saved with plan --out"),
    ]
)
@MANIFEST
@click.option("--yes", is_flag=True, help="Submit without asking for approval.")
@click.option(
    "--skip-invalid", is_flag=True, help="Submit the valid rows even if some are invalid."
)
@click.option(
    "--replace-outdated",
    is_flag=True,
    help="Render again the rows whose request changed since their video was made.",
)
@click.option("--replace", multiple=True, metavar="KEY", help="Render this row again (repeatable).")
@click.option("--resubmit-uncertain", is_flag=True, help="Resubmit rows that could not be settled.")
@click.option("--limit", type=click.IntRange(min=0), help="Submit at most N videos.")
@click.option(
    "--max-cost",
    type=finite(0),
    metavar="USD",
    help="Refuse above this estimate; stop submitting once what was sent would pass it.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Renders at once; lowered to the account's cap on a 429.",
)
@click.option(
    "--poll-interval",
    type=finite(0.01, 3600),
    default=10.0,
    show_default=True,
    help="First spacing of status polls, in seconds; grows to six times it.",
)
@click.option("--no-wait", is_flag=True, help="Submit and exit without waiting for renders.")
@click.option(
    "--timeout",
    type=finite(0),
    help="Stop after this many seconds (0: send nothing new, wait for nothing); exit 3.",
)
@click.option(
    "--settle-grace",
    type=finite(0, 24 * 3600),
    default=120.0,
    show_default=True,
    help="How long a lost create may take to appear in the video list.",
)
@API_BASE
@pass_output
@reports_errors
def apply(
    output: OutputSettings,
    /,
    manifest: str,
    yes: bool,
    skip_invalid: bool,
    replace_outdated: bool,
    replace: tuple[str, ...],
    resubmit_uncertain: bool,
    limit: int | None,
    max_cost: float | None,
    concurrency: int,
    poll_interval: float,
    no_wait: bool,
    timeout: float | None,
    settle_grace: float,
    api_base: str | None,
    allow_outside_campaign: bool,
) -> None:
    """Submit the missing videos and follow them until done.

    Validates every row, settles any create whose answer was lost, shows the plan, the
    estimate and the account's balance and asks for 'yes', uploads the local files the rows
    name, then submits each missing video exactly once and records every step in the
    lockfile. Given a plan saved by plan --out instead of a manifest, it carries out exactly
    that plan without asking, or refuses if the manifest, CSV or lockfile changed since.
    Ctrl-C stops submitting and exits 130; running apply again continues.
    """
    from heyrender.run.options import ApplyOptions, RunOptions

    run = RunOptions(concurrency, poll_interval, no_wait, timeout, settle_grace)
    options = ApplyOptions(
        yes, skip_invalid, replace_outdated, replace, resubmit_uncertain, limit, run, max_cost
    )
    sys.exit(commands.apply(manifest, options, api_base, output, allow_outside_campaign))


@main.command(
    examples=[
        Example("heyrender status outreach.yaml"),
        Example("heyrender status outreach.yaml --refresh --json", "Poll HeyGen, one row a line"),
    ]
)
@MANIFEST
@click.option(
    "--refresh", is_flag=True, help="Poll unfinished and completed videos; update the lockfile."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row and line.")
@API_BASE
@reports_errors
def status(
    manifest: str, refresh: bool, as_json: bool, api_base: str | None, allow_outside_campaign: bool
) -> None:
    """Show each row's video and status from the lockfile.

    Reads only the lockfile, unless --refresh asks HeyGen about unfinished videos.
    """
    sys.exit(commands.status(manifest, refresh, as_json, api_base, allow_outside_campaign))


@main.command(
    examples=[
        Example("heyrender download outreach.yaml", "Into outreach-videos/ beside the manifest"),
        Example("heyrender download outreach.yaml --out ~/Videos/spring"),
    ]
)
@MANIFEST
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=str),
    metavar="DIR",
    help="Folder for the files.  [default: NAME-videos beside the manifest]",
)
@API_BASE
@pass_output
@reports_errors
def download(
    output: OutputSettings,
    manifest: str,
    out: str | None,
    api_base: str | None,
    allow_outside_campaign: bool,
) -> None:
    """Save the completed videos as files.

    Each file is named after its row's key (KEY.mp4, or a cleaned name plus a short hash
    when the key is not a plain lowercase file name). Files already present are skipped;
    nothing is created when no video is completed.
    """
    sys.exit(commands.download(manifest, out, api_base, output, allow_outside_campaign))


@main.command(
    examples=[
        Example(
            "heyrender diff outreach.yaml --against origin/main", "What a pull request changes"
        ),
        Example("heyrender diff outreach.yaml --against HEAD~1 --json", "For machines"),
    ]
)
@MANIFEST
@click.option("--against", required=True, metavar="REV", help="Git revision to compare with.")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@reports_errors
def diff(manifest: str, against: str, as_json: bool, allow_outside_campaign: bool) -> None:
    """Show how each row's request changed since a git revision.

    Renders the campaign as it was at REV (manifest and CSV read from git, never from the
    working tree) and as it is now: changed rows field by field with old and new values,
    then the added and removed rows.
    """
    sys.exit(commands.diff_since(manifest, against, as_json, allow_outside_campaign))


VIDEOS = click.option(
    "--videos",
    type=click.Path(file_okay=False, path_type=str),
    metavar="DIR",
    help="Folder of downloaded videos.  [default: NAME-videos beside the manifest]",
)


@main.command(
    examples=[
        Example("heyrender report outreach.yaml", "Into outreach-report/index.html"),
        Example("heyrender report outreach.yaml --out review/", "Somewhere else"),
    ]
)
@MANIFEST
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=str),
    metavar="DIR",
    help="Folder for index.html.  [default: NAME-report beside the manifest]",
)
@VIDEOS
@API_BASE
@reports_errors
def report(
    manifest: str,
    out: str | None,
    videos: str | None,
    api_base: str | None,
    allow_outside_campaign: bool,
) -> None:
    """Write a static HTML page to review the videos, one card per row.

    Each card shows the key, status, title, script and duration; completed rows show a
    thumbnail and play inline (downloaded files, else fresh URLs when HEYGEN_API_KEY is
    set); failed rows their failure. Filter by status, search by key or text; it opens
    from file:// with no server.
    """
    sys.exit(commands.report(manifest, out, videos, api_base, allow_outside_campaign))


@main.command(
    examples=[
        Example("heyrender export outreach.yaml --columns first_name,company > merge.csv"),
        Example("heyrender export outreach.yaml --format jsonl --out merge.jsonl"),
    ]
)
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
    "--out",
    type=click.Path(dir_okay=False, path_type=str),
    metavar="FILE",
    help="Write to FILE, not stdout.",
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
    allow_outside_campaign: bool,
) -> None:
    """Write one line per row for mail merges, as CSV or JSON lines.

    The key and the --columns picked from the CSV, then status, video_id, video page URL,
    thumbnail URL, duration and download path. Thumbnail and page URLs need
    HEYGEN_API_KEY (one status call per completed video).
    """
    sys.exit(commands.export(manifest, fmt, columns, out, videos, api_base, allow_outside_campaign))
