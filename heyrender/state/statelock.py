"""One apply per manifest at a time: an flock on `<lockfile>.owner`, which names its holder.

The kernel releases the lock when its process dies, however it dies. The file keeps
the holder's pid, host and start time; a clean exit deletes it, so a non-empty file
found unlocked was left by a process that died, and its takeover is said. The file is
opened without following links: a planted link cannot get its target truncated.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from heyrender.errors import StateLockHeld
from heyrender.state import files
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
        self._fd: int | None = None

    def acquire(self) -> StateLock:
        fd = self._lock_current_file()
        left = read_all(fd).strip()
        if left:
            self.taken_over = describe(left.decode("utf-8", "replace"))
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": now_iso()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def _lock_current_file(self) -> int:
        """Locks the file now at the path. A holder that releases deletes the file, so a
        lock won on a file no longer at the path is worthless: open the new one and retry."""
        while True:
            fd = files.open_fd(self.path, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = describe(read_all(fd).decode("utf-8", "replace"))
                os.close(fd)
                raise StateLockHeld(
                    f"{self.manifest_name} is being applied by {holder}; nothing was submitted",
                    hint="wait for that run to finish, or stop it (Ctrl-C) and run again",
                ) from None
            try:
                now = os.stat(self.path, follow_symlinks=False)
            except FileNotFoundError:
                now = None
            held = os.fstat(fd)
            if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
                return fd
            os.close(fd)

    def release(self) -> None:
        """Deletes the owner file while still holding it, then lets go: a clean exit leaves
        nothing behind."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def read_all(fd: int) -> bytes:
    return os.pread(fd, 4096, 0)
