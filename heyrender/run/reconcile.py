"""The reconciler: submits rows as render slots free, follows videos to the end, records all.

Exactly-once: each create's intent is recorded durably before its POST, its video_id
durably after. A create whose answer is lost is settled (settle.py) before its row
is ever sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from heyrender.api.client import HeyGenClient
from heyrender.campaign.rows import Desired
from heyrender.commands.progress import Progress
from heyrender.errors import (
    ApiError,
    AuthError,
    InvalidRequest,
    NoCredit,
    OutcomeUnknown,
    RateLimited,
    TransientError,
)
from heyrender.run.settle import settle
from heyrender.state.lockfile import FAILED, NOT_CREATED, SUBMITTING, Entry, now_iso, parse_iso
from heyrender.state.store import State, observed

MAX_UNREACHABLE = 2
MAX_RESENDS = 3


@dataclass(frozen=True)
class RunOptions:
    concurrency: int = 10
    poll_interval: float = 10.0
    no_wait: bool = False
    timeout: float | None = None
    settle_grace: float = 120.0


@dataclass
class Submission:
    row: Desired
    body: dict[str, Any]
    resends: int = 0


@dataclass
class RunReport:
    stop_reason: str | None = None
    fatal: ApiError | None = None
    timed_out: bool = False
    interrupted: bool = False


def poll_spacing(age: float, first: float) -> float:
    """About a tenth of a video's age, between the first spacing and six times it."""
    return min(max(age * 0.1, first), first * 6)


