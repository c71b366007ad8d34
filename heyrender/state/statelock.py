"""One apply per manifest at a time: an flock on `<lockfile>.owner`, which names its holder.

The kernel releases the lock when its process dies, however it dies. The file keeps
the holder's pid, host and start time; a clean exit empties it, so a non-empty file
found unlocked was left by a process that died, and its takeover is said.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import IO

from heyrender.errors import StateLockHeld
from heyrender.state.lockfile import now_iso


def owner_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".owner")


def describe(text: str) -> str:
    try:
        holder = json.loads(text)
        return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}"
    except (ValueError, KeyError, TypeError):
        return "an unknown process"


class StateLock:
    def __init__(self, lock_path: Path, manifest_name: str) -> None:
        self.path = owner_path(lock_path)
        self.manifest_name = manifest_name
        self.taken_over: str | None = None
        self._file: IO[str] | None = None

    def acquire(self) -> StateLock:
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = describe(handle.read())
            handle.close()
            raise StateLockHeld(
                f"{self.manifest_name} is being applied by {holder}; nothing was submitted",
                hint="wait for that run to finish, or stop it (Ctrl-C) and run again",
            ) from None
        handle.seek(0)
        left = handle.read().strip()
        if left:
            self.taken_over = describe(left)
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": now_iso()})
        )
        handle.flush()
        os.fsync(handle.fileno())
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is None:
            return
        self._file.seek(0)
        self._file.truncate()
        self._file.flush()
        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()
        self._file = None

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()
