"""Which files a manifest may make heyrender read, and how they are opened.

The campaign is the git repository that holds the manifest, or the manifest's folder when
there is none. A path a manifest names (the CSV, a photo, an audio file) is relative to the
manifest and must resolve, symlinks followed, to a regular file inside the campaign. The
user can lift the campaign rule with --allow-outside-campaign; system trees (/proc, /sys,
/dev) and anything that is not a regular file (FIFOs, sockets, devices) are refused always.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from heyrender.errors import escaped

SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))
OUTSIDE_FLAG = "--allow-outside-campaign"


class PathRefused(Exception):
    """A path a manifest may not make heyrender read; the message names the path, not where."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(message)


def campaign_root(manifest: Path) -> Path:
    """The enclosing git repository of the manifest, or its folder."""
    folder = manifest.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def check_regular(name: Path | str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise PathRefused(f"{escaped(str(name))} is {kind_of(mode)}, not a regular file")


def inside(path: str, root: str) -> bool:
    """Whether an absolute, resolved path is root or below it (string work: called per row)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


@dataclass(frozen=True)
class Boundary:
    """The campaign's root, and whether the user allowed files outside it."""

    root: Path
    allow_outside: bool = False

    @classmethod
    def of_manifest(cls, manifest: Path, allow_outside: bool = False) -> Boundary:
        return cls(campaign_root(manifest), allow_outside)

    def resolve(self, name: str, base: Path) -> Path:
        """`name` relative to `base`, symlinks resolved, checked against the campaign."""
        if "\0" in name:
            raise PathRefused("a file name cannot contain a NUL character")
        resolved = os.path.realpath(os.path.join(base, name))
        for tree in SYSTEM_TREES:
            if inside(resolved, str(tree)):
                raise PathRefused(
                    f"{escaped(name)} is a system file (under {tree}); heyrender never reads it"
                )
        if not self.allow_outside and not inside(resolved, str(self.root)):
            shown = escaped(name if name == resolved else f"{name} (which is {resolved})")
            raise PathRefused(
                f"{shown} is outside the campaign {self.root}",
                hint=f"keep the campaign's files inside {self.root}, or pass {OUTSIDE_FLAG}",
            )
        return Path(resolved)

    def regular_file(self, name: str, base: Path) -> tuple[Path, os.stat_result]:
        """A resolved path to an existing regular file inside the campaign, and its stat."""
        path = self.resolve(name, base)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise PathRefused(
                f"{escaped(name)} not found (looked for {escaped(str(path))})"
            ) from None
        except OSError as exc:
            raise PathRefused(f"{escaped(name)}: {exc.strerror or exc}") from None
        check_regular(name, info.st_mode)
        return path, info


def open_regular(path: Path) -> BinaryIO:
    """Opens a resolved path to a regular file for reading: without blocking on a FIFO,
    opening a device, or following a symlink put in its place since it was resolved."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise PathRefused(f"{path} not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PathRefused(f"{path} became a symbolic link after it was checked") from None
        raise PathRefused(f"{path}: {exc.strerror or exc}") from None
    try:
        check_regular(path, os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_named_file(path: Path, limit: int | None = None, *, head: int | None = None) -> bytes:
    """A file named on the command line (a manifest, a saved plan), or its first `head`
    bytes: a regular file, since a FIFO would block and a device never end, of at most
    `limit` bytes. Links are followed (the user named it). PathRefused's message follows
    the file's name; FileNotFoundError and other OSErrors are the caller's to word."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PathRefused(f"is {kind_of(info.st_mode)}, not a regular file")
        if limit is not None and info.st_size > limit:
            raise PathRefused(too_big(info.st_size, limit))
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(head if head is not None else -1 if limit is None else limit + 1)
    finally:
        os.close(fd)
    if limit is not None and len(data) > limit:  # it grew since fstat
        raise PathRefused(too_big(len(data), limit))
    return data


def too_big(size: int, limit: int) -> str:
    return f"is {size:,} bytes; heyrender reads at most {limit:,} here"
