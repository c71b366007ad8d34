"""A manifest's recorded state: the lockfile plus a write-ahead journal of changes since.

Every change is appended to `<lockfile>.journal` first (fsynced when it carries an
intent or a video_id), so a crash at any moment loses nothing; a checkpoint folds
the journal into the lockfile and removes it, every minute or once the journal
holds as many records as the lockfile has rows, and at the end of every command.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO

from heyrender.api.wire import VideoStatus
from heyrender.errors import LockfileError
from heyrender.state import lockfile
from heyrender.state.lockfile import Entry, now_iso

CHECKPOINT_SECONDS = 60.0
MIN_CHECKPOINT_RECORDS = 5_000


def journal_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".journal")


def observed(entry: Entry, video: VideoStatus) -> Entry:
    """The entry after a status poll showed this."""
    return entry.evolve(
        status=video.status,
        finished_at=now_iso() if video.finished else None,
        duration=video.duration,
        failure_code=video.failure_code,
        failure_message=video.failure_message,
    )


def replay(path: Path, entries: dict[str, Entry]) -> int:
    """Applies a journal's records in order. A torn last line (a crash mid-write) is ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return 0
    lines = text.split("\n")
    complete, torn = lines[:-1], lines[-1]
    del torn  # written without its newline: the crash came before the record was durable
    for number, raw in enumerate(complete, 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LockfileError(
                path, f"journal record is not valid JSON ({exc.msg})", line=number
            ) from None
        entry = lockfile.entry_from(data, path, number)
        entries[entry.key] = entry
    return len(complete)


class State:
    """Entries by key, with durable recording. Open with State.open, close with checkpoint."""

    def __init__(self, lock_path: Path, manifest_name: str, entries: dict[str, Entry]) -> None:
        self.lock_path = lock_path
        self.manifest_name = manifest_name
        self.entries = entries
        self._journal: IO[str] | None = None
        self._records = 0
        self._last_checkpoint = time.monotonic()

    @classmethod
    def load(cls, lock_path: Path, manifest_name: str) -> State:
        """Lockfile plus journal, read-only."""
        entries = lockfile.load(lock_path)
        replay(journal_path(lock_path), entries)
        return cls(lock_path, manifest_name, entries)

    def record(self, entry: Entry, *, durable: bool = False) -> None:
        self.entries[entry.key] = entry
        if self._journal is None:
            self._journal = open(journal_path(self.lock_path), "a", encoding="utf-8")  # noqa: SIM115
        self._journal.write(entry.to_json() + "\n")
        self._journal.flush()
        if durable:
            os.fsync(self._journal.fileno())
        self._records += 1
        # a checkpoint rewrites every entry, so it waits for as many records: O(1) per record
        due = max(MIN_CHECKPOINT_RECORDS, len(self.entries))
        if self._records >= due or time.monotonic() - self._last_checkpoint > CHECKPOINT_SECONDS:
            self.checkpoint()

    def close(self) -> None:
        """Closes the journal without folding it in: what a crash leaves, minus the crash."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def checkpoint(self) -> None:
        """Writes the lockfile atomically, then drops the journal it now holds."""
        lockfile.save(self.lock_path, self.entries, self.manifest_name)
        self.close()
        journal_path(self.lock_path).unlink(missing_ok=True)
        self._records = 0
        self._last_checkpoint = time.monotonic()
