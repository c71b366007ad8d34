"""Finding strings that repeat across many rows while keeping only 8 bytes and a line for each.

A Ledger keeps each string's hash and line. `suspects()` returns the lines whose hashes repeat;
the caller rereads those few rows and compares the real strings, so a hash collision never
reports a false repeat. Hashes are Python's own `hash()`, which processes forked from one parent
share (see campaign.parallel).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from itertools import chain, compress, islice, pairwise
from operator import eq

CHUNK = 65_536


class Ledger:
    def __init__(self) -> None:
        self.hashes = array("q")
        self.lines = array("I")  # 4 bytes a line: a CSV of 4 billion lines is no campaign
        self.runs: list[array[int]] = []  # sorted copies of the hashes, span by span
        self.found: set[int] | None = None  # the repeated hashes, once all are added

    def sort(self) -> None:
        """Sorts the hashes once, here (in a span's own process), for suspects() to merge."""
        self.runs = [array("q", sorted(self.hashes))]

    def add(self, text: str, line: int) -> None:
        self.hashes.append(hash(text))
        self.lines.append(line)

    def extend(self, other: Ledger) -> None:
        self.found = None
        if other.hashes:
            if not self.hashes:
                self.runs = list(other.runs)
            else:
                self.runs = [*self.runs, *other.runs] if self.runs and other.runs else []
        self.hashes.extend(other.hashes)
        self.lines.extend(other.lines)

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def all_sorted(self) -> bool:
        """Whether `runs` holds every hash."""
        return bool(self.runs) and sum(map(len, self.runs)) == len(self.hashes)

    def repeated(self) -> set[int]:
        """The hashes that occur more than once."""
        if self.found is not None:
            return self.found
        return repeats_in_runs(self.runs if self.all_sorted else sorted_chunks(self.hashes))

    def suspects(self) -> list[int]:
        """The lines, in order, of every entry whose hash occurs more than once."""
        repeated = self.repeated()
        if not repeated:
            return []
        chosen = (value in repeated for value in self.hashes)
        return sorted(compress(self.lines, chosen))


def repeats_in(ordered: list[int]) -> set[int]:
    if not any(map(eq, ordered, islice(ordered, 1, None))):  # at C speed: the common case
        return set()
    return {a for a, b in pairwise(ordered) if a == b}


def sorted_chunks(values: array[int]) -> list[array[int]]:
    """The values as sorted runs of CHUNK each: sorting them whole would make a Python int
    of each (40 bytes a value, beside the array's 8)."""
    return [array("q", sorted(values[i : i + CHUNK])) for i in range(0, len(values), CHUNK)]


def repeats_in_runs(runs: list[array[int]]) -> set[int]:
    """Repeated values across sorted runs, merged a value range at a time, so memory stays
    small: equal values always fall in the same range of every run. The ranges' edges are a
    sample of every run's values, about CHUNK // 4 values apart."""
    step = CHUNK // 4
    edges = sorted({run[i] for run in runs for i in range(step, len(run), step)})
    starts = [0] * len(runs)
    repeated: set[int] = set()
    for edge in [*edges, None]:
        ends = [len(run) if edge is None else bisect_left(run, edge) for run in runs]
        parts = (run[a:b] for run, a, b in zip(runs, starts, ends, strict=True))
        repeated |= repeats_in(sorted(chain.from_iterable(parts)))
        starts = ends
    return repeated


def split_runs(runs: list[array[int]], parts: int) -> list[list[array[int]]]:
    """The runs cut into `parts` ranges of values, evenly over all 64-bit values (which hashes
    fill evenly): a value repeats in the runs if and only if it repeats in its range's."""
    low = -(2**63)
    edges = [low + (2**64 * part) // parts for part in range(1, parts)]
    cuts = [[0, *(bisect_left(run, edge) for edge in edges), len(run)] for run in runs]
    return [
        [run[ends[part] : ends[part + 1]] for run, ends in zip(runs, cuts, strict=True)]
        for part in range(parts)
    ]


def groups(found: list[tuple[str, int]]) -> list[tuple[str, list[int]]]:
    """The strings that truly repeat among (string, line) pairs, ordered by their second line."""
    lines: dict[str, list[int]] = {}
    for text, line in sorted(found, key=lambda pair: pair[1]):
        lines.setdefault(text, []).append(line)
    repeated = [(text, found_lines) for text, found_lines in lines.items() if len(found_lines) > 1]
    return sorted(repeated, key=lambda pair: pair[1][1])