class Reconciler:
    def __init__(
        self, state: State, client: HeyGenClient, options: RunOptions, progress: Progress
    ) -> None:
        self.state, self.client, self.options, self.progress = state, client, options, progress
        self.cap = max(options.concurrency, 1)
        self.in_flight: dict[str, str] = {}
        self.creating = 0
        self.rate_limited_until = 0.0
        self.unreachable = 0
        self.changed = asyncio.Event()
        self.retry: deque[Submission] = deque()
        self.tasks: set[asyncio.Task[None]] = set()
        self.followers: set[asyncio.Task[None]] = set()
        self.report = RunReport()

    # bookkeeping ---------------------------------------------------------

    def spawn(self, coroutine: Any, follower: bool = False) -> None:
        task = asyncio.ensure_future(coroutine)
        group = self.followers if follower else self.tasks
        group.add(task)
        task.add_done_callback(group.discard)

    def signal(self) -> None:
        self.changed.set()

    def free_slots(self) -> int:
        return self.cap - len(self.in_flight) - self.creating

    def stop_submitting(self, reason: str) -> None:
        if self.report.stop_reason is None:
            self.report.stop_reason = reason
        self.signal()

    def cancel_all(self) -> None:
        for task in (*self.tasks, *self.followers):
            task.cancel()

    def fail(self, error: ApiError) -> None:
        self.report.fatal = self.report.fatal or error
        self.stop_submitting(str(error))
        self.cancel_all()

    def interrupt(self) -> None:
        """Ctrl-C: no new creates; what is in flight stays recorded for the next run."""
        self.report.interrupted = True
        self.stop_submitting("interrupted")
        self.cancel_all()

    # the run ------------------------------------------------------------

    async def run(self, submissions: Iterator[Submission]) -> RunReport:
        for entry in list(self.state.entries.values()):
            if entry.in_progress and entry.video_id:
                self.follow(entry)
        deadline = time.monotonic() + self.options.timeout if self.options.timeout else None
        try:
            await self.submit_all(submissions, deadline)
            await self.drain(deadline)
        except asyncio.CancelledError:
            self.report.interrupted = True
        finally:
            self.cancel_all()
            await asyncio.gather(*self.tasks, *self.followers, return_exceptions=True)
        return self.report

    async def submit_all(self, submissions: Iterator[Submission], deadline: float | None) -> None:
        while self.report.stop_reason is None:
            if deadline and time.monotonic() > deadline:
                self.report.timed_out = True
                self.stop_submitting("the timeout was reached")
                break
            wait = self.rate_limited_until - time.monotonic()
            if self.free_slots() <= 0 or wait > 0:
                if self.options.no_wait and self.free_slots() <= 0 and not self.creating:
                    break
                await self.wait_for_change(wait if wait > 0 else None)
                continue
            item = self.retry.popleft() if self.retry else next(submissions, None)
            if item is None:
                if not self.creating:
                    break
                await self.wait_for_change(None)
                continue
            self.creating += 1
            self.spawn(self.submit(item))

    async def drain(self, deadline: float | None) -> None:
        while self.tasks:
            await asyncio.wait(set(self.tasks))
        if self.options.no_wait or not self.followers:
            return
        remaining = deadline - time.monotonic() if deadline else None
        if remaining is not None and remaining <= 0:
            self.report.timed_out = bool(self.followers)
            return
        _, still = await asyncio.wait(set(self.followers), timeout=remaining)
        self.report.timed_out = bool(still)

    async def wait_for_change(self, timeout: float | None) -> None:
        self.changed.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout=timeout if timeout else 1.0)

    # one create -----------------------------------------------------------

    async def submit(self, item: Submission) -> None:
        row = item.row
        previous = self.state.entries.get(row.key)
        intent = Entry(
            key=row.key,
            request=row.request,
            status=SUBMITTING,
            title=row.title,
            intent_at=now_iso(),
            previous_video_ids=previous.known_video_ids if previous else (),
        )
        self.state.record(intent, durable=True)
        try:
            video_id = await self.client.create_video(item.body, wait_when_rate_limited=False)
        except RateLimited as exc:
            self.restore(previous, intent)
            self.learn_cap(exc)
            self.retry.appendleft(item)
        except NoCredit as exc:
            self.restore(previous, intent)
            self.stop_submitting(f"HeyGen says the account is out of credit ({exc})")
        except AuthError as exc:
            self.restore(previous, intent)
            self.fail(exc)
        except InvalidRequest as exc:
            self.state.record(
                intent.evolve(
                    status=FAILED,
                    finished_at=now_iso(),
                    failure_code=exc.code or "invalid_parameter",
                    failure_message=str(exc),
                ),
                durable=True,
            )
            self.progress.event(row.key, f"rejected: {exc}")
        except TransientError as exc:
            self.restore(previous, intent)
            self.unreachable += 1
            self.progress.event(row.key, f"not sent: HeyGen {exc}; will try again")
            if self.unreachable >= MAX_UNREACHABLE:
                self.stop_submitting(f"HeyGen cannot be reached ({exc})")
            self.retry.append(item)
        except OutcomeUnknown as exc:
            self.progress.event(row.key, f"answer lost ({exc}); settling before any resend")
            await self.settle_one(item)
        else:
            self.unreachable = 0
            entry = intent.evolve(status="waiting", video_id=video_id, submitted_at=now_iso())
            self.state.record(entry, durable=True)
            self.progress.event(row.key, f"submitted as {video_id}")
            self.follow(entry)
        finally:  # a lost create holds its slot until settle_one has looked for it
            self.creating -= 1
            self.signal()

    async def settle_one(self, item: Submission) -> None:
        """Looks for a lost create's video; the row is sent again only if it never landed."""
        settled = await settle(
            self.client, self.state, [item.row.key], grace=self.options.settle_grace
        )
        result = settled[item.row.key]
        if result.video_id:
            self.progress.event(item.row.key, f"found as {result.video_id}")
            self.follow(result)
        elif result.status == NOT_CREATED and item.resends < MAX_RESENDS:
            item.resends += 1
            self.retry.append(item)
        else:
            self.progress.event(item.row.key, f"{result.status}: {result.failure_message}")

    def restore(self, previous: Entry | None, intent: Entry) -> None:
        """Nothing was created: the row goes back to what it was."""
        if previous is not None:
            self.state.record(previous, durable=True)
        else:
            self.state.record(intent.evolve(status=NOT_CREATED), durable=True)

    def learn_cap(self, error: RateLimited) -> None:
        busy = len(self.in_flight) + self.creating - 1
        if busy > 0 and busy < self.cap:
            self.cap = busy
            self.progress.event("account", f"HeyGen allows {busy} renders at once; keeping to that")
        pause = error.retry_after * random.uniform(1.0, 1.2)
        self.rate_limited_until = max(self.rate_limited_until, time.monotonic() + pause)

    # following a video ------------------------------------------------------

    def follow(self, entry: Entry) -> None:
        assert entry.video_id
        self.in_flight[entry.video_id] = entry.key
        if self.options.no_wait:
            return
        self.spawn(self.watch(entry.key, entry.video_id, entry.submitted_at), follower=True)

    async def watch(self, key: str, video_id: str, submitted_at: str | None) -> None:
        started = parse_iso(submitted_at) or time.time()
        try:
            while True:
                age = time.time() - started
                await asyncio.sleep(poll_spacing(age, self.options.poll_interval))
                try:
                    video = await self.client.video_status(video_id)
                except AuthError as exc:
                    self.fail(exc)
                    return
                except ApiError as exc:
                    self.progress.event(key, f"status check failed, will retry: {exc}")
                    continue
                entry = self.state.entries.get(key)
                if entry is None or entry.video_id != video_id:
                    return
                if video.status != entry.status:
                    self.state.record(observed(entry, video), durable=video.finished)
                    self.progress.event(key, video.status)
                if video.finished:
                    if video.out_of_credit:
                        self.stop_submitting("HeyGen failed a video for lack of credit")
                    return
        finally:
            self.in_flight.pop(video_id, None)
            self.signal()

    def counts(self) -> Counter[str]:
        """Rows per status, as a person reads them: a row sent back to the queue is to submit."""
        labels = {NOT_CREATED: "to submit"}
        return Counter(labels.get(e.status, e.status) for e in self.state.entries.values())
