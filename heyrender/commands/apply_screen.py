"""`heyrender apply` at the screen: the reporter the run layer talks to, and the prompt."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import click

from heyrender.api.client import Settings
from heyrender.campaign import manifest as manifests
from heyrender.commands import output
from heyrender.commands.progress import Progress
from heyrender.errors import ConfigError, HeyrenderError
from heyrender.run import saved_plan
from heyrender.run.apply import apply as apply_manifest
from heyrender.run.options import ApplyOptions
from heyrender.run.outcome import Outcome
from heyrender.run.plan import Plan
from heyrender.run.saved_plan import SavedPlan
from heyrender.terminal import OutputSettings, reader_gone, silence_stdout
from heyrender.wording import counted


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


class ScreenReporter:
    """Lines on stdout, a live panel on a terminal, the approval prompt on stdin."""

    def __init__(self, settings: OutputSettings) -> None:
        self.settings = settings
        self.progress: Progress | None = None

    def say(self, line: str) -> None:
        try:
            click.echo(line)
        except OSError as exc:  # `| head` exited: the run goes on, quietly
            if not reader_gone(exc):
                raise
            silence_stdout()

    def info(self, line: str) -> None:
        if not self.settings.quiet:
            self.say(line)

    def show_plan(self, plan: Plan, title: str) -> None:
        for line in output.plan_text(plan, title):
            self.info(line)

    def event(self, key: str, what: str) -> None:
        if self.progress is not None:
            self.progress.event(key, what)

    def approve(self, count: int) -> None:
        if not stdin_is_terminal():
            raise HeyrenderError(
                f"apply would submit {counted(count, 'video')} and needs approval",
                hint="run it in a terminal to answer the prompt, or pass --yes",
            )
        answer = click.prompt(
            f"Submit {counted(count, 'video')}? Only 'yes' will be accepted",
            default="",
            show_default=False,
        )
        if answer.strip() != "yes":
            raise HeyrenderError("apply cancelled; nothing was submitted")

    def watching(
        self, counts: Callable[[], Counter[str]], total: int, done_before: int
    ) -> AbstractContextManager[object]:
        self.progress = Progress(counts, total, output=self.settings)
        return self.progress


def saved_plan_of(path: str, options: ApplyOptions, allow_outside: bool) -> SavedPlan:
    """The saved plan at `path`, if the options leave it to be carried out exactly."""
    saved = saved_plan.load(path)
    chose = [
        flag
        for flag, given in (
            ("--replace-outdated", options.replace_outdated),
            ("--replace", bool(options.replace)),
            ("--resubmit-uncertain", options.resubmit_uncertain),
            ("--limit", options.limit is not None),
        )
        if given
    ]
    if chose:
        raise ConfigError(
            f"{chose[0]} cannot change a saved plan: apply {Path(path).name} carries out "
            "exactly the rows it lists",
            hint="make a new plan with the change: heyrender plan MANIFEST --out FILE",
        )
    if saved.allow_outside and not allow_outside:
        raise ConfigError(
            f"{Path(path).name} was made with --allow-outside-campaign; "
            "pass it to apply too to read files outside the campaign"
        )
    return saved


def apply(
    path: str,
    options: ApplyOptions,
    api_base: str | None,
    screen: OutputSettings,
    allow_outside: bool = False,
) -> int:
    saved = saved_plan_of(path, options, allow_outside) if saved_plan.is_saved_plan(path) else None
    if saved is not None:
        manifest = manifests.load(saved.manifest_path, saved.allow_outside)
        saved_plan.check_fresh(saved, manifest)
        click.echo(f"Carrying out the saved plan {path} (made {saved.created_at}).")
    else:
        manifest = manifests.load(path, allow_outside)
    settings = Settings.from_env(api_base)
    reporter = ScreenReporter(screen)
    try:
        return apply_manifest(manifest, settings, options, reporter, saved).exit_code
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted. To continue: heyrender apply {manifest.path}", err=True)
        return Outcome.INTERRUPTED.exit_code
