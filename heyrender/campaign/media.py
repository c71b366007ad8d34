"""Local media files a manifest names: checked, hashed once per run, sent as asset IDs.

Three manifest-only fields name a file relative to the manifest, inside the campaign:
`image_file`, `audio_file` and `background.file`. Expansion replaces each with the API's
own asset field holding the file's content reference, `sha256:<hex>`, so the request
hash covers the bytes and not the path: editing a photo marks its rows outdated,
renaming it does not. The reference becomes a real asset ID once the file is uploaded
(`bind`); until then `render` shows `<upload NAME sha256:HEX>`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from heyrender.campaign.paths import Boundary, PathRefused, open_regular
from heyrender.campaign.schema import FieldProblem

MB = 1024 * 1024
MAX_BYTES = 50 * MB  # HeyGen's input limit for images and audio (API-NOTES.md, "Limits")
REFERENCE_PREFIX = "sha256:"
UNUSABLE = REFERENCE_PREFIX + "unusable"  # keeps the schema from adding a second error

PNG, JPEG, MP3, WAV = "image/png", "image/jpeg", "audio/mpeg", "audio/wav"
IMAGES = frozenset({PNG, JPEG})
AUDIO = frozenset({MP3, WAV})
NAMES = {PNG: "PNG", JPEG: "JPEG", MP3: "MP3", WAV: "WAV"}


@dataclass(frozen=True)
class MediaField:
    """A manifest-only file field and the API field its asset ID goes into."""

    path: tuple[str, ...]
    api_path: tuple[str, ...]
    kinds: frozenset[str]
    label: str
    alternatives: tuple[str, ...]  # siblings that name the same input another way

    @property
    def name(self) -> str:
        return ".".join(self.path)


FIELDS = (
    MediaField(
        ("image_file",),
        ("image_asset_id",),
        IMAGES,
        "an image (PNG or JPEG)",
        ("image_url", "image_asset_id", "image", "avatar_id"),
    ),
    MediaField(
        ("audio_file",),
        ("audio_asset_id",),
        AUDIO,
        "audio (MP3 or WAV)",
        ("audio_url", "audio_asset_id", "script"),
    ),
    MediaField(
        ("background", "file"),
        ("background", "asset_id"),
        IMAGES,
        "an image (PNG or JPEG)",
        ("url", "asset_id"),
    ),
)


def sniff(head: bytes) -> str | None:
    """The media type by content (magic bytes), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return MP3
    return None


