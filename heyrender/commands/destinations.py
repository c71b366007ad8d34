"""Where a command may write what the user named with --out: never over the campaign itself.

`export --out` and `plan --out` name a file; `report --out` and `download --out` a folder.
Before anything is written, a target is refused, in one sentence, when it is the manifest,
its CSV, the lockfile, its journal or owner file, the campaign's asset map, or a local media
file the rows name; when it lies under /proc, /sys or /dev; when it is a symbolic link; or
when it exists and is not a regular file (not a folder, for a folder). A folder is refused
when it holds the manifest, the CSV or a state file, and so is a file a command writes into
it that exists and is not one that command wrote before. The files are then written with
state/files.py's `replacing`: a temporary file beside the target, renamed over it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from heyrender.campaign.manifest import Manifest
from heyrender.campaign.media import uses_media
from heyrender.campaign.paths import SYSTEM_TREES, inside, kind_of
from heyrender.errors import InputError
from heyrender.state.assets import FILE_NAME as ASSET_MAP
from heyrender.state.statelock import owner_path
from heyrender.state.store import journal_path

Identity = tuple[int, int]  # (device, inode): the same file under another name (a hard link)
IsOurs = Callable[[Path], bool]  # whether an existing file is one the command wrote before


@dataclass(frozen=True)
class OwnFile:
    """A file of the campaign an output must never replace, resolved, and what it is."""

    path: Path
    role: str

    def identity(self) -> Identity | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_dev, info.st_ino


def resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def own_files(manifest: Manifest) -> list[OwnFile]:
    lock = manifest.lockfile_path
    named = [
        (manifest.path, f"the manifest {manifest.path.name}"),
        (manifest.source.csv, f"the CSV {manifest.source.csv.name}"),
        (lock, f"the lockfile {lock.name}"),
        (journal_path(lock), f"the lockfile's journal {journal_path(lock).name}"),
        (owner_path(lock), f"the state lock's owner file {owner_path(lock).name}"),
        (manifest.campaign.root / ASSET_MAP, f"the campaign's asset map {ASSET_MAP}"),
    ]
    return [OwnFile(resolved(path), role) for path, role in named]


def media_files(manifest: Manifest) -> Iterator[OwnFile]:
    """The local files the rows name (read once through the rows; only when asked)."""
    from heyrender.campaign.expand import Expansion

    expansion = Expansion(manifest)
    for _ in expansion:
        pass
    if expansion.media is not None:
        for path in expansion.media.named():
            yield OwnFile(path, f"{path.name}, a media file the manifest names")


def refused(option: str, given: str | Path, why: str, hint: str) -> InputError:
    """`option` is empty for a command's default target, which the user did not name."""
    named = f"{option} {given}" if option else str(given)
    return InputError(f"{named}: {why}; nothing was written", hint=hint)


def check_system_tree(option: str, given: str | Path, *paths: Path) -> None:
    for tree in SYSTEM_TREES:
        if any(inside(str(path), str(tree)) for path in paths):
            raise refused(
                option, given, f"that is under {tree}, where heyrender never writes", ANOTHER_FILE
            )


ANOTHER_FILE = "choose another file"
ANOTHER_FOLDER = "choose another folder, or a new one"


def check_file(manifest: Manifest, given: str | Path, option: str = "--out") -> None:
    """Raises an InputError saying why a command may not replace the file at `given`."""
    absolute = Path(os.path.abspath(given))
    target = resolved(absolute.parent) / absolute.name
    check_system_tree(option, given, absolute, target)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    identity = None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            why = "that is a symbolic link, and heyrender never writes through one"
            raise refused(option, given, why, ANOTHER_FILE)
        if not stat.S_ISREG(info.st_mode):
            why = f"that is {kind_of(info.st_mode)}, not a regular file"
            raise refused(option, given, why, ANOTHER_FILE)
        identity = info.st_dev, info.st_ino
    for own in own_files(manifest):
        if own.path == target or (identity is not None and own.identity() == identity):
            raise refused(option, given, f"that is {own.role}", ANOTHER_FILE)
    if identity is not None and uses_media(manifest.video):
        for own in media_files(manifest):
            if own.path == target or own.identity() == identity:
                raise refused(option, given, f"that is {own.role}", ANOTHER_FILE)


def check_folder(
    manifest: Manifest,
    given: str | Path,
    writes: Mapping[str, IsOurs] | None = None,
    option: str = "--out",
) -> None:
    """Raises an InputError saying why a command may not write into the folder at `given`.

    `writes` names the files the command replaces there, each with a test that an existing
    one is the command's own earlier output."""
    absolute = Path(os.path.abspath(given))
    folder = resolved(absolute)
    check_system_tree(option, given, absolute, folder)
    try:
        info = os.lstat(absolute)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        why = "that is a symbolic link, and heyrender never writes through one"
        raise refused(option, given, why, ANOTHER_FOLDER)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        kind = "a file" if stat.S_ISREG(info.st_mode) else kind_of(info.st_mode)
        raise refused(option, given, f"that is {kind}, not a folder", ANOTHER_FOLDER)
    for own in own_files(manifest):
        if own.path.parent == folder:
            why = f"that folder holds {own.role}"
            raise refused(option, given, why, ANOTHER_FOLDER)
    for name, is_ours in (writes or {}).items():
        target = folder / name
        try:
            found = os.lstat(target)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(found.st_mode):
            why = f"its {name} is a symbolic link, and heyrender never writes through one"
        elif not stat.S_ISREG(found.st_mode):
            why = f"its {name} is {kind_of(found.st_mode)}, not a regular file"
        elif not is_ours(target):
            why = f"its {name} was not written by heyrender, so it is left alone"
        else:
            continue
        raise refused(option, given, why, ANOTHER_FOLDER)
