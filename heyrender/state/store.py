"""A manifest's recorded state: the lockfile plus a write-ahead journal of changes since.

Every change is appended to `<lockfile>.journal` first (fsynced when it carries an
intent or a video_id), so a crash at any moment loses nothing; a checkpoint folds
the journal into the lockfile and removes it, every minute or once the journal
holds as many records as the lockfile has rows, and at the end of every command.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from heyrender.state import files, lockfile, planindex
from heyrender.state.lockfile import Entry

CHECKPOINT_SECONDS = 60.0
MIN_CHECKPOINT_RECORDS = 5_000


def journal_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".journal")


def records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """A journal's complete records, checked, in order. A torn last line (a crash
    mid-write, so no newline yet) is ignored; the next append cuts it off first."""
    fd = files.open_existing(path)
    if fd is None:
        return
    blocks = files.blocks_of(fd, complete_only=True)
    try:
        for batch in lockfile.block_rows(blocks, path, 1, "journal record is "):
            yield from batch
    finally:
        blocks.close()


def replay(path: Path, entries: dict[str, Entry]) -> int:
    """Applies a journal's records in order and returns how many."""
    count = 0
    for _, data in records(path):
        entries[data["key"]] = Entry(**data)
        count += 1
    return count


class State:
    """Entries by key, with durable recording. Open with State.open, close with checkpoint."""

    def __init__(
        self,
        lock_path: Path,
        manifest_name: str,
        entries: dict[str, Entry],
        *,
        unsaved: bool = True,
    ) -> None:
        self.lock_path = lock_path
        self.manifest_name = manifest_name
        self.entries = entries
        self._journal: files.AppendOnly | None = None
        self._records = 0
        self._unsaved = unsaved
        self._last_checkpoint = time.monotonic()

    @classmethod
    def load(cls, lock_path: Path, manifest_name: str) -> State:
        """Lockfile plus journal, read-only."""
        entries = lockfile.load(lock_path, manifest_name)
        journal = journal_path(lock_path)
        replay(journal, entries)
        return cls(lock_path, manifest_name, entries, unsaved=journal.exists())

    def record(self, entry: Entry, *, durable: bool = False) -> None:
        self.entries[entry.key] = entry
        self._unsaved = True
        if self._journal is None:
            self._journal = files.AppendOnly(journal_path(self.lock_path))
        self._journal.append(lockfile.line_of(entry).encode("utf-8"), durable=durable)
        self._records += 1
        # a checkpoint rewrites every entry, so it waits for as many records: O(1) per record
        due = max(MIN_CHECKPOINT_RECORDS, len(self.entries))
        if self._records >= due or time.monotonic() - self._last_checkpoint > CHECKPOINT_SECONDS:
            self.checkpoint()

    def journal_descriptor(self) -> int | None:
        """A duplicate descriptor of the open journal for a group commit off the event loop
        (run/commit.py), or None when no record waits for one; the caller closes it."""
        return self._journal.duplicate() if self._journal is not None else None

    def close(self) -> None:
        """Closes the journal without folding it in: what a crash leaves, minus the crash."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def checkpoint(self) -> None:
        """Writes the lockfile atomically, then drops the journal it now holds. Nothing is
        written when nothing changed, so a refused apply leaves no lockfile behind. Call it
        only while holding the state lock: it removes temporary files a killed write left."""
        files.remove_stale_temporaries(self.lock_path)
        files.remove_stale_temporaries(planindex.index_path(self.lock_path))
        if self._unsaved:
            lockfile.save(self.lock_path, self.entries, self.manifest_name)
        self.close()
        journal_path(self.lock_path).unlink(missing_ok=True)
        self._unsaved = False
        self._records = 0
        self._last_checkpoint = time.monotonic()
