"""Idempotency keys for v3 creates: the same row, unchanged, gets the same key on any machine.

A key is a hash of four things: the campaign's identity (its manifest name and the manifest's
path relative to the campaign root, so two clones or copies of one campaign folder agree), the
row key, the request hash, and the row's attempt number (a deliberate re-render is a new
attempt). HeyGen accepts 1-255 characters of [A-Za-z0-9_:.-].
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from heyrender.state.lockfile import Entry

PREFIX = "heyrender:1:"


def campaign_root(manifest_path: Path) -> Path:
    """The enclosing git repository, or the manifest's folder when there is none."""
    folder = manifest_path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def campaign_identity(manifest_path: Path, name: str) -> str:
    path = manifest_path.resolve()
    relative = path.relative_to(campaign_root(path)).as_posix()
    return f"{name}\n{relative}"


def idempotency_key(identity: str, row_key: str, request: str, attempt: int) -> str:
    text = "\n".join((identity, row_key, request, str(attempt)))
    return PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


def next_attempt(previous: Entry | None) -> int:
    """1 for a row's first video; one more for every video it has had (failed, missing,
    replaced). A create that never landed keeps its number: its key was never used."""
    if previous is None:
        return 1
    return max(previous.attempt or 1, len(previous.known_video_ids) + 1)