def size_text(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{size:,} bytes"


@dataclass(frozen=True)
class MediaFile:
    """One distinct file by content: where it is, its hash, size and type."""

    path: Path
    sha256: str
    size: int
    mime: str

    @property
    def reference(self) -> str:
        return REFERENCE_PREFIX + self.sha256


@dataclass(frozen=True)
class MediaUse:
    """A row's use of a file: which field, the name as the row wrote it, and the file."""

    field: MediaField
    name: str
    file: MediaFile

    def placeholder(self) -> str:
        return f"<upload {self.name} sha256:{self.file.sha256[:12]}>"


class MediaFault(Exception):
    pass


class Unreadable(Exception):
    """A file that cannot be sent, whatever a row calls it: says why, given the row's name."""

    def __init__(self, describe: Callable[[str], str]) -> None:
        self.describe = describe
        super().__init__()


def read(path: Path, size_seen: int) -> MediaFile:
    """The file's type (by its first bytes), size and SHA-256, read in one pass."""
    if size_seen > MAX_BYTES:
        raise Unreadable(
            lambda name: (
                f"{name} is {size_text(size_seen)}; HeyGen takes files up to {size_text(MAX_BYTES)}"
            )
        )
    digest, size, mime = hashlib.sha256(), 0, None
    try:
        with open_regular(path) as stream:
            while chunk := stream.read(1024 * 1024):
                if mime is None and (mime := sniff(chunk)) is None:
                    raise Unreadable(unknown_type)
                digest.update(chunk)
                size += len(chunk)
    except PathRefused as exc:
        refused = str(exc)
        raise Unreadable(lambda name: refused) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise Unreadable(lambda name: f"{name}: {reason}") from None
    if mime is None:
        raise Unreadable(lambda name: f"{name} is empty")
    return MediaFile(path, digest.hexdigest(), size, mime)


StatKey = tuple[Path, int, int, int, int]


class MediaChecker:
    """Resolves, checks and hashes the files rows name; each distinct file is read once,
    and a file that cannot be sent is judged once, however many rows name it."""

    def __init__(self, boundary: Boundary, base: Path) -> None:
        self.boundary, self.base = boundary, base
        self._files: dict[StatKey, MediaFile] = {}
        self._faults: dict[StatKey, Callable[[str], str]] = {}

    def file(self, name: str, field: MediaField) -> MediaFile:
        try:
            path, info = self.boundary.regular_file(name, self.base)
        except PathRefused as exc:
            raise MediaFault(str(exc)) from None
        key = (path, info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)
        found = self._files.get(key)
        if found is None:
            fault = self._faults.get(key)
            if fault is None:
                try:
                    found = self._files[key] = read(path, info.st_size)
                except Unreadable as exc:
                    fault = self._faults[key] = exc.describe
            if fault is not None:
                raise MediaFault(fault(name))
            assert found is not None
        if found.mime not in field.kinds:
            raise MediaFault(f"{name} is {NAMES[found.mime]}; this field takes {field.label}")
        return found

    def named(self) -> dict[Path, tuple[int, int]]:
        """Every existing file the rows named so far, usable or not: path -> (device, inode)."""
        return {key[0]: (key[4], key[3]) for key in (*self._files, *self._faults)}

    def attach(self, body: dict[str, Any], problems: list[FieldProblem]) -> tuple[MediaUse, ...]:
        """Swaps each file field of a rendered body for its asset field; returns the uses."""
        uses: list[MediaUse] = []
        for field in FIELDS:
            parent = parent_of(body, field.path)
            if parent is None or field.path[-1] not in parent:
                continue
            name = parent[field.path[-1]]
            others = [other for other in field.alternatives if other in parent]
            if others:
                del parent[field.path[-1]]
                given = " and ".join(others)
                problems.append(FieldProblem(field.name, f"give either this or {given}, not both"))
                continue
            try:
                if not isinstance(name, str):
                    raise MediaFault("must be a file name")
                found = self.file(name, field)
            except MediaFault as exc:
                problems.append(FieldProblem(field.name, str(exc)))
                swap_key(parent, field.path[-1], field.api_path[-1], UNUSABLE)
                continue
            swap_key(parent, field.path[-1], field.api_path[-1], found.reference)
            uses.append(MediaUse(field, name, found))
        return tuple(uses)


def swap_key(node: dict[str, Any], old: str, new: str, value: Any) -> None:
    """Replaces node[old] by node[new] = value, where old stood (render keeps the order)."""
    items = [(new, value) if name == old else (name, v) for name, v in node.items()]
    node.clear()
    node.update(items)


def unknown_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    said = f" despite its {suffix} name" if suffix else ""
    return f"{name} is not a PNG, JPEG, MP3 or WAV file by its content{said}"


def parent_of(body: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = body
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def uses_media(video: dict[str, Any]) -> bool:
    """Whether a manifest's video section names any local file."""
    for field in FIELDS:
        parent = parent_of(video, field.path)
        if parent is not None and field.path[-1] in parent:
            return True
    return False


def bind(
    body: dict[str, Any],
    uses: tuple[MediaUse, ...],
    asset_id: Callable[[MediaUse], str],
) -> dict[str, Any]:
    """A copy of body with each file's reference replaced by asset_id(use)."""
    if not uses:
        return body
    bound: dict[str, Any] = copy_dicts(body)
    for use in uses:
        parent = parent_of(bound, use.field.api_path)
        if parent is not None:
            parent[use.field.api_path[-1]] = asset_id(use)
    return bound


class KnownAssets(Protocol):
    def asset_id(self, sha256: str) -> str | None: ...


def shown_id(assets: KnownAssets) -> Callable[[MediaUse], str]:
    """For render: the asset ID where the file is uploaded, else `<upload NAME sha256:HEX>`."""
    return lambda use: assets.asset_id(use.file.sha256) or use.placeholder()


def copy_dicts(node: Any) -> Any:
    if isinstance(node, dict):
        return {name: copy_dicts(value) for name, value in node.items()}
    return node


def distinct_files(uses: Any) -> list[MediaFile]:
    """Each distinct file (by content hash) among an iterable of MediaUse tuples, in order."""
    seen: dict[str, MediaFile] = {}
    for row_uses in uses:
        for use in row_uses:
            seen.setdefault(use.file.sha256, use.file)
    return list(seen.values())
