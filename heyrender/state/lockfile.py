"""The lockfile: one JSON line per row, sorted by key, beside the manifest.

    {"heyrender_lockfile": 1, "manifest": "outreach.yaml"}
    {"key": "dana@acme.io", "request": "sha256:...", "status": "completed", "video_id": "...", ...}

A change to one row changes only that row's line in a git diff. Written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from heyrender.errors import LockfileError

FORMAT_VERSION = 1
HEADER_KEY = "heyrender_lockfile"

SUBMITTING = "submitting"  # intent recorded before the POST; outcome not yet known
UNCERTAIN = "uncertain"  # a lost create that listing could not settle
NOT_CREATED = "not_created"  # a lost create that listing showed never landed
COMPLETED, FAILED = "completed", "failed"
UNSETTLED = frozenset({SUBMITTING, UNCERTAIN})
RETRYABLE = frozenset({FAILED, NOT_CREATED})


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


@dataclass(frozen=True)
class Entry:
    key: str
    request: str
    status: str
    title: str | None = None
    video_id: str | None = None
    intent_at: str | None = None
    submitted_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    previous_video_ids: tuple[str, ...] = field(default=())
    fields: dict[str, str] | None = field(default=None, hash=False)  # path -> value hash, sent

    @property
    def finished(self) -> bool:
        return self.status in (COMPLETED, FAILED, NOT_CREATED)

    @property
    def in_progress(self) -> bool:
        return self.video_id is not None and not self.finished and self.status not in UNSETTLED

    @property
    def known_video_ids(self) -> tuple[str, ...]:
        return (*self.previous_video_ids, *([self.video_id] if self.video_id else []))

    def to_json(self) -> str:
        data: dict[str, Any] = {}
        for name in FIELD_ORDER:
            value = getattr(self, name)
            if value is not None and value != ():
                data[name] = list(value) if isinstance(value, tuple) else value
        return json.dumps(data, ensure_ascii=False, separators=(", ", ": "))

    def evolve(self, **changes: Any) -> Entry:
        return replace(self, **changes)


FIELD_ORDER = tuple(f.name for f in fields(Entry))
FIELD_NAMES = frozenset(FIELD_ORDER)


def entry_from(data: Any, path: Path, line: int) -> Entry:
    if not isinstance(data, dict):
        raise LockfileError(path, "each row must be a JSON object", line=line)
    for name in ("key", "request", "status"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise LockfileError(path, f"row has no {name}", line=line)
    known = {k: v for k, v in data.items() if k in FIELD_NAMES}
    known["previous_video_ids"] = tuple(known.get("previous_video_ids") or ())
    try:
        return Entry(**known)
    except TypeError as exc:
        raise LockfileError(path, f"row is malformed: {exc}", line=line) from None


def migrate(header: dict[str, Any], path: Path) -> None:
    """Older formats would be upgraded here; version 1 is the first."""
    version = header.get(HEADER_KEY)
    if version != FORMAT_VERSION:
        raise LockfileError(
            path,
            f"lockfile format {version!r} is not one this heyrender reads ({FORMAT_VERSION}); "
            "it may come from a newer heyrender",
            line=1,
        )


def load(path: Path) -> dict[str, Entry]:
    """Entries by key. A missing file is an empty lockfile; a broken one is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        raise LockfileError(path, "is not UTF-8 text") from None
    lines = text.splitlines()
    if not lines:
        raise LockfileError(path, "is empty; a lockfile starts with its format header")
    header = parse_line(lines[0], path, 1)
    if not isinstance(header, dict) or HEADER_KEY not in header:
        raise LockfileError(path, "does not start with the heyrender_lockfile header", line=1)
    migrate(header, path)
    entries: dict[str, Entry] = {}
    for number, raw in enumerate(lines[1:], 2):
        if not raw.strip():
            continue
        entry = entry_from(parse_line(raw, path, number), path, number)
        if entry.key in entries:
            raise LockfileError(path, f"key {entry.key!r} appears twice", line=number)
        entries[entry.key] = entry
    return entries


def parse_line(raw: str, path: Path, line: int) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LockfileError(path, f"not valid JSON ({exc.msg})", line=line) from None


def render(entries: dict[str, Entry], manifest_name: str) -> str:
    header = json.dumps({HEADER_KEY: FORMAT_VERSION, "manifest": manifest_name})
    rows = [entries[key].to_json() for key in sorted(entries)]
    return "\n".join([header, *rows]) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Temporary file in the same folder, fsync, rename, fsync the folder."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def save(path: Path, entries: dict[str, Entry], manifest_name: str) -> None:
    write_atomically(path, render(entries, manifest_name))
