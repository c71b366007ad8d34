"""`heyrender apply`: validate, lock, then ONE async session: settle, plan, approve, reconcile.

The session has one event loop and one provider (one connection pool). Ctrl-C and SIGTERM
interrupt it at any step and give Outcome.INTERRUPTED (exit 130). What the user sees and is
asked goes through a Reporter; this layer never touches the screen.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from heyrender.api.client import Settings
from heyrender.api.provider import Provider, open_provider
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.rows import Campaign, Desired
from heyrender.errors import HeyrenderError
from heyrender.run.account import read_balance
from heyrender.run.budget import Budget, check_balance
from heyrender.run.changes import estimate
from heyrender.run.idempotency import campaign_identity
from heyrender.run.options import ApplyOptions
from heyrender.run.outcome import Outcome
from heyrender.run.plan import Plan, diff
from heyrender.run.reconcile import Reconciler, RunReport, Submission
from heyrender.run.reporter import Reporter
from heyrender.run.saved_plan import SavedPlan, check_fresh, check_requests
from heyrender.run.settle import settle
from heyrender.run.uploads import upload_for_rows
from heyrender.state.lockfile import Entry, parse_iso
from heyrender.state.statelock import StateLock
from heyrender.state.store import State
from heyrender.state.view import plan_entries
from heyrender.status import Status
from heyrender.versions import ApiVersion
from heyrender.wording import counted

REPLAY_MARGIN = 3600.0  # an intent this close to the end of HeyGen's key window is settled
SHOWN_KEYS = 5


def api_of(manifest: Manifest) -> ApiVersion:
    """The manifest's `api:` (v3 unless it says v2)."""
    return manifest.api


def selected(plan: Plan, options: ApplyOptions) -> list[str]:
    """The keys this apply creates anew, in a stable order."""
    keys = list(plan["create"])
    keys += [k for k in plan["outdated"] if options.replace_outdated or k in options.replace]
    keys += [k for k in plan["done"] if k in options.replace]
    if options.resubmit_uncertain:
        keys += list(plan["uncertain"])
    replaceable = {*plan["outdated"], *plan["done"], *plan["create"]}
    unknown = [k for k in options.replace if k not in replaceable]
    if unknown:
        raise HeyrenderError(
            f"--replace {unknown[0]}: only a done, outdated or missing row can be replaced "
            f"(it is {group_name(plan, unknown[0])})"
        )
    return sorted(set(keys))


def group_name(plan: Plan, key: str) -> str:
    for group, keys in plan.groups.items():
        if key in keys:
            return group.replace("_", " ")
    return "not a row of this campaign"


