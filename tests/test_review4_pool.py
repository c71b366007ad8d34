"""Hostile review of validate's parallel pass: a CSV replaced or rewritten while the pass reads
it must give the report a serial pass gives of the file as it is now, never spans of one file
read from another."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from heyrender.campaign import parallel
from heyrender.campaign.csvsource import Span
from heyrender.campaign.manifest import load
from tests.test_validate_parallel import MANIFEST, outcome, people


@pytest.fixture(autouse=True)
def split_small_files(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "WAIT", 0.05)


def changing_after_the_scan(monkeypatch, change) -> None:
    """The scan finds every cut in the CSV as it was; then `change(path)` runs, before any
    span is handed out, so every worker reads the CSV as it is after the change."""
    real = parallel.cuts

    def cuts(file, targets) -> Iterator[Span]:
        found = list(real(file, targets))
        change()
        yield from found

    monkeypatch.setattr(parallel, "cuts", cuts)


def plain(i: int, cells: list[str]) -> None:
    cells[1] = f"N{i}"  # no quoted field: a span cut mid-record parses without error


def longer_first_name(i: int, cells: list[str]) -> None:
    plain(i, cells)
    if i == 0:
        cells[1] = "A much longer first name than before " * 3


@pytest.mark.parametrize("how", ["replaced", "rewritten in place"])
def test_a_csv_changed_during_the_pass_is_reported_as_it_is_now(campaign, monkeypatch, how) -> None:
    manifest_path = campaign(MANIFEST, people(600, plain))
    path = load(manifest_path).source.csv
    after = people(600, longer_first_name)

    def change() -> None:
        if how == "replaced":
            fresh = path.with_name("fresh.csv")
            fresh.write_text(after)
            os.replace(fresh, path)
        else:
            path.write_text(after)

    changing_after_the_scan(monkeypatch, change)
    split = outcome(manifest_path, 4)
    monkeypatch.undo()
    assert path.read_text() == after
    assert split == outcome(manifest_path, 1)
    assert split[1] == 0, split  # every row of the new file is valid


def test_workers_killed_while_idle_end_the_pass_promptly_and_leave_no_process(
    campaign, monkeypatch
) -> None:
    """An idle worker waits for its next span holding the task queue's read lock: killed so, it
    leaves Pool.terminate() waiting for ever, which must cost neither the grace period nor
    workers left running once validate returns."""
    monkeypatch.setattr(parallel, "GRACE", 30.0)
    manifest_path = campaign(MANIFEST, people(3000))
    real = parallel.join

    def join(manifest, done, count, workers):
        joined = real(manifest, done, count, workers)
        time.sleep(0.2)  # every span done: the workers wait for more, one holding the lock
        for pid in workers.pids:
            os.kill(pid, signal.SIGKILL)
        while workers.intact():
            time.sleep(0.01)
        return joined

    monkeypatch.setattr(parallel, "join", join)
    before = {process.pid for process in multiprocessing.active_children()}
    started = time.monotonic()
    split = outcome(manifest_path, 2)
    took = time.monotonic() - started
    monkeypatch.undo()
    assert split == outcome(manifest_path, 1)
    assert took < 15, f"{took:.1f} s: the pass waited out its grace period"
    left = {process.pid for process in multiprocessing.active_children()} - before
    assert not left, "pool workers outlived validate"


def test_workers_killed_after_the_last_task_do_not_hang_the_pass(campaign, monkeypatch) -> None:
    """Every task done, then the workers die (the out-of-memory killer, a kill -9) while one
    holds the task queue's read lock: terminate() would wait for that lock for ever."""
    monkeypatch.setattr(parallel, "GRACE", 2.0)
    manifest_path = campaign(MANIFEST, people(3000))
    real = parallel.find_repeats

    def find_repeats(pool, ledgers):
        real(pool, ledgers)
        time.sleep(0.2)  # the workers wait for more, one holding the lock
        for pid in pool.workers.pids:
            os.kill(pid, signal.SIGKILL)
        while pool.workers.intact():
            time.sleep(0.01)

    monkeypatch.setattr(parallel, "find_repeats", find_repeats)
    before = {process.pid for process in multiprocessing.active_children()}
    answers: list[object] = []
    waiting = threading.Thread(
        target=lambda: answers.append(parallel.validate(load(manifest_path), 2)), daemon=True
    )
    waiting.start()
    waiting.join(timeout=20)
    assert answers and answers[0] is not None, "the pass never ended"
    left = {process.pid for process in multiprocessing.active_children()} - before
    assert not left, "pool workers outlived validate"
