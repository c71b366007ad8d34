"""Group commit: one fsync of the journal for every record written before it, in a thread.

A create's intent must be on disk before its POST, and its video_id soon after. With 100
creates in flight, one fsync each (about 6 ms here) blocked the event loop for a third of a
2,000-video run. Records are written at once (a kill -9 keeps them: they are in the OS's
page cache); `wait()` returns when an fsync that began after the call has finished.
"""

from __future__ import annotations

import asyncio
import os

from heyrender.state.store import State


def sync_and_close(descriptor: int | None) -> None:
    if descriptor is None:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class GroupCommit:
    def __init__(self, state: State) -> None:
        self.state = state
        self.queued: asyncio.Future[None] | None = None
        self.running = False

    async def wait(self) -> None:
        """Returns once every record written before this call is on disk."""
        await asyncio.shield(self.request())

    def soon(self) -> None:
        """Makes what was written durable without waiting for it."""
        self.request()

    def request(self) -> asyncio.Future[None]:
        batch = self.queued
        if batch is None:
            batch = self.queued = asyncio.get_running_loop().create_future()
            batch.add_done_callback(lambda done: done.cancelled() or done.exception())
            if not self.running:
                self.start()
        return batch

    def start(self) -> None:
        batch, self.queued = self.queued, None
        assert batch is not None
        self.running = True
        loop = asyncio.get_running_loop()
        descriptor = self.state.journal_descriptor()
        try:
            work = loop.run_in_executor(None, sync_and_close, descriptor)
        except RuntimeError:  # the loop is shutting down: sync here (the final checkpoint
            sync_and_close(descriptor)  # writes the lockfile durably anyway)
            self.running = False
            if not batch.done():
                batch.set_result(None)
            return

        def finished(done: asyncio.Future[None]) -> None:
            self.running = False
            if not batch.done():
                error = done.exception() if not done.cancelled() else None
                if error is not None:
                    batch.set_exception(error)
                else:
                    batch.set_result(None)
            if self.queued is not None:
                self.start()

        work.add_done_callback(finished)
