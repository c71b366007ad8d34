"""The campaign's uploaded files: content hash -> HeyGen asset ID, shared by its manifests.

One append-only file at the campaign root, `heyrender-assets.jsonl`, beside the
manifests and committed like their lockfiles. Its first line names the format; each
further line records one upload:

    {"format": "heyrender-assets", "version": 1}
    {"asset_id": "...", "mime": "image/png", "sha256": "ab12...", "size": 1234,
     "uploaded_at": "2026-11-25T09:30:00Z"}          (one line in the file)

A record is appended, flushed and fsynced before anyone relies on it. A torn last line
(a kill mid-append) is ignored on load and trimmed before the next append, so any two
crashes in a row leave a file that loads. It is opened as every state file is
(state/files.py: no symlinks, regular files only); appends hold an exclusive lock, so
two applies in one campaign can share it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from heyrender.errors import LockfileError
from heyrender.state import files

FILE_NAME = "heyrender-assets.jsonl"
FORMAT, VERSION = "heyrender-assets", 1
HEADER = {"format": FORMAT, "version": VERSION}
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class AssetRecord:
    sha256: str
    asset_id: str
    size: int
    mime: str
    uploaded_at: str

    @classmethod
    def now(cls, sha256: str, asset_id: str, size: int, mime: str) -> AssetRecord:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(sha256, asset_id, size, mime, stamp)


def parse_record(path: Path, number: int, line: bytes) -> AssetRecord:
    try:
        data = json.loads(line)
    except ValueError:
        raise LockfileError(path, "is not valid JSON", line=number) from None
    if not isinstance(data, dict):
        raise LockfileError(path, "each line must be a JSON object", line=number)
    checks: dict[str, Callable[[Any], bool]] = {
        "sha256": lambda v: isinstance(v, str) and SHA256.match(v) is not None,
        "asset_id": lambda v: isinstance(v, str) and 0 < len(v) <= 255,
        "size": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
        "mime": lambda v: isinstance(v, str),
        "uploaded_at": lambda v: isinstance(v, str),
    }
    for name, valid in checks.items():
        if not valid(data.get(name)):
            raise LockfileError(path, f"{name} is missing or not valid", line=number)
    return AssetRecord(**{name: data[name] for name in checks})


class AssetStore:
    """The known uploads of one campaign, loaded once, appended to durably."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: dict[str, AssetRecord] = {}
        self._load()

    @classmethod
    def at(cls, campaign_root: Path) -> AssetStore:
        return cls(campaign_root / FILE_NAME)

    def __len__(self) -> int:
        return len(self._records)

    def get(self, sha256: str) -> AssetRecord | None:
        return self._records.get(sha256)

    def asset_id(self, sha256: str) -> str | None:
        record = self._records.get(sha256)
        return record.asset_id if record else None

    def _load(self) -> None:
        fd = files.open_existing(self.path)
        if fd is None:
            return
        with os.fdopen(fd, "rb") as stream:
            self._records = self._parse(stream.read())

    def _parse(self, data: bytes) -> dict[str, AssetRecord]:
        lines = data.split(b"\n")
        complete = lines[:-1]  # the piece after the last newline is empty or a torn append
        if not complete:
            return {}
        try:
            header = json.loads(complete[0])
        except ValueError:
            header = None
        if header != HEADER:
            raise LockfileError(
                self.path, f"first line must be {json.dumps(HEADER)}", line=1
            ) from None
        records: dict[str, AssetRecord] = {}
        for number, line in enumerate(complete[1:], 2):
            if line.strip():
                record = parse_record(self.path, number, line)
                records.setdefault(record.sha256, record)
        return records

    def record(self, record: AssetRecord) -> None:
        """Appends one upload and makes it durable before returning."""
        line = json.dumps(asdict(record), sort_keys=True, ensure_ascii=True).encode() + b"\n"
        fd = files.open_fd(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # two applies of one campaign append in turn
            files.cut_torn_tail(fd)
            created = os.fstat(fd).st_size == 0
            os.write(fd, (json.dumps(HEADER).encode() + b"\n" if created else b"") + line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_folder(self.path.parent)
        self._records.setdefault(record.sha256, record)


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
