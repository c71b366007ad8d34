"""Validating a large CSV on every core: byte spans cut at record boundaries, one process each.

The parent checks the manifest and the CSV's header first, so every error that is not about a
row comes from one place. Each span is validated in a forked process (the parent takes the
first); the tallies are joined in span order, so problems come out in row order, and keys and
titles are compared across spans by their hashes (forked processes share `hash()`'s seed).
Anything unusual (a span that fails, a CSV with bare CR line ends) falls back to one process,
which then reports exactly what a serial pass reports.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import BinaryIO

from heyrender.campaign.csvsource import CsvSource, Span
from heyrender.campaign.expand import Expansion
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.validate import ValidationResult, validate_span

MIN_BYTES = 2 * 1024 * 1024
BLOCK = 4 * 1024 * 1024


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


class FileBytes:
    """Slices of a file and finds in it, by seek and read: unlike a memory map, reading the
    whole file this way does not count toward this process's resident memory."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.size = os.fstat(file.fileno()).st_size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, part: slice) -> bytes:
        self.file.seek(part.start)
        return self.file.read(part.stop - part.start)

    def find(self, byte: bytes, start: int) -> int:
        position = start
        while position < self.size:
            block = self[position : min(position + BLOCK, self.size)]
            found = block.find(byte)
            if found >= 0:
                return position + found
            position += len(block)
        return -1


def count(data: FileBytes, pattern: bytes, start: int, end: int) -> int:
    """Occurrences of `pattern` starting in data[start:end], a block at a time."""
    reach = len(pattern) - 1
    return sum(
        data[block : min(block + BLOCK + reach, end)].count(pattern)
        for block in range(start, end, BLOCK)
    )


def spans(path: Path, parts: int) -> list[Span] | None:
    """Up to `parts` spans of roughly equal size, each starting at a record boundary.

    A newline ends a record when an even number of quotes precede it (RFC 4180 doubles quotes
    inside quoted fields). None when the file cannot be cut safely this way.
    """
    with open(path, "rb") as file:
        data = FileBytes(file)
        size = len(data)
        if count(data, b"\r", 0, size) != count(data, b"\r\n", 0, size):
            return None
        header_end = data.find(b"\n", 0)
        if header_end < 0:
            return None
        cuts = [0]
        for part in range(1, parts):
            position = max(size * part // parts, header_end, cuts[-1])
            quotes = count(data, b'"', 0, position)
            while True:
                newline = data.find(b"\n", position)
                if newline < 0 or newline + 1 >= size:
                    break
                quotes += count(data, b'"', position, newline)
                position = newline + 1
                if quotes % 2 == 0:
                    if position > cuts[-1]:
                        cuts.append(position)
                    break
        cuts.append(size)
        lines = [count(data, b"\n", 0, start) + 1 for start in cuts[:-1]]
        return [
            Span(start, end, line)
            for start, end, line in zip(cuts[:-1], cuts[1:], lines, strict=True)
        ]


def run_span(manifest: Manifest, span: Span) -> tuple[ValidationResult, Expansion] | None:
    try:
        expansion = Expansion(manifest, span)
        result = validate_span(manifest, expansion)
        expansion.keys.sort()
        result.titles.sort()
        return result, expansion
    except Exception:  # the serial pass reports it, exactly as it always has
        return None


def validate(
    manifest: Manifest, workers: int | None = None
) -> tuple[ValidationResult, Expansion] | None:
    """The joined tally and expansion of a parallel pass, or None to do it in one process."""
    path = manifest.source.csv
    workers = workers or cores()
    if workers < 2 or path.stat().st_size < MIN_BYTES:
        return None
    try:
        cut = spans(path, workers)
    except (OSError, ValueError):  # not a regular file, or empty: the serial pass says so
        return None
    if cut is None or len(cut) < 2:
        return None
    with CsvSource(path) as source:
        Expansion(manifest).compile(source.header)
    context = multiprocessing.get_context("fork")
    with context.Pool(len(cut) - 1) as pool:
        pending = [pool.apply_async(run_span, (manifest, span)) for span in cut[1:]]
        joined = run_span(manifest, cut[0])
        for job in pending:  # joined one at a time, so no two copies of a span's hashes linger
            outcome = job.get()
            if joined is None or outcome is None:
                joined = None
                continue
            joined[0].absorb(outcome[0])
            joined[1].absorb(outcome[1])
            del outcome
    return joined
