"""The reconciler: submits rows as render slots free, follows videos to the end, records all.

Exactly once, one protocol per API (the provider says which):
- v3: each create carries an Idempotency-Key derived from the campaign, the row, its request
  and its attempt (idempotency.py), recorded durably in the intent before the POST. A create
  whose answer is lost is resent at once with the same key: HeyGen replays the first answer.
- v2: the intent is recorded durably before the POST and the video_id after; a create whose
  answer is lost is settled by title (settle.py) before its row is ever sent again.

Unfinished videos are polled in bulk (provider.statuses: 100 per request on v3).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from heyrender.api.client import BASE_HINT
from heyrender.api.provider import Provider
from heyrender.api.wire import VideoStatus
from heyrender.campaign.rows import Desired
from heyrender.errors import (
    ApiError,
    AuthError,
    HeyrenderError,
    InvalidRequest,
    NoCredit,
    OutcomeUnknown,
    RateLimited,
    TransientError,
    os_error_sentence,
)
from heyrender.run.commit import GroupCommit
from heyrender.run.idempotency import idempotency_key, next_attempt
from heyrender.run.observe import observed
from heyrender.run.options import RunOptions
from heyrender.run.reporter import Reporter
from heyrender.run.settle import settle
from heyrender.state.lockfile import Entry, now_iso
from heyrender.state.store import State
from heyrender.status import Status

LOG = logging.getLogger(__name__)
MAX_UNREACHABLE = 2
MAX_RESENDS = 3
# creates in a row whose answer stayed unknown through the client's own resends (8 tries of
# up to 90 s each): HeyGen takes requests but does not answer them, so the run stops rather
# than resending every row MAX_RESENDS times more (about 50 minutes a row)
MAX_LOST_IN_A_ROW = 2


@dataclass
class Submission:
    row: Desired
    body: dict[str, Any]
    resends: int = 0
    idempotency_key: str | None = None  # set when resuming a recorded v3 intent
    attempt: int | None = None


@dataclass
class CapProbe:
    """A 429 said the account is at its render cap. HeyGen counted the renders followed then
    plus those of the creates already in the air that it accepts; the cap is known once every
    one of those creates has its answer (counting them as busy at once would overstate it)."""

    last_launch: int  # creates numbered up to this were in the air (or answered) at the 429
    renders: int  # renders HeyGen had: followed at the 429, then each in-air create accepted
    waiting: int  # in-air creates not yet answered (the refused one included)


@dataclass
class RunReport:
    stop_reason: str | None = None
    fatal: HeyrenderError | None = None
    hint: str | None = None
    timed_out: bool = False
    interrupted: bool = False


def poll_spacing(age: float, first: float) -> float:
    """About a tenth of a video's age, between the first spacing and six times it."""
    return min(max(age * 0.1, first), first * 6)


