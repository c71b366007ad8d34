"""`heyrender status`: what the lockfile says, optionally refreshed from HeyGen.

Without --refresh, rows stream from the lockfile and journal (state/view.py) into
status_report's text or JSON lines: 100k rows take well under a second."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from heyrender.api.client import HeyGenClient, Settings
from heyrender.api.wire import VideoStatus
from heyrender.campaign.manifest import Manifest
from heyrender.commands import status_report
from heyrender.errors import ApiError, AuthError
from heyrender.state import view
from heyrender.state.lockfile import Entry
from heyrender.state.statelock import StateLock
from heyrender.state.store import State, observed
from heyrender.state.view import Row

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


def status(
    manifest: Manifest,
    settings: Settings | None,
    as_json: bool,
    echo: Callable[[str], None],
) -> int:
    name = manifest.path.name

    def report(batches: Iterable[list[Row]], urls: Mapping[str, str]) -> list[str]:
        if as_json:
            return status_report.as_json(batches, urls)
        return status_report.as_text(batches, name)

    if settings is None:
        output = view.recorded(manifest.lockfile_path, name, lambda rows: report(rows, {}))
    else:
        with StateLock(manifest.lockfile_path, manifest.path.name):
            state = State.load(manifest.lockfile_path, manifest.path.name)
            try:
                fresh = asyncio.run(refresh(state, settings))
            finally:
                state.checkpoint()
        urls = {key: video.video_url for key, video in fresh.items() if video.video_url}
        entries = state.entries
        output = report([[view.as_row(entries[key]) for key in sorted(entries)]], urls)
    for text in output:
        echo(text)
    return 0
