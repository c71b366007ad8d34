"""How heyrender opens its state files: never through a symbolic link, only regular files,
created under the user's umask, replaced atomically, appended to only after a torn tail is cut.

A state file that is a link, a folder or a device is refused with a clear error, so a
planted `outreach.lock.owner -> ~/.bashrc` can never have its target truncated.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import stat
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from heyrender.errors import LockfileError

NO_LINK = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
CREATE_MODE = 0o666  # the umask decides, as for any file a user commits
TEMPORARY_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789_"
TEMPORARY_LENGTH = 8
READ_BLOCK = 1 << 16
LINES_BLOCK = 1 << 18


def not_a_file(path: Path, what: str) -> LockfileError:
    return LockfileError(
        path,
        f"is {what}, not a regular file; heyrender opens its state files only directly",
        hint=f"remove {path.name} or replace it with the file itself",
    )


def open_fd(path: Path, flags: int) -> int:
    """os.open that refuses a symbolic link and anything but a regular file."""
    try:
        fd = os.open(path, flags | NO_LINK | os.O_NONBLOCK, CREATE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise not_a_file(path, "a symbolic link") from None
        if exc.errno == errno.EISDIR:
            raise not_a_file(path, "a folder") from None
        if exc.errno == errno.ENXIO:
            raise not_a_file(path, "a special file") from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise LockfileError(
                path,
                f"cannot be opened ({exc.strerror})",
                hint=f"make {path.parent} and its state files writable, then run it again",
            ) from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise not_a_file(path, "a folder" if stat.S_ISDIR(mode) else "a special file")
    os.set_blocking(fd, True)
    return fd


def open_existing(path: Path) -> int | None:
    """A read-only descriptor, or None when the file does not exist."""
    try:
        return open_fd(path, os.O_RDONLY)
    except FileNotFoundError:
        return None


def blocks_of(fd: int, *, complete_only: bool) -> Generator[bytes, None, None]:
    """The file in blocks of whole lines (split on b'\\n' only), each ending with one,
    then closes it. A last line without its newline is yielded alone, or dropped when
    `complete_only` (a journal's torn record)."""
    try:
        rest = b""
        while True:
            data = os.read(fd, LINES_BLOCK)
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                yield data[:cut]
        if rest and not complete_only:
            yield rest
    finally:
        os.close(fd)


def check_target(path: Path) -> int | None:
    """The permission bits of the file a write will replace; refuses links and folders."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise not_a_file(path, "a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise not_a_file(path, "a folder" if stat.S_ISDIR(info.st_mode) else "a special file")
    return stat.S_IMODE(info.st_mode)


def temporary_name(path: Path) -> Path:
    suffix = "".join(secrets.choice(TEMPORARY_LETTERS) for _ in range(TEMPORARY_LENGTH))
    return path.with_name(f".{path.name}.{suffix}")


def is_temporary_of(path: Path, name: str) -> bool:
    prefix = f".{path.name}."
    rest = name[len(prefix) :]
    return (
        name.startswith(prefix)
        and len(rest) == TEMPORARY_LENGTH
        and all(c in TEMPORARY_LETTERS for c in rest)
    )


def remove_stale_temporaries(path: Path) -> int:
    """Deletes `.<name>.XXXXXXXX` files a killed write left. Call only while holding the
    state lock: then no other writer can be midway through its own temporary file."""
    removed = 0
    with os.scandir(path.parent) as found:
        for item in found:
            if is_temporary_of(path, item.name) and item.is_file(follow_symlinks=False):
                Path(item.path).unlink(missing_ok=True)
                removed += 1
    return removed


CANNOT_WRITE = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
)


def unwritable(path: Path, exc: OSError) -> Exception:
    if exc.errno not in CANNOT_WRITE:
        return exc
    return LockfileError(
        path,
        f"cannot be written ({exc.strerror or exc}); it is left as it was",
        hint=f"make {path.parent} writable (or free some space), then run the command again",
    )


@contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """A text file that replaces `path` when the block ends without an error (see
    `replacing_bytes`)."""
    with replacing_bytes(path) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        try:
            yield out
            out.flush()
        finally:
            out.detach()  # the file is replacing_bytes' to close


@contextmanager
def replacing_bytes(path: Path) -> Iterator[BinaryIO]:
    """A file that replaces `path` when the block ends without an error: a temporary
    file in the same folder (created, never followed through a link), fsynced, renamed
    over `path`, then the folder fsynced. On an error `path` is untouched and the
    temporary file removed. The file keeps the permissions it had; a new one gets the
    umask's."""
    mode = check_target(path)
    while True:
        temporary = temporary_name(path)
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NO_LINK, CREATE_MODE)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise unwritable(path, exc) from None
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in CANNOT_WRITE:
            raise unwritable(path, exc) from None
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_atomically(path: Path, chunks: Iterable[str]) -> None:
    """Replaces `path` with the chunks, all or nothing (see `replacing_bytes`)."""
    with replacing(path) as out:
        out.writelines(chunks)


def cut_torn_tail(fd: int) -> int:
    """Truncates what follows the last newline (a record a crash cut short); returns the
    number of bytes removed. Without this, the next record would be glued onto the
    fragment, and a second crash would leave a corrupt line in the middle."""
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = max(0, end - READ_BLOCK)
        block = os.pread(fd, end - start, start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end == size:
        return 0
    os.ftruncate(fd, end)
    os.fsync(fd)
    return size - end


class AppendOnly:
    """An append-only state file (the journal), opened without following links."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = open_fd(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
        cut_torn_tail(self._fd)

    def append(self, data: bytes, *, durable: bool) -> None:
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if durable:
                os.fsync(self._fd)
        except OSError as exc:  # named, for the one line a full disk gets
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None

    def duplicate(self) -> int:
        """A second descriptor for the file, which the caller closes (to fsync elsewhere)."""
        assert self._fd is not None
        return os.dup(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