class Reconciler:
    def __init__(
        self,
        state: State,
        provider: Provider,
        options: RunOptions,
        reporter: Reporter,
        identity: str,
    ) -> None:
        self.state, self.provider, self.options = state, provider, options
        self.reporter, self.identity = reporter, identity
        self.cap = max(options.concurrency, 1)
        self.in_flight: dict[str, tuple[str, float]] = {}  # video_id -> (row key, followed at)
        self.creating = 0
        self.launches = 0  # creates started, numbering each
        self.probe: CapProbe | None = None
        self.rate_limited_until = 0.0
        self.unreachable = 0
        self.lost_in_a_row = 0
        self.changed = asyncio.Event()
        self.retry: deque[Submission] = deque()
        self.tasks: set[asyncio.Task[None]] = set()
        self.poller: asyncio.Task[None] | None = None
        self.report = RunReport()
        self.commit = GroupCommit(state)
        self.reporter_failed = False

    # bookkeeping ---------------------------------------------------------

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(self.crashed)

    def crashed(self, task: asyncio.Task[None]) -> None:
        """A task that raised what it should not: logged once, and the run stops (resumably:
        every row is recorded), rather than an exception "never retrieved" and a lost slot."""
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        if isinstance(error, OSError):  # the state's files: a full disk, a read-only mount
            self.fail(
                HeyrenderError(f"cannot record the run: {os_error_sentence(error)}"),
                "free some space (or make the folder writable); every step before this one "
                "is recorded",
            )
            return
        LOG.error("heyrender: internal error in the run", exc_info=error)
        self.fail(ApiError(f"internal error ({error!r})"), "report this bug")

    def tell(self, key: str, what: str) -> None:
        """Tells the reporter; whatever the screen does, the run goes on (logged once)."""
        try:
            self.reporter.event(key, what)
        except Exception:
            if not self.reporter_failed:
                LOG.exception("heyrender: the progress display failed; the run goes on")
            self.reporter_failed = True

    def signal(self) -> None:
        """Wakes every waiter; each waits on the event current when it began, never cleared."""
        self.changed.set()
        self.changed = asyncio.Event()

    def free_slots(self) -> int:
        return self.cap - len(self.in_flight) - self.creating

    def stop_submitting(self, reason: str) -> None:
        if self.report.stop_reason is None:
            self.report.stop_reason = reason
        self.signal()

    def cancel_all(self) -> None:
        for task in (*self.tasks, *([self.poller] if self.poller else [])):
            task.cancel()

    def fail(self, error: HeyrenderError, hint: str | None = None) -> None:
        """Stops the run. Creates already sent finish on their own (a refused key or an
        unreachable API answers at once), so each records what became of it."""
        self.report.fatal = self.report.fatal or error
        self.report.hint = self.report.hint or hint
        self.stop_submitting(str(error))
        if self.poller is not None:
            self.poller.cancel()

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: no new creates; what is in flight stays recorded for the next run."""
        self.report.interrupted = True
        self.stop_submitting("interrupted")
        self.cancel_all()

    # the run ------------------------------------------------------------

    async def run(self, submissions: Iterator[Submission]) -> RunReport:
        for entry in list(self.state.entries.values()):
            if entry.in_progress and entry.video_id:
                self.follow(entry)
        timeout = self.options.timeout
        deadline = time.monotonic() + timeout if timeout is not None else None
        if not self.options.no_wait:
            self.poller = asyncio.ensure_future(self.poll())
            self.poller.add_done_callback(self.crashed)
        try:
            await self.submit_all(submissions, deadline)
            while self.tasks:
                await asyncio.wait(set(self.tasks))
            await self.drain(deadline)
        except asyncio.CancelledError:
            self.report.interrupted = self.report.fatal is None
        finally:
            self.cancel_all()
            pending = [*self.tasks, *([self.poller] if self.poller else [])]
            await asyncio.gather(*pending, return_exceptions=True)
        return self.report

    def past(self, deadline: float | None) -> bool:
        if deadline is None or time.monotonic() < deadline:
            return False
        self.report.timed_out = True
        self.stop_submitting("the timeout was reached")
        return True

    async def submit_all(self, submissions: Iterator[Submission], deadline: float | None) -> None:
        while self.report.stop_reason is None and not self.past(deadline):
            wait = self.rate_limited_until - time.monotonic()
            if self.free_slots() <= 0 or wait > 0:
                if self.options.no_wait and self.free_slots() <= 0 and not self.creating:
                    break
                await self.wait_for_change(wait if wait > 0 else None)
                continue
            item = self.retry.popleft() if self.retry else next(submissions, None)
            if item is None:
                if not self.creating and not self.retry:
                    break
                await self.wait_for_change(None)
                continue
            self.creating += 1
            self.launches += 1
            self.spawn(self.submit(item, self.launches))

    async def drain(self, deadline: float | None) -> None:
        """Waits until every followed video has finished, or the deadline."""
        if self.options.no_wait:
            return
        while self.in_flight and self.report.fatal is None and not self.report.interrupted:
            if self.past(deadline):
                return
            left = deadline - time.monotonic() if deadline is not None else None
            await self.wait_for_change(left)

    async def wait_for_change(self, timeout: float | None) -> None:
        """Until something changes, or `timeout` (at most a second when None).

        asyncio.wait, not wait_for: Python 3.11's wait_for can swallow a cancellation."""
        waiter = asyncio.ensure_future(self.changed.wait())
        try:
            await asyncio.wait({waiter}, timeout=timeout if timeout and timeout > 0 else 1.0)
        finally:
            waiter.cancel()

    # one create -----------------------------------------------------------

    def intent(self, item: Submission, previous: Entry | None) -> Entry:
        row = item.row
        key = attempt = None
        if self.provider.idempotent:
            attempt = item.attempt or next_attempt(previous)
            key = item.idempotency_key or idempotency_key(
                self.identity, row.key, row.request, attempt
            )
        resuming = item.idempotency_key is not None and previous is not None
        return Entry(
            key=row.key,
            request=row.request,
            status=Status.SUBMITTING,
            title=row.title,
            intent_at=(previous.intent_at if resuming and previous else None) or now_iso(),
            previous_video_ids=previous.known_video_ids if previous else (),
            attempt=attempt,
            idempotency_key=key,
            fields=dict(row.fields) or None,
        )

    async def submit(self, item: Submission, launch: int) -> None:
        row = item.row
        previous = self.state.entries.get(row.key)
        intent = self.intent(item, previous)
        self.state.record(intent)
        try:
            await self.commit.wait()  # the intent is on disk before the POST
            video_id = await self.provider.create(item.body, intent.idempotency_key)
        except RateLimited as exc:
            self.restore(previous, intent)
            self.learn_cap(exc)
            self.retry.appendleft(item)
        except NoCredit as exc:
            self.restore(previous, intent)
            self.stop_submitting(f"HeyGen says the account is out of credit ({exc})")
        except AuthError as exc:
            self.restore(previous, intent)
            self.fail(exc, "check HEYGEN_API_KEY")
        except InvalidRequest as exc:
            failed = intent.evolve(
                status=Status.FAILED,
                finished_at=now_iso(),
                failure_code=exc.code or "invalid_parameter",
                failure_message=str(exc),
            )
            self.state.record(failed, durable=True)
            self.tell(row.key, f"rejected: {exc}")
        except TransientError as exc:
            self.restore(previous, intent)
            self.unreachable += 1
            self.tell(row.key, f"not sent: HeyGen {exc}; will try again")
            if self.unreachable >= MAX_UNREACHABLE:
                self.fail(TransientError(f"HeyGen cannot be reached ({exc})"), BASE_HINT)
            self.retry.append(item)
        except OutcomeUnknown as exc:
            if intent.idempotency_key:
                self.lost_in_a_row += 1
                if self.lost_in_a_row >= MAX_LOST_IN_A_ROW:
                    self.give_up_resending(item, intent, exc)
                    self.fail(
                        OutcomeUnknown(
                            f"HeyGen did not answer {self.lost_in_a_row} creates in a row ({exc})"
                        ),
                        "check HeyGen's status; the next apply resends them with their keys",
                    )
                else:
                    self.resend_later(item, intent, exc)
            else:
                self.tell(row.key, f"answer lost ({exc}); settling before any resend")
                await self.settle_one(item)
        else:
            self.unreachable = self.lost_in_a_row = 0
            entry = intent.evolve(status=Status.WAITING, video_id=video_id, submitted_at=now_iso())
            self.state.record(entry)  # on disk with the next intent's commit, or at the end
            self.follow(entry)
            if self.probe is not None and launch <= self.probe.last_launch:
                self.probe.renders += 1
            self.tell(row.key, f"submitted as {video_id}")
        finally:  # a lost v2 create holds its slot until settle_one has looked for it
            self.creating -= 1
            self.answered(launch)
            self.signal()

    def resend_later(self, item: Submission, intent: Entry, error: OutcomeUnknown) -> None:
        """A keyed create whose answer is still unknown after the client's own resends."""
        if item.resends < MAX_RESENDS:
            item.resends += 1
            item.idempotency_key, item.attempt = intent.idempotency_key, intent.attempt
            self.tell(item.row.key, f"answer lost ({error}); resending with its key")
            self.retry.append(item)
            return
        self.give_up_resending(item, intent, error)

    def give_up_resending(self, item: Submission, intent: Entry, error: OutcomeUnknown) -> None:
        """Recorded uncertain, with its key: the next apply resends it at once."""
        self.state.record(
            intent.evolve(
                status=Status.UNCERTAIN,
                failure_message=f"{error}; the next apply resends it with the same key",
            ),
            durable=True,
        )
        self.tell(item.row.key, f"uncertain: {error}")

    async def settle_one(self, item: Submission) -> None:
        """Looks for a lost v2 create's video; the row is sent again only if it never landed."""
        settled = await settle(
            self.provider, self.state, [item.row.key], grace=self.options.settle_grace
        )
        result = settled[item.row.key]
        if result.video_id:
            self.tell(item.row.key, f"found as {result.video_id}")
            if result.in_progress:
                self.follow(result)
        elif result.status is Status.NOT_CREATED and item.resends < MAX_RESENDS:
            item.resends += 1
            self.retry.append(item)
        else:
            self.tell(item.row.key, f"{result.status}: {result.failure_message}")

    def restore(self, previous: Entry | None, intent: Entry) -> None:
        """Nothing was created: the row goes back to what it was."""
        if previous is not None:
            self.state.record(previous, durable=True)
        else:
            self.state.record(intent.evolve(status=Status.NOT_CREATED), durable=True)

    def learn_cap(self, error: RateLimited) -> None:
        """Pauses creates; starts finding the cap unless a 429 already did (see CapProbe)."""
        if self.probe is None:
            self.probe = CapProbe(self.launches, len(self.in_flight), self.creating)
        pause = error.retry_after * random.uniform(1.0, 1.2)
        self.rate_limited_until = max(self.rate_limited_until, time.monotonic() + pause)

    def answered(self, launch: int) -> None:
        """One create has its answer; once every create in the air at the 429 has one, the
        renders HeyGen counted are the cap, kept to (and said) only when it is lower."""
        probe = self.probe
        if probe is None or launch > probe.last_launch:
            return
        probe.waiting -= 1
        if probe.waiting > 0:
            return
        self.probe = None
        if 0 < probe.renders < self.cap:
            self.cap = probe.renders
            self.tell("account", f"HeyGen allows {probe.renders} renders at once; keeping to that")

    # following videos ---------------------------------------------------------

    def follow(self, entry: Entry) -> None:
        assert entry.video_id
        self.in_flight[entry.video_id] = (entry.key, time.monotonic())
        self.signal()

    async def poll(self) -> None:
        """Polls every followed video in bulk, spaced by the age of the youngest."""
        last = 0.0
        while True:
            if not self.in_flight:
                await self.wait_for_change(None)
                continue
            youngest = max(started for _, started in self.in_flight.values())
            spacing = poll_spacing(time.monotonic() - youngest, self.options.poll_interval)
            pause = last + spacing - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            last = time.monotonic()
            try:
                found = await self.provider.statuses(list(self.in_flight))
            except AuthError as exc:
                self.fail(exc, "check HEYGEN_API_KEY")
                return
            except ApiError as exc:
                self.tell("account", f"status check failed, will retry: {exc}")
                continue
            for video_id, video in found.items():
                self.observe(video_id, video)

    def observe(self, video_id: str, video: VideoStatus) -> None:
        key = self.in_flight.get(video_id, ("", 0.0))[0]
        entry = self.state.entries.get(key)
        if entry is None or entry.video_id != video_id:
            self.unfollow(video_id)
            return
        if video.status is Status.MISSING:
            self.state.record(missing(entry))
            self.commit.soon()
            self.tell(key, f"missing: HeyGen no longer knows {video_id}")
        elif video.status != entry.status:
            self.state.record(observed(entry, video))
            if video.finished:
                self.commit.soon()
            self.tell(key, str(video.status))
        if video.finished:
            self.unfollow(video_id)
            if video.out_of_credit:
                self.stop_submitting("HeyGen failed a video for lack of credit")

    def unfollow(self, video_id: str) -> None:
        self.in_flight.pop(video_id, None)
        self.signal()

    def counts(self) -> Counter[str]:
        """Rows per status, as a person reads them: a row sent back to the queue is to submit."""
        labels = {Status.NOT_CREATED: "to submit"}
        return Counter(labels.get(e.status, str(e.status)) for e in self.state.entries.values())


def missing(entry: Entry) -> Entry:
    """A recorded video HeyGen no longer knows (deleted, or a 404): the row is to create."""
    return entry.evolve(
        status=Status.MISSING,
        finished_at=now_iso(),
        failure_code="not_found",
        failure_message=f"HeyGen no longer knows video {entry.video_id} (deleted?)",
    )
