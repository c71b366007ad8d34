"""Recorded state for commands that only read it: every row's checked fields in key
order, the journal's latest record over the lockfile's line, streamed without building
an Entry per row, so `status` on 100k rows holds one row at a time."""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from heyrender.errors import LockfileError
from heyrender.state import lockfile, store
from heyrender.state.lockfile import FIELD_ORDER, Entry

Result = TypeVar("Result")
Row = dict[str, Any]


class Unsorted(Exception):
    """The lockfile's rows are not in key order (a hand edit): merge the slow way."""


def as_row(entry: Entry) -> Row:
    return {name: getattr(entry, name) for name in FIELD_ORDER}


def merged(lock_path: Path, manifest_name: str) -> Iterator[list[Row]]:
    """Lockfile rows (sorted by key, as heyrender writes them) merged with the journal's,
    a batch at a time."""
    journal = {row["key"]: row for _, row in store.records(store.journal_path(lock_path))}
    waiting = sorted(journal)
    next_waiting = 0
    previous: str | None = None
    for batch in lockfile.row_batches(lock_path, manifest_name):
        out: list[Row] = []
        for number, row in batch:
            key = row["key"]
            if previous is not None and key <= previous:
                if key == previous:
                    raise LockfileError(lock_path, f"key {key!r} appears twice", line=number)
                raise Unsorted
            previous = key
            if waiting:
                while next_waiting < len(waiting) and waiting[next_waiting] < key:
                    out.append(journal[waiting[next_waiting]])
                    next_waiting += 1
                if next_waiting < len(waiting) and waiting[next_waiting] == key:
                    next_waiting += 1
                    row = journal[key]
            out.append(row)
        yield out
    yield [journal[key] for key in waiting[next_waiting:]]


def recorded(
    lock_path: Path, manifest_name: str, consume: Callable[[Iterator[list[Row]]], Result]
) -> Result:
    """consume(batches of rows in key order). Streams; a lockfile out of order is loaded
    whole."""
    try:
        return consume(merged(lock_path, manifest_name))
    except Unsorted:
        entries = store.State.load(lock_path, manifest_name).entries
        return consume(iter([[as_row(entries[key]) for key in sorted(entries)]]))


COMPLETED = "completed"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class PlanEntries(Mapping[str, Entry]):
    """Recorded entries by key, as plan needs them: about 45 bytes per completed row
    beside its key.

    A completed row whose request is a sha256 hash is kept as its key (UTF-8, in one
    buffer) and its 32-byte digest, and read back as an Entry with key, request and
    status only: all that plan asks of a finished row. Every other row (in progress,
    failed, missing, uncertain...) is kept whole. Loading every Entry costs about 1.2 KB
    per row: 1.2 GB at a million rows.
    """

    def __init__(self, batches: Iterable[list[Row]]) -> None:
        keys = self._keys = bytearray()
        ends = self._ends = array("I")  # "Q" once the keys pass 4 GiB
        digests = self._digests = bytearray()
        whole: dict[str, Entry] = {}
        self._whole = whole
        self._completed: Any = None
        buckets = array("I")
        lean_digest = DIGEST.fullmatch
        for batch in batches:
            for row in batch:
                request, status = row["request"], row["status"]
                if status == COMPLETED and len(request) == 71 and lean_digest(request):
                    self._completed = status
                    key = row["key"]
                    keys += key.encode("utf-8", "surrogatepass")
                    if len(keys) > 0xFFFFFFFF and ends.typecode == "I":
                        ends = self._ends = array("Q", ends)
                    ends.append(len(keys))
                    digests += bytes.fromhex(request[7:])
                    buckets.append(hash(key) & MASK)
                else:
                    whole[row["key"]] = Entry(**row)
        self._index = BucketIndex(buckets)

    def _key(self, index: int) -> bytearray:
        start = self._ends[index - 1] if index else 0
        return self._keys[start : self._ends[index]]

    @property
    def whole(self) -> Mapping[str, Entry]:
        """The rows kept whole: every row but a completed one with a sha256 request."""
        return self._whole

    @property
    def lean_count(self) -> int:
        """How many completed rows are kept lean, numbered 0 to lean_count - 1."""
        return len(self._ends)

    def find(self, key: str) -> int:
        """The number of the lean completed row with this key, or -1."""
        return self._index.find(key, self._keys, self._ends)

    def key_at(self, index: int) -> str:
        return self._key(index).decode("utf-8", "surrogatepass")

    def digest_at(self, index: int) -> bytearray:
        """The 32 bytes of the lean row's request hash."""
        return self._digests[32 * index : 32 * index + 32]

    def __getitem__(self, key: str) -> Entry:
        whole = self._whole.get(key)
        if whole is not None:
            return whole
        index = self.find(key)
        if index < 0:
            raise KeyError(key)
        request = "sha256:" + self.digest_at(index).hex()
        return Entry(key=key, request=request, status=self._completed)

    def __iter__(self) -> Iterator[str]:
        for index in range(len(self._ends)):
            yield self._key(index).decode("utf-8", "surrogatepass")
        yield from self._whole

    def __len__(self) -> int:
        return len(self._ends) + len(self._whole)


MASK = 0xFFFFFFFF  # 32 bits of the key's hash: its top bits pick the bucket


class BucketIndex:
    """Row numbers grouped by a 32-bit hash of their key (about two per bucket): a counting
    sort into one array. The hash itself is kept to skip most key comparisons."""

    def __init__(self, hashes: array[int]) -> None:
        self.size = 1 << max(4, len(hashes).bit_length() - 1)
        self._hashes = hashes
        self._shift = 32 - (self.size.bit_length() - 1)
        counts = array("I", bytes(4 * (self.size + 1)))
        for value in hashes:
            counts[(value >> self._shift) + 1] += 1
        for bucket in range(self.size):
            counts[bucket + 1] += counts[bucket]
        self._starts = counts
        order = array("I", bytes(4 * len(hashes)))
        filled = array("I", counts)
        for index, value in enumerate(hashes):
            bucket = value >> self._shift
            order[filled[bucket]] = index
            filled[bucket] += 1
        self._order = order

    def find(self, key: str, keys: bytearray, ends: array[int]) -> int:
        """The row whose key (keys[ends[row - 1]:ends[row]], UTF-8) is `key`, or -1: what
        candidates() and a key comparison do, in one loop (plan asks it of every row)."""
        value = hash(key) & MASK
        bucket = value >> self._shift
        hashes, order = self._hashes, self._order
        wanted: bytes | None = None
        for position in range(self._starts[bucket], self._starts[bucket + 1]):
            index = order[position]
            if hashes[index] == value:
                if wanted is None:
                    wanted = key.encode("utf-8", "surrogatepass")
                if keys[ends[index - 1] if index else 0 : ends[index]] == wanted:
                    return index
        return -1

    def candidates(self, value: int) -> Iterator[int]:
        bucket = value >> self._shift
        for position in range(self._starts[bucket], self._starts[bucket + 1]):
            index = self._order[position]
            if self._hashes[index] == value:
                yield index


def plan_entries(lock_path: Path, manifest_name: str) -> PlanEntries:
    """What plan compares the campaign with, streamed into PlanEntries."""
    return recorded(lock_path, manifest_name, PlanEntries)
