"""A campaign as it was at a git revision: manifest and CSV read with `git show`, nothing else.

Both files are copied into a scratch folder at their paths within the repository, so the
old manifest resolves its CSV exactly as it did then; a manifest that names local media
files gets the repository's image and audio files at that revision too. A file outside
the repository cannot be read at a revision and is an error; the working tree is never
used in its place.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

from heyrender.campaign import manifest as manifests
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.media import uses_media
from heyrender.errors import InputError

MEDIA_SUFFIXES = (".png", ".jpg", ".jpeg", ".mp3", ".wav")


def git(folder: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed; diff reads the old campaign from git") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(detail[-1] if detail else f"git {' '.join(args)} failed")
    return done.stdout


def repository_root(path: Path) -> Path:
    try:
        top = git(path.parent, "rev-parse", "--show-toplevel")
    except InputError:
        raise InputError(f"{path.name} is not in a git repository") from None
    return Path(top.decode().strip()).resolve()


def show(root: Path, rev: str, inside: PurePosixPath, what: str) -> bytes:
    try:
        return git(root, "show", f"{rev}:{inside.as_posix()}")
    except InputError as exc:
        raise InputError(f"cannot read {what} {inside} at {rev}: {exc.message}") from None


def media_files_at(root: Path, rev: str, scratch: Path) -> None:
    """Every image and audio file of the repository at `rev`, for a manifest naming local
    files (image_file, audio_file, background.file), whose names are templates."""
    listed = git(root, "ls-tree", "-r", "-z", "--name-only", rev).split(b"\0")
    names = [n for n in (raw.decode() for raw in listed) if n.lower().endswith(MEDIA_SUFFIXES)]
    if not names:
        return
    archive = git(root, "archive", "--format=tar", rev, "--", *names)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(scratch, filter="data")


def manifest_at(path: Path, rev: str, scratch: Path) -> Manifest:
    """The manifest at `path` as it was at `rev`, loaded from copies in `scratch`, which
    stands for the repository (so the old manifest's campaign is the same)."""
    if rev.startswith("-"):
        raise InputError(f"{rev!r} is not a git revision")
    (scratch / ".git").mkdir(exist_ok=True)
    root = repository_root(path)
    inside = PurePosixPath(path.resolve().relative_to(root).as_posix())
    old = scratch / inside
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_bytes(show(root, rev, inside, "the manifest"))
    try:
        data, _ = manifests.parse(old)
    except InputError as exc:
        raise InputError(f"as of {rev}, {exc.message}", exc.hint) from None
    source = data.get("source") if isinstance(data, dict) else None
    csv = source.get("csv") if isinstance(source, dict) else None
    if isinstance(csv, str) and csv:
        csv_inside = normalized(inside.parent / csv)
        if csv_inside is None:
            raise InputError(
                f"{path.name} at {rev}: its CSV {csv} lies outside the git repository, "
                "so its old contents cannot be read"
            )
        target = scratch / csv_inside
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(show(root, rev, csv_inside, "the CSV"))
    video = data.get("video") if isinstance(data, dict) else None
    if isinstance(video, dict) and uses_media(video):
        media_files_at(root, rev, scratch)
    try:
        return manifests.load(old)
    except InputError as exc:
        raise InputError(f"as of {rev}, {exc.message}", exc.hint) from None


def normalized(path: PurePosixPath) -> PurePosixPath | None:
    """The path with `..` folded in; None when it climbs out of the repository."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    if path.is_absolute() or not parts:
        return None
    return PurePosixPath(*parts)
