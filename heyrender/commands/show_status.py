"""`heyrender status`: what the lockfile says, optionally refreshed from HeyGen."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from heyrender.api.client import HeyGenClient, Settings
from heyrender.api.wire import VideoStatus
from heyrender.campaign.manifest import Manifest
from heyrender.errors import ApiError, AuthError
from heyrender.state.lockfile import Entry
from heyrender.state.statelock import StateLock
from heyrender.state.store import State, observed

REFRESH_CONCURRENCY = 16


async def refresh(state: State, settings: Settings) -> dict[str, VideoStatus]:
    """Polls every unfinished video once and records what changed."""
    fresh: dict[str, VideoStatus] = {}
    gate = asyncio.Semaphore(REFRESH_CONCURRENCY)
    async with HeyGenClient(settings) as client:

        async def one(entry: Entry) -> None:
            assert entry.video_id
            async with gate:
                try:
                    video = await client.video_status(entry.video_id)
                except AuthError:
                    raise
                except ApiError:
                    return
            fresh[entry.key] = video
            if video.status != entry.status:
                state.record(observed(entry, video), durable=video.finished)

        await asyncio.gather(*(one(e) for e in list(state.entries.values()) if e.in_progress))
    return fresh


def row_json(entry: Entry, video: VideoStatus | None) -> str:
    data: dict[str, Any] = {"key": entry.key, "status": entry.status, "video_id": entry.video_id}
    if video is not None and video.video_url:
        data["video_url"] = video.video_url
    for name in ("title", "submitted_at", "finished_at", "failure_code", "failure_message"):
        value = getattr(entry, name)
        if value is not None:
            data[name] = value
    return json.dumps(data, ensure_ascii=False)


def status(
    manifest: Manifest,
    settings: Settings | None,
    as_json: bool,
    echo: Callable[[str], None],
) -> int:
    if settings is None:
        state = State.load(manifest.lockfile_path, manifest.path.name)
        fresh: dict[str, VideoStatus] = {}
    else:
        with StateLock(manifest.lockfile_path, manifest.path.name):
            state = State.load(manifest.lockfile_path, manifest.path.name)
            try:
                fresh = asyncio.run(refresh(state, settings))
            finally:
                state.checkpoint()
    entries = [state.entries[key] for key in sorted(state.entries)]
    if as_json:
        for entry in entries:
            echo(row_json(entry, fresh.get(entry.key)))
        return 0
    if not entries:
        echo(f"No lockfile rows yet for {manifest.path.name}; run heyrender apply.")
        return 0
    counts = Counter(entry.status for entry in entries)
    echo(", ".join(f"{n:,} {s}" for s, n in sorted(counts.items())))
    for name in sorted(counts):
        echo("")
        echo(f"  {name}:")
        for entry in (e for e in entries if e.status == name):
            detail = entry.video_id or ""
            if entry.failure_code or entry.failure_message:
                detail += f" {entry.failure_code or ''}: {entry.failure_message or ''}".rstrip()
            echo(f"    {entry.key} {detail}".rstrip())
    return 0