def listed(keys: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(keys[:SHOWN_KEYS])
    return shown + (f" and {len(keys) - SHOWN_KEYS:,} more" if len(keys) > SHOWN_KEYS else "")


def resumable(state: State, rows: dict[str, Desired], provider: Provider) -> list[Entry]:
    """Unsettled v3 creates that can simply be resent with their recorded key: HeyGen still
    replays it, and the row asks for the same request the key was made for."""
    if not provider.idempotent:
        return []
    now = time.time()
    found = []
    for entry in state.entries.values():
        row = rows.get(entry.key)
        if (
            entry.status.unsettled
            and entry.idempotency_key
            and row is not None
            and not row.problems
            and row.request == entry.request
            and now - (parse_iso(entry.intent_at) or 0) < provider.replay_window - REPLAY_MARGIN
        ):
            found.append(entry)
    return found


@dataclass
class Session:
    """One apply, start to end, inside one event loop."""

    manifest: Manifest
    campaign: Campaign
    state: State
    settings: Settings
    options: ApplyOptions
    reporter: Reporter
    reconciler: Reconciler | None = None
    interrupted: bool = False
    task: asyncio.Task[object] | None = None
    resumed: list[str] = field(default_factory=list)
    saved: SavedPlan | None = None  # apply FILE: carry out exactly this plan, without asking
    budget: Budget | None = None  # --max-cost
    assets: dict[str, str] = field(default_factory=dict)  # sha256 -> uploaded asset ID
    to_send: int = 0  # rows this apply set out to submit (new and resumed)
    selected: dict[str, Entry | None] = field(default_factory=dict)  # chosen key -> its entry
    sent: int = 0  # of them, handed to the reconciler

    def __post_init__(self) -> None:
        if self.options.max_cost is not None and self.budget is None:
            self.budget = Budget(self.options.max_cost)

    async def run(self) -> Outcome:
        self.task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, self.on_interrupt)
        try:
            async with open_provider(self.settings, api_of(self.manifest)) as provider:
                return await self.steps(provider)
        except asyncio.CancelledError:
            if not self.interrupted:
                raise
            return self.interrupted_outcome()
        finally:
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(number)

    def on_interrupt(self) -> None:
        if self.interrupted:
            os._exit(Outcome.INTERRUPTED.exit_code)  # the journal is durable: state is whole
        self.interrupted = True
        if self.reconciler is not None:  # first, so that nothing the screen does can stop it
            self.reconciler.interrupt()
        elif self.task is not None:
            self.task.cancel()
        self.reporter.say(
            "Stopping: no new submissions; recording what is in flight "
            "(Ctrl-C again to exit at once)"
        )

    def interrupted_outcome(self) -> Outcome:
        self.reporter.say(
            "Interrupted; the lockfile records everything in flight. To continue: "
            f"heyrender apply {self.manifest.path}"
        )
        return Outcome.INTERRUPTED

    async def steps(self, provider: Provider) -> Outcome:
        rows = {row.key: row for row in self.campaign.rows}
        resume = resumable(self.state, rows, provider)
        resume_keys = {entry.key for entry in resume}
        unsettled = [
            key
            for key, entry in self.state.entries.items()
            if entry.status.unsettled and key not in resume_keys
        ]
        if unsettled:
            how = "title" if provider.idempotent else "title, listing the account's videos"
            self.reporter.info(
                f"Settling {counted(len(unsettled), 'create')} whose answers were lost, by {how}."
            )
            await settle(provider, self.state, unsettled, grace=self.options.run.settle_grace)
        plan = diff(self.campaign.rows, self.state.entries)
        keys = self.chosen(plan)
        self.selected = {key: self.state.entries.get(key) for key in keys}
        self.reporter.show_plan(plan.selecting(keys), f"Plan for {self.manifest.name}")
        following = [e for e in self.state.entries.values() if e.in_progress]
        self.resumed = sorted(resume_keys)  # resent below: not left uncertain
        held = self.held_back(plan, keys)
        if not keys and not following and not resume:
            if not held:
                self.reporter.info("Nothing to submit.")
            return self.finish(provider, None)
        wanted = sorted({*keys, *resume_keys})
        if wanted:
            await self.check_spend(provider, wanted)
        if keys and not self.options.yes and self.saved is None:
            self.without_signals(lambda: self.reporter.approve(len(keys)))
        self.assets = await upload_for_rows(
            self.campaign, wanted, self.settings, self.reporter.info
        )
        if resume:
            self.reporter.info(
                f"Resending {counted(len(resume), 'interrupted create')} with their recorded "
                "idempotency keys; HeyGen answers with the video each one made, if it did."
            )
        self.reporter.info(
            f"Submitting {counted(len(keys), 'video')}, "
            f"following {counted(len(following), 'video')} already rendering."
        )
        identity = campaign_identity(self.manifest.path, self.manifest.name)
        self.reconciler = Reconciler(
            self.state, provider, self.options.run, self.reporter, identity
        )
        total = len(keys) + len(following) + len(resume)
        done_before = sum(
            1 for e in self.state.entries.values() if e.status in (Status.COMPLETED, Status.FAILED)
        )
        self.to_send = len(wanted)
        with self.reporter.watching(self.reconciler.counts, total, done_before):
            report = await self.reconciler.run(self.gated(self.submissions(wanted, resume)))
        return self.finish(provider, report)

    def chosen(self, plan: Plan) -> list[str]:
        """The keys this apply creates anew: the saved plan's, or what the options select."""
        if self.saved is not None:
            creatable = set(plan["create"])
            return [key for key in self.saved.to_submit if key in creatable]
        keys = selected(plan, self.options)
        return keys if self.options.limit is None else keys[: self.options.limit]

    async def check_spend(self, provider: Provider, wanted: list[str]) -> None:
        """Shows the estimate beside the balance; refuses above the balance or --max-cost."""
        cost = estimate(self.campaign.rows, wanted)
        reading = await read_balance(provider)
        self.reporter.info(f"Estimate: {cost.describe()}. {reading.describe()}")
        check_balance(cost, reading.available_usd, source=reading.source)
        if self.budget is not None:
            self.budget.check_start(cost)

    def gated(self, items: Iterator[Submission]) -> Iterator[Submission]:
        """The submissions, stopped by --max-cost once the next would pass it; counts them."""
        if self.budget is not None:
            items = self.budget.gate(items, lambda item: item.row.cost)
        for item in items:
            self.sent += 1
            yield item

    def submissions(self, wanted: list[str], resume: list[Entry]) -> Iterator[Submission]:
        recorded = {entry.key: entry for entry in resume}
        for row, body in self.campaign.bodies(wanted, assets=self.assets):
            entry = recorded.get(row.key)
            if entry is not None:
                yield Submission(
                    row, body, idempotency_key=entry.idempotency_key, attempt=entry.attempt
                )
            else:
                yield Submission(row, body)

    def without_signals(self, ask: Callable[[], None]) -> None:
        """A blocking prompt: let Ctrl-C raise KeyboardInterrupt there as usual."""
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
        try:
            ask()
        finally:
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(number, self.on_interrupt)

    def held_back(self, plan: Plan, keys: list[str]) -> list[str]:
        """Says which rows this apply leaves as they are, and why; returns them."""
        chosen = set(keys)
        outdated = [k for k in plan["outdated"] if k not in chosen]
        uncertain = [k for k in plan["uncertain"] if k not in chosen and k not in self.resumed]
        uncertain = [k for k in uncertain if self.state.entries[k].status.unsettled]
        if outdated:
            self.reporter.say(
                f"{counted(len(outdated), 'outdated row')} left as they are (their request changed "
                f"since they were rendered): {listed(outdated)}. "
                "Pass --replace-outdated to render them again."
            )
        if uncertain:
            self.reporter.say(
                f"{counted(len(uncertain), 'uncertain row')} left as they are: "
                f"{listed(uncertain)}. "
                "Check them in HeyGen, then pass --resubmit-uncertain to send them again."
            )
        return outdated + uncertain

    def unsent(self, plan: Plan) -> set[str]:
        """Rows this apply chose to replace or resend but never sent: their entry is unchanged.
        They are work left, like rows still to create."""
        creating = set(plan["create"])
        return {
            key
            for key, before in self.selected.items()
            if key not in creating and self.state.entries.get(key) == before
        }

    def finish(self, provider: Provider, report: RunReport | None) -> Outcome:
        plan = diff(self.campaign.rows, self.state.entries)
        left = self.unsent(plan)
        statuses = Counter(
            self.state.entries[row.key].status
            for row in self.campaign.rows
            if row.key in self.state.entries and row.key not in left
        )
        rendering, to_create = len(plan["in_progress"]), len(plan["create"]) + len(left)
        uncertain = [key for key in plan["uncertain"] if key not in left]
        self.reporter.say(
            f"Done: {statuses[Status.COMPLETED]:,} completed, {statuses[Status.FAILED]:,} failed, "
            + (f"{statuses[Status.MISSING]:,} missing, " if statuses[Status.MISSING] else "")
            + f"{rendering:,} in progress, "
            f"{len(uncertain):,} uncertain, {to_create:,} still to create."
        )
        resume = f"heyrender apply {self.manifest.path}"
        if report is not None and report.fatal is not None:
            raise HeyrenderError(
                f"stopped: {report.fatal}; {counted(to_create, 'row')} still to create",
                hint=f"{report.hint or 'check the message above'}, then run {resume}",
            )
        if (report is not None and report.interrupted) or self.interrupted:
            return self.interrupted_outcome()
        if report is not None and report.stop_reason and not report.timed_out:
            self.reporter.say(
                f"Stopped submitting: {report.stop_reason}. "
                f"{counted(to_create, 'row')} still to create."
            )
        elif self.budget is not None and self.budget.refused:
            remaining = self.to_send - self.sent
            self.reporter.say(f"Stopped submitting: {self.budget.stop_reason(remaining)}.")
        if rendering and self.options.run.no_wait:
            self.reporter.say(
                f"Not waiting for renders. Follow them with: heyrender status --refresh "
                f"{self.manifest.path}, or {resume}"
            )
        timed_out = report is not None and report.timed_out
        if timed_out and (rendering or to_create):
            self.reporter.say(f"The timeout came with work left. To continue: {resume}")
        failed = statuses[Status.FAILED] + statuses[Status.MISSING] + statuses[Status.UNCERTAIN]
        if failed or plan["invalid"] or (statuses[Status.SUBMITTING] and not timed_out):
            return Outcome.FAILED
        if timed_out and (rendering or to_create):
            return Outcome.UNFINISHED
        if report is not None and report.stop_reason and to_create:
            return Outcome.FAILED
        if rendering and not self.options.run.no_wait:
            return Outcome.UNFINISHED
        if to_create or plan["outdated"] or uncertain:
            return Outcome.HELD_BACK
        return Outcome.DONE


