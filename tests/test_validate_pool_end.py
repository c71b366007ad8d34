"""A parallel pass that ends early ends its pool without killing a worker in the middle of a
task: Pool.terminate() can then wait for ever on the result queue's lock (cpython#96995), and
validate would never end."""

from __future__ import annotations

import threading
import time
from multiprocessing.pool import Pool

import pytest

from heyrender.campaign import parallel
from heyrender.campaign.manifest import load
from tests.test_validate_parallel import MANIFEST, outcome, people


@pytest.fixture(autouse=True)
def split_small_files(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "WAIT", 0.05)


def busy_at_terminate(monkeypatch) -> list[int]:
    """How many tasks each terminate() found unfinished."""
    busy: list[int] = []
    real = Pool.terminate

    def counted(self: Pool) -> None:
        busy.append(len(self._cache))  # type: ignore[attr-defined]
        real(self)

    monkeypatch.setattr(Pool, "terminate", counted)
    return busy


def test_a_pass_that_ends_early_lets_the_tasks_in_hand_finish(campaign, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "BLOCK", 64)  # many small spans, several in hand at once
    header, rows = people(2000).split("\n", 1)
    text = f'{header}\nbad@x,"N"x,a1,v1,T,\n{rows}'  # the first span fails at once
    path = campaign(MANIFEST, text)
    original = parallel.validate_span

    def slow(manifest, expansion):  # in the workers: the later spans still run at the end
        time.sleep(0.2)
        return original(manifest, expansion)

    monkeypatch.setattr(parallel, "validate_span", slow)
    busy = busy_at_terminate(monkeypatch)
    started = time.monotonic()
    assert parallel.validate(load(path), 3) is None
    assert busy == [0]
    assert time.monotonic() - started < 5, "the spans not begun were run anyway"


def test_a_pool_that_cannot_end_does_not_hold_up_validate(campaign, monkeypatch) -> None:
    """A worker dies with its span in hand, and terminate() hangs, as it does when a worker
    died holding the result queue's lock: the pass falls back to one process regardless."""
    import os

    path = campaign(MANIFEST, people(400))
    serial = outcome(path, 1)
    original = parallel.validate_span

    def killed(manifest, expansion):
        if expansion.span.line > 200:
            os._exit(9)
        return original(manifest, expansion)

    monkeypatch.setattr(parallel, "validate_span", killed)
    monkeypatch.setattr(parallel, "GRACE", 0.5)
    release = threading.Event()
    real = Pool.terminate

    def hangs(self: Pool) -> None:
        release.wait(60)
        real(self)

    monkeypatch.setattr(Pool, "terminate", hangs)
    started = time.monotonic()
    try:
        assert parallel.validate(load(path), 2) is None
        assert time.monotonic() - started < 20
    finally:
        release.set()  # the pool, ended in the background, now ends for real
    monkeypatch.setattr(parallel, "validate_span", original)
    assert outcome(path, 2) == serial
