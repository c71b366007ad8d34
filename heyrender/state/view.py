"""Recorded state for commands that only read it: every row's checked fields in key
order, the journal's latest record over the lockfile's line, streamed without building
an Entry per row, so `status` on 100k rows holds one row at a time."""

from __future__ import annotations

import hashlib
import os
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import accumulate
from pathlib import Path
from typing import Any, TypeVar
from zlib import crc32

from heyrender.errors import LockfileError
from heyrender.state import lockfile, planindex, store
from heyrender.state.lockfile import FIELD_ORDER, Entry
from heyrender.state.planindex import Parts, tag_bits
from heyrender.status import Status

Result = TypeVar("Result")
Row = dict[str, Any]


class Unsorted(Exception):
    """The lockfile's rows are not in key order (a hand edit): merge the slow way."""


def as_row(entry: Entry) -> Row:
    return {name: getattr(entry, name) for name in FIELD_ORDER}


def journal_rows(lock_path: Path) -> dict[str, Row]:
    """The journal's latest record of each key."""
    return {row["key"]: row for _, row in store.records(store.journal_path(lock_path))}


def merged(
    lock_path: Path,
    manifest_name: str,
    journal: dict[str, Row],
    seen: Callable[[bytes], object] | None = None,
) -> Iterator[list[Row]]:
    """Lockfile rows (sorted by key, as heyrender writes them) merged with the journal's,
    a batch at a time. `seen` is given every byte of the lockfile read."""
    waiting = sorted(journal)
    next_waiting = 0
    previous: str | None = None
    for batch in lockfile.row_batches(lock_path, manifest_name, seen):
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
        return consume(merged(lock_path, manifest_name, journal_rows(lock_path)))
    except Unsorted:
        entries = store.State.load(lock_path, manifest_name).entries
        return consume(iter([[as_row(entries[key]) for key in sorted(entries)]]))


FEW = 100  # keys looked up by bisection of the lockfile rather than by streaming it


def recorded_rows(lock_path: Path, manifest_name: str, keys: set[str]) -> dict[str, Row]:
    """The latest record of each of these keys that has one: found by bisection when they are
    few and no journal lies beside the lockfile, else (and for any bisection misses) streamed."""
    found: dict[str, Row] = {}
    if not keys:
        return found
    if len(keys) <= FEW and not os.path.lexists(store.journal_path(lock_path)):
        found = lockfile.bisected(lock_path, manifest_name, keys)
    missing = keys - found.keys()
    if missing:

        def pick(batches: Iterator[list[Row]]) -> dict[str, Row]:
            return {row["key"]: row for batch in batches for row in batch if row["key"] in missing}

        found.update(recorded(lock_path, manifest_name, pick))
    return found


COMPLETED = "completed"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


# 32 bits of a key's UTF-8 (its CRC-32), the same in every process (unlike hash()), so that an
# index built by one plan serves the next.
key_hash = crc32


class PlanEntries(Mapping[str, Entry]):
    """Recorded entries by key, as plan needs them: about 45 bytes per completed row
    beside its key.

    A completed row whose request is a sha256 hash is kept as its key (UTF-8, in one
    buffer) and its 32-byte digest, and read back as an Entry with key, request and
    status only: all that plan asks of a finished row. Every other row (in progress,
    failed, missing, uncertain...) is kept whole. Loading every Entry costs about 1.2 KB
    per row: 1.2 GB at a million rows. state/planindex.py keeps these parts on disk.
    """

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self._keys, self._ends, self._digests = parts.keys, parts.ends, parts.digests
        self._whole = parts.whole
        self.find: Callable[[str], int] = finder(parts.slots, parts.keys, parts.ends)
        """The number of the lean completed row with this key, or -1."""

    @classmethod
    def of(cls, batches: Iterable[list[Row]]) -> PlanEntries:
        """From rows in key order, as `recorded` streams them: a batch's lean rows are packed
        together, their digests decoded in one call."""
        keys = bytearray()
        ends = array("I")  # "Q" once the keys pass 4 GiB
        digests = bytearray()
        whole: dict[str, Entry] = {}
        hashes = array("I")
        for batch in batches:
            lean: list[Row] = []
            for row in batch:
                request = row["request"]
                if row["status"] == COMPLETED and len(request) == 71 and request[:7] == "sha256:":
                    lean.append(row)
                else:
                    whole[row["key"]] = Entry(**row)
            packed = lowercase_hex("".join([row["request"][7:] for row in lean]))
            if packed is None:  # a digest in capitals, or not hex: row by row
                for row in lean:
                    if not DIGEST.fullmatch(row["request"]):
                        whole[row["key"]] = Entry(**row)
                lean = [row for row in lean if row["key"] not in whole]
                packed = bytes.fromhex("".join([row["request"][7:] for row in lean]))
            encoded = [row["key"].encode("utf-8", "surrogatepass") for row in lean]
            lengths = list(map(len, encoded))
            if lengths:
                if len(keys) + sum(lengths) > 0xFFFFFFFF and ends.typecode == "I":
                    ends = array("Q", ends)
                lengths[0] += len(keys)
                ends.extend(accumulate(lengths))
            keys += b"".join(encoded)
            digests += packed
            hashes.extend(map(key_hash, encoded))
        return cls(Parts(keys, ends, digests, key_table(hashes), whole))

    def _key(self, index: int) -> bytearray:
        start = self._ends[index - 1] if index else 0
        return self._keys[start : self._ends[index]]

    @property
    def whole(self) -> Mapping[str, Entry]:
        """The rows kept whole: every row but a completed one with a sha256 request."""
        return self._whole

    @property
    def lean_count(self) -> int:
        """How many completed rows are kept lean, numbered 0 to lean_count - 1 in key order
        (`of` is given rows in key order; an index is trusted to have kept it, as it is
        trusted for every digest: its checks catch damage, not forgery)."""
        return len(self._ends)

    def key_at(self, index: int) -> str:
        return self._key(index).decode("utf-8", "surrogatepass")

    def digest_at(self, index: int) -> bytearray:
        """The 32 bytes of the lean row's request hash."""
        return self._digests[32 * index : 32 * index + 32]

    def asked(self, index: int, digest: bytes | bytearray) -> bool:
        """Whether the lean row's request hash is these 32 bytes (compared in place)."""
        return self._digests.startswith(digest, 32 * index)

    def __getitem__(self, key: str) -> Entry:
        whole = self._whole.get(key)
        if whole is not None:
            return whole
        index = self.find(key)
        if index < 0:
            raise KeyError(key)
        request = "sha256:" + self.digest_at(index).hex()
        return Entry(key=key, request=request, status=Status.COMPLETED)

    def __iter__(self) -> Iterator[str]:
        for index in range(len(self._ends)):
            yield self.key_at(index)
        yield from self._whole

    def __len__(self) -> int:
        return len(self._ends) + len(self._whole)


