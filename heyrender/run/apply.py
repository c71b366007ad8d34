"""`heyrender apply`: validate, lock, settle, plan, approve, then reconcile."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import click

from heyrender.api.client import HeyGenClient, Settings
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.rows import Campaign
from heyrender.commands.output import plan_text
from heyrender.commands.progress import Progress
from heyrender.errors import HeyrenderError
from heyrender.run.plan import Plan, diff
from heyrender.run.reconcile import Reconciler, RunOptions, RunReport, Submission
from heyrender.run.settle import settle
from heyrender.state.lockfile import COMPLETED, FAILED, UNCERTAIN, UNSETTLED
from heyrender.state.statelock import StateLock
from heyrender.state.store import State
from heyrender.terminal import DEFAULT_OUTPUT, OutputSettings
from heyrender.versions import ApiVersion

EXIT_OK, EXIT_FAILED, EXIT_IN_PROGRESS, EXIT_INTERRUPTED = 0, 1, 3, 130


@dataclass(frozen=True)
class ApplyOptions:
    yes: bool = False
    skip_invalid: bool = False
    replace_outdated: bool = False
    replace: tuple[str, ...] = ()
    resubmit_uncertain: bool = False
    limit: int | None = None
    run: RunOptions = field(default_factory=RunOptions)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def selected(plan: Plan, options: ApplyOptions) -> list[str]:
    """The keys this apply submits, in a stable order."""
    keys = list(plan["create"])
    keys += [k for k in plan["outdated"] if options.replace_outdated or k in options.replace]
    keys += [k for k in plan["done"] if k in options.replace]
    if options.resubmit_uncertain:
        keys += list(plan["uncertain"])
    unknown = [k for k in options.replace if k not in plan["outdated"] and k not in plan["done"]]
    if unknown:
        raise HeyrenderError(
            f"--replace {unknown[0]}: only a done or outdated row can be replaced "
            f"(it is {group_name(plan, unknown[0])})"
        )
    keys = sorted(set(keys))
    return keys[: options.limit] if options.limit is not None else keys


def group_name(plan: Plan, key: str) -> str:
    for group, keys in plan.groups.items():
        if key in keys:
            return group.replace("_", " ")
    return "not a row of this campaign"


def approve(count: int, echo: Callable[[str], None]) -> None:
    if not stdin_is_terminal():
        raise HeyrenderError(
            f"apply would submit {count:,} videos and needs approval",
            hint="run it in a terminal to answer the prompt, or pass --yes",
        )
    answer = click.prompt(
        f"Submit {count:,} videos? Only 'yes' will be accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        raise HeyrenderError("apply cancelled; nothing was submitted")


async def settle_unsettled(state: State, settings: Settings, grace: float) -> int:
    keys = [key for key, entry in state.entries.items() if entry.status in UNSETTLED]
    if not keys:
        return 0
    async with HeyGenClient(settings) as client:
        await settle(client, state, keys, grace=grace)
    return len(keys)


def run_reconciler(
    state: State,
    settings: Settings,
    options: RunOptions,
    submissions: Iterator[Submission],
    total: int,
    output: OutputSettings,
) -> RunReport:
    async def main() -> RunReport:
        progress = Progress(lambda: reconciler.counts(), total, output=output)
        async with HeyGenClient(settings) as client:
            reconciler = Reconciler(state, client, options, progress)
            loop = asyncio.get_running_loop()
            interrupts = 0

            def on_interrupt() -> None:
                nonlocal interrupts
                interrupts += 1
                if interrupts > 1:
                    os._exit(EXIT_INTERRUPTED)  # the journal is durable: state stays consistent
                print(
                    "\nStopping: no new submissions; recording what is in flight "
                    "(Ctrl-C again to exit at once)",
                    file=sys.stderr,
                    flush=True,
                )
                reconciler.interrupt()

            loop.add_signal_handler(signal.SIGINT, on_interrupt)
            loop.add_signal_handler(signal.SIGTERM, on_interrupt)
            try:
                with progress:
                    return await reconciler.run(submissions)
            finally:
                loop.remove_signal_handler(signal.SIGINT)
                loop.remove_signal_handler(signal.SIGTERM)

    return asyncio.run(main())


def apply(
    manifest: Manifest,
    settings: Settings,
    options: ApplyOptions,
    echo: Callable[[str], None],
    output: OutputSettings = DEFAULT_OUTPUT,
) -> int:
    """echo prints every line; output.quiet drops the plan and progress, never problems,
    warnings or the final summary."""
    campaign = Campaign.expand(manifest)
    validation = campaign.validation
    assert validation is not None
    for problem in validation.problems:
        echo(str(problem))
    for warning in validation.warnings():
        echo(f"warning: {warning}")
    if validation.invalid and not options.skip_invalid:
        raise HeyrenderError(
            f"{validation.invalid:,} of {validation.invalid + validation.valid:,} rows are "
            "invalid; nothing was submitted",
            hint="fix them (heyrender validate lists them), or pass --skip-invalid",
        )
    lock = StateLock(manifest.lockfile_path, manifest.path.name)
    with lock:
        if lock.taken_over:
            output.info(echo)(
                f"Took over the state lock left by {lock.taken_over}, which is no longer running."
            )
        state = State.load(manifest.lockfile_path, manifest.path.name)
        try:
            return reconcile(manifest, campaign, state, settings, options, echo, output)
        finally:
            state.checkpoint()


def reconcile(
    manifest: Manifest,
    campaign: Campaign,
    state: State,
    settings: Settings,
    options: ApplyOptions,
    echo: Callable[[str], None],
    output: OutputSettings,
) -> int:
    info = output.info(echo)
    settled = asyncio.run(settle_unsettled(state, settings, options.run.settle_grace))
    if settled:
        info(
            f"Settled {settled} create(s) whose answers were lost, by listing the account's videos."
        )
    plan = diff(campaign.rows, state.entries)
    for line in plan_text(plan, f"Plan for {manifest.name}"):
        info(line)
    keys = selected(plan, options)
    following = [e for e in state.entries.values() if e.in_progress]
    if not keys and not following:
        info("Nothing to submit.")
        return finish(plan, state, campaign, None, options.run, echo)
    if keys and not options.yes:
        approve(len(keys), echo)
    # the client speaks v2 until the v3 adapter lands; then pass the provider's API here
    submissions = (Submission(row, body) for row, body in campaign.bodies(keys, ApiVersion.V2))
    info(f"Submitting {len(keys):,} videos, following {len(following):,} already rendering.")
    total = len(keys) + len(following)
    report = run_reconciler(state, settings, options.run, submissions, total, output)
    return finish(diff(campaign.rows, state.entries), state, campaign, report, options.run, echo)


def finish(
    plan: Plan,
    state: State,
    campaign: Campaign,
    report: RunReport | None,
    options: RunOptions,
    echo: Callable[[str], None],
) -> int:
    statuses = Counter(
        state.entries[row.key].status for row in campaign.rows if row.key in state.entries
    )
    rendering = len(plan["in_progress"])
    echo(
        f"Done: {statuses[COMPLETED]:,} completed, {statuses[FAILED]:,} failed, "
        f"{rendering:,} in progress, {statuses[UNCERTAIN]:,} uncertain, "
        f"{len(plan['create']):,} still to create."
    )
    resume = f"heyrender apply {campaign.manifest.path}"
    if report is not None:
        if report.fatal is not None:
            raise HeyrenderError(
                f"stopped: {report.fatal}", hint=f"check HEYGEN_API_KEY, then run {resume}"
            )
        if report.interrupted:
            echo(f"Interrupted; the lockfile records everything in flight. To continue: {resume}")
            return EXIT_INTERRUPTED
        if report.stop_reason and not report.timed_out:
            left = len(plan["create"])
            echo(f"Stopped submitting: {report.stop_reason}. {left:,} rows remain to create.")
        if rendering and options.no_wait:
            echo(
                f"Not waiting for renders. Follow them with: heyrender status --refresh "
                f"{campaign.manifest.path}, or {resume}"
            )
        elif rendering:
            echo(f"Still rendering when the timeout came. To continue: {resume}")
            return EXIT_IN_PROGRESS
    if statuses[FAILED] or statuses[UNCERTAIN] or plan["invalid"]:
        return EXIT_FAILED
    if report is not None and report.stop_reason and not report.timed_out:
        return EXIT_FAILED
    return EXIT_OK
