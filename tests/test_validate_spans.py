"""Parallel validate's many spans: cut points found in one scan, spans of shrinking size handed
to whichever worker is free, results joined in row order whatever order they arrive in."""

from __future__ import annotations

import itertools
import random
import time
from array import array
from pathlib import Path

import pytest

from heyrender.campaign import parallel, repeats
from heyrender.campaign.csvsource import CsvSource
from heyrender.campaign.manifest import load
from tests.test_validate_parallel import MANIFEST, outcome, people


@pytest.fixture(autouse=True)
def split_small_files(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)


def cut(path: Path, targets: list[int]) -> list[parallel.Span]:
    with open(path, "rb") as file:
        return list(parallel.cuts(file, targets))


def rows_of(path: Path, spans: list[parallel.Span]) -> list[tuple[str, int]]:
    found = []
    for span in spans:
        with CsvSource(path, span) as source:
            found.extend((row.values["email"], row.line) for row in source)
    return found


@pytest.mark.parametrize("block", [1, 2, 7, 64, 1 << 20])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_spans_read_the_same_rows_whatever_the_block_size(tmp_path, monkeypatch, block, newline):
    monkeypatch.setattr(parallel, "BLOCK", block)
    path = tmp_path / "people.csv"
    path.write_bytes(people(60).replace("\n", newline).encode())
    size = path.stat().st_size
    spans = cut(path, list(range(1, size, 97)))
    assert len(spans) > 10
    assert spans[0].start == 0 and spans[-1].end == size
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))
    with CsvSource(path) as whole:
        assert rows_of(path, spans) == [(row.values["email"], row.line) for row in whole]


@pytest.mark.parametrize("block", [3, 4, 5, 1 << 20])
def test_a_cr_lf_split_across_two_blocks_is_not_a_bare_cr(tmp_path, monkeypatch, block) -> None:
    monkeypatch.setattr(parallel, "BLOCK", block)
    path = tmp_path / "c.csv"
    path.write_bytes(b"k,v\r\na,1\r\nb,2\r\nc,3\r\n")
    assert [span.line for span in cut(path, [4, 9, 14])] == [1, 2, 3, 4]


@pytest.mark.parametrize("block", [3, 4, 5, 1 << 20])
@pytest.mark.parametrize(
    "text", [b"k,v\r\na,1\rb,2\r\n", b"k,v\r\na,1\r\nb,2\r", b"k,v\ra,1\r\nb,2\r\n"]
)
def test_a_bare_cr_anywhere_makes_the_file_unsplittable(tmp_path, monkeypatch, block, text):
    monkeypatch.setattr(parallel, "BLOCK", block)
    path = tmp_path / "c.csv"
    path.write_bytes(text)
    with pytest.raises(parallel.Unsplittable):
        cut(path, [5])
    assert parallel.spans(path, 2) is None