def lowercase_hex(text: str) -> bytes | None:
    """The bytes that `text` writes in lowercase hex, or None when it is not that."""
    try:
        packed = bytes.fromhex(text)
    except ValueError:
        return None
    return packed if packed.hex() == text else None


def table_size(rows: int) -> int:
    """Slots for this many rows: a power of two, a third or more of them empty."""
    size = 16
    while 2 * size < 3 * rows:
        size *= 2
    return size


def key_table(hashes: array[int]) -> array[int]:
    """An open-addressing table of the rows by their keys' 32-bit hashes, one 32-bit number
    a slot (0: empty): its row's number plus one in the high bits, and in the low bits a tag,
    the hash's top bits, so that a search compares keys almost only where they are equal. A
    full slot passes the row on to the next."""
    size = table_size(len(hashes))
    mask, tags = size - 1, tag_bits(len(hashes))
    slots = array("I", bytes(4 * size))
    for row, value in enumerate(hashes, 1):
        at = value & mask
        while slots[at]:
            at = (at + 1) & mask
        slots[at] = row << tags | value >> 32 - tags
    return slots


def finder(slots: array[int], keys: bytearray, ends: array[int]) -> Callable[[str], int]:
    """find(key): the row whose key (keys[ends[row - 1]:ends[row]], UTF-8) is `key`, or -1.
    plan asks it of every row; a closure reads its arrays faster than a method would."""
    mask, tags = len(slots) - 1, tag_bits(len(ends))
    tag_of, top = (1 << tags) - 1, 32 - tags

    def find(key: str) -> int:
        wanted = key.encode("utf-8", "surrogatepass")
        value = key_hash(wanted)
        tag, at = value >> top, value & mask
        while entry := slots[at]:
            if entry & tag_of == tag:
                row = (entry >> tags) - 1  # -1 only in a forged table, and passed over
                start = ends[row - 1] if row > 0 else 0
                found = ends[row] - start == len(wanted) and keys.startswith(wanted, start)
                if found and row >= 0:
                    return row
            at = (at + 1) & mask
        return -1

    return find


def plan_entries(lock_path: Path, manifest_name: str) -> PlanEntries:
    """What plan compares the campaign with: from the plan index when it was built from
    exactly this lockfile and no run has journaled since; otherwise streamed from the
    lockfile (and journal), then kept in a fresh index for the next plan."""
    # A run in progress or cut short; a link there (even a dangling one) is refused, as ever.
    if os.path.lexists(store.journal_path(lock_path)):
        return recorded(lock_path, manifest_name, PlanEntries.of)
    cached = planindex.load(lock_path, manifest_name)
    if cached is not None:
        return PlanEntries(cached)
    if not os.path.lexists(lock_path):  # no lockfile yet
        return recorded(lock_path, manifest_name, PlanEntries.of)
    # The index names exactly the bytes parsed, hashed as they are read, and their stamp only
    # when it is settled: kept from before the read to after it, and from a tick before it.
    started = planindex.clock(lock_path)
    stamp = planindex.stamp_of(lock_path)
    if stamp is None:  # removed meanwhile
        return recorded(lock_path, manifest_name, PlanEntries.of)
    read = hashlib.sha256()
    try:  # the journal was absent a moment ago: a run that starts now is not seen, as before
        entries = PlanEntries.of(merged(lock_path, manifest_name, {}, read.update))
    except Unsorted:
        return recorded(lock_path, manifest_name, PlanEntries.of)
    settled = planindex.settled(started, stamp, planindex.stamp_of(lock_path))
    planindex.save(lock_path, manifest_name, read.digest(), settled, entries.parts)
    return entries