def apply(
    manifest: Manifest,
    settings: Settings,
    options: ApplyOptions,
    reporter: Reporter,
    saved: SavedPlan | None = None,
) -> Outcome:
    """Apply the manifest; with `saved`, exactly that saved plan (checked fresh under the lock)."""
    campaign = Campaign.expand(manifest)
    validation = campaign.validation
    assert validation is not None
    for problem in validation.problems:
        reporter.say(str(problem))
    for warning in validation.warnings():
        reporter.say(f"warning: {warning}")
    if validation.invalid and not options.skip_invalid:
        raise HeyrenderError(
            f"{validation.invalid:,} of "
            f"{counted(validation.invalid + validation.valid, 'row')} are "
            "invalid; nothing was submitted",
            hint="fix them (heyrender validate lists them), or pass --skip-invalid",
        )
    if saved is not None:
        check_requests(saved, campaign.rows)
    lock = StateLock(manifest.lockfile_path, manifest.path.name)
    with lock:
        if lock.taken_over:
            reporter.info(
                f"Took over the state lock left by {lock.taken_over}, which is no longer running."
            )
        if saved is not None:
            check_fresh(saved, manifest)  # again: another apply may have run meanwhile
        state = State.load(manifest.lockfile_path, manifest.path.name)
        session = Session(manifest, campaign, state, settings, options, reporter, saved=saved)
        try:
            outcome = asyncio.run(session.run())
        finally:
            state.checkpoint()
        plan_entries(manifest.lockfile_path, manifest.path.name)  # indexed for the next plan
        return outcome
