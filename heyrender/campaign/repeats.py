"""Finding strings that repeat across many rows while keeping only 8 bytes and a line for each.

A Ledger keeps each string's hash and line. `suspects()` returns the lines whose hashes repeat;
the caller rereads those few rows and compares the real strings, so a hash collision never
reports a false repeat. Hashes are Python's own `hash()`, which processes forked from one parent
share (see campaign.parallel).
"""

from __future__ import annotations

from array import array
from itertools import chain, compress, islice, pairwise
from operator import eq


class Ledger:
    def __init__(self) -> None:
        self.hashes = array("q")
        self.lines = array("L")
        self.runs: list[array[int]] = []  # sorted copies of the hashes, span by span

    def sort(self) -> None:
        """Sorts the hashes once, here (in a span's own process), for suspects() to merge."""
        self.runs = [array("q", sorted(self.hashes))]

    def add(self, text: str, line: int) -> None:
        self.hashes.append(hash(text))
        self.lines.append(line)

    def extend(self, other: Ledger) -> None:
        if other.hashes:
            if not self.hashes:
                self.runs = list(other.runs)
            else:
                self.runs = [*self.runs, *other.runs] if self.runs and other.runs else []
        self.hashes.extend(other.hashes)
        self.lines.extend(other.lines)

    def __len__(self) -> int:
        return len(self.hashes)

    def suspects(self) -> list[int]:
        """The lines, in order, of every entry whose hash occurs more than once."""
        if self.runs and sum(map(len, self.runs)) == len(self.hashes):
            ordered = sorted(chain.from_iterable(self.runs))  # merging sorted runs: near O(n)
        else:
            ordered = sorted(self.hashes)
        if not any(map(eq, ordered, islice(ordered, 1, None))):  # at C speed: the common case
            return []
        repeated = {a for a, b in pairwise(ordered) if a == b}
        del ordered
        chosen = (value in repeated for value in self.hashes)
        return sorted(compress(self.lines, chosen))


def groups(found: list[tuple[str, int]]) -> list[tuple[str, list[int]]]:
    """The strings that truly repeat among (string, line) pairs, ordered by their second line."""
    lines: dict[str, list[int]] = {}
    for text, line in sorted(found, key=lambda pair: pair[1]):
        lines.setdefault(text, []).append(line)
    repeated = [(text, found_lines) for text, found_lines in lines.items() if len(found_lines) > 1]
    return sorted(repeated, key=lambda pair: pair[1][1])
