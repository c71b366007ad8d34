"""Recorded state for commands that only read it: every row's checked fields in key
order, the journal's latest record over the lockfile's line, streamed without building
an Entry per row, so `status` on 100k rows holds one row at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