def test_spans_shrink_toward_the_end_and_there_are_more_than_workers() -> None:
    size, workers = 84_000_000, 2
    ends = list(parallel.targets(size, workers))
    steps = [b - a for a, b in itertools.pairwise([0, *ends])]
    assert all(0 < step <= parallel.MAX_SPAN for step in steps)
    assert steps[-1] == parallel.MIN_SPAN < steps[len(steps) // 2]
    assert steps == sorted(steps, reverse=True) and ends[-1] < size
    assert len(ends) > 8 * workers
    small = list(parallel.targets(20_000, 4))  # a small file is cut finer, never into nothing
    assert len(small) > 8 and small[-1] < 20_000


def test_repeats_found_a_value_range_at_a_time_are_the_same() -> None:
    rng = random.Random(7)
    values = [rng.randrange(-(2**63), 2**63) for _ in range(5000)]
    values += [values[10], values[4000], -(2**63), -(2**63), 2**63 - 1, 2**63 - 1, 0, 0]
    rng.shuffle(values)
    runs = [array("q", sorted(values[i : i + 700])) for i in range(0, len(values), 700)]
    expected = repeats.repeats_in_runs(runs)
    assert len(expected) == 5
    for parts in (1, 2, 3, 5):
        split = repeats.split_runs(runs, parts)
        assert len(split) == parts
        assert sum(len(run) for part in split for run in part) == len(values)
        assert set().union(*(repeats.repeats_in_runs(part) for part in split)) == expected


def test_a_ledger_uses_repeats_found_elsewhere() -> None:
    ledger = repeats.Ledger()
    for line, text in enumerate(["a", "b", "a", "c"], 2):
        ledger.add(text, line)
    assert ledger.suspects() == [2, 4]
    ledger.found = {hash("c")}
    assert ledger.suspects() == [5]
    ledger.extend(repeats.Ledger())
    assert ledger.found is None and ledger.suspects() == [2, 4]


def faulty(i: int, cells: list[str]) -> None:
    if i % 13 == 0 or i % 7 == 3:
        cells[2] = ""  # no avatar: invalid
    if i in (4, 250, 598):
        cells[0] = "again@x"
    if i in (20, 590):
        cells[4] = "Same title"


def no_avatar(i: int, cells: list[str]) -> None:
    if i % 13 == 0 or i % 7 == 3:
        cells[2] = ""


def test_spans_finishing_out_of_order_still_report_in_row_order(campaign, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "BLOCK", 64)
    invalid = campaign(MANIFEST, people(600, no_avatar))
    serial = outcome(invalid, 1)
    original = parallel.validate_span

    def first_spans_last(manifest, expansion):  # runs in the forked workers
        if expansion.span.start == 0 or expansion.span.line % 3 == 0:
            time.sleep(0.05)
        return original(manifest, expansion)

    monkeypatch.setattr(parallel, "validate_span", first_spans_last)
    assert serial[1] > 100 and outcome(invalid, 3) == serial

    repeated = campaign(MANIFEST, people(600, faulty))
    serial = outcome(repeated, 1)
    assert serial[0] == "error" and "duplicate email: again@x (lines " in serial[1]
    assert outcome(repeated, 3) == serial
    joined = parallel.validate(load(repeated), 3)
    assert joined is not None
    assert joined[1].keys.found == {hash("again@x")}
    assert joined[0].titles.found == {hash("Same title")}


def test_problems_in_row_order_across_many_spans(campaign) -> None:
    path = campaign(MANIFEST, people(600, no_avatar))
    serial = outcome(path, 1)
    assert serial[1] > 100 and outcome(path, 2) == serial == outcome(path, 5)


def test_a_span_that_fails_sends_the_whole_csv_to_one_process(campaign, monkeypatch) -> None:
    path = campaign(MANIFEST, people(400, faulty))
    serial = outcome(path, 1)
    original = parallel.validate_span

    def fails_late(manifest, expansion):
        if expansion.span.start > 0 and expansion.span.line > 500:
            raise RuntimeError("a worker's surprise")
        return original(manifest, expansion)

    monkeypatch.setattr(parallel, "validate_span", fails_late)
    assert parallel.validate(load(path), 2) is None
    assert outcome(path, 2) == serial


def test_the_workers_use_the_parents_compile_of_the_templates(campaign, monkeypatch) -> None:
    from heyrender.campaign.expand import Expansion

    path = campaign(MANIFEST, people(400))
    original = Expansion.compile

    def only_in_the_parent(self, header):
        if self.span is not None:  # a span's pass, in a worker: it would fail, and fall back
            raise AssertionError("compiled again")
        return original(self, header)

    monkeypatch.setattr(Expansion, "compile", only_in_the_parent)
    split = parallel.validate(load(path), 2)
    assert split is not None and split[0].valid == 400


def test_a_worker_that_dies_sends_the_whole_csv_to_one_process(campaign, monkeypatch) -> None:
    import os
    import threading

    path = campaign(MANIFEST, people(400, faulty))
    serial = outcome(path, 1)
    original = parallel.validate_span

    def killed(manifest, expansion):  # as the out-of-memory killer would, in one worker
        if expansion.span.line > 500:
            os._exit(9)
        return original(manifest, expansion)

    monkeypatch.setattr(parallel, "validate_span", killed)
    monkeypatch.setattr(parallel, "WAIT", 0.05)
    answers: list[object] = []
    waiting = threading.Thread(
        target=lambda: answers.append(parallel.validate(load(path), 2)), daemon=True
    )
    waiting.start()
    waiting.join(timeout=30)
    assert answers == [None], "still waiting for a span that will never come"
    assert outcome(path, 2) == serial
