"""`heyrender status`: what the lockfile says, optionally refreshed from HeyGen.

Without --refresh, rows stream from the lockfile and journal (state/view.py) into
status_report's text or JSON lines: 100k rows take well under a second."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from heyrender.api.client import Settings
from heyrender.api.provider import open_provider
from heyrender.api.wire import VideoStatus
from heyrender.campaign.manifest import Manifest
from heyrender.commands import status_report
from heyrender.run.observe import observed
from heyrender.run.reconcile import missing
from heyrender.state import view
from heyrender.state.statelock import StateLock
from heyrender.state.store import State
from heyrender.state.view import Row
from heyrender.status import Status
from heyrender.versions import ApiVersion


async def refresh(state: State, settings: Settings, api: ApiVersion) -> dict[str, VideoStatus]:
    """Polls every unfinished and completed video once (in bulk) and records what changed; a
    video HeyGen no longer knows (deleted) is recorded as missing, so apply creates it again."""
    following = {
        e.video_id: e
        for e in state.entries.values()
        if (e.in_progress or e.status is Status.COMPLETED) and e.video_id
    }
    async with open_provider(settings, api) as provider:
        found = await provider.statuses(list(following)) if following else {}
    fresh: dict[str, VideoStatus] = {}
    for video_id, video in found.items():
        entry = following[video_id]
        fresh[entry.key] = video
        if video.status is Status.MISSING:
            state.record(missing(entry), durable=True)
        elif entry.in_progress and video.status != entry.status:
            state.record(observed(entry, video), durable=video.finished)
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
                fresh = asyncio.run(refresh(state, settings, manifest.api))
            finally:
                state.checkpoint()
        urls = {key: video.video_url for key, video in fresh.items() if video.video_url}
        entries = state.entries
        output = report([[view.as_row(entries[key]) for key in sorted(entries)]], urls)
    for text in output:
        echo(text)
    return 0
