"""`heyrender status`: what the lockfile says, optionally refreshed from HeyGen.

Without --refresh, rows stream from the lockfile and journal (state/view.py) into
output text built a thousand lines at a time: no Entry per row, one JSON encoder call
per string."""

from __future__ import annotations

import json.encoder
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from heyrender.campaign.manifest import Manifest
from heyrender.state import view
from heyrender.state.lockfile import RAW_BREAKS, Entry
from heyrender.state.statelock import StateLock
from heyrender.state.store import State, observed
from heyrender.state.view import Row

if TYPE_CHECKING:
    from heyrender.api.client import Settings
    from heyrender.api.wire import VideoStatus

REFRESH_CONCURRENCY = 16
CHUNK = 1000
SHOWN = ("title", "submitted_at", "finished_at", "failure_code", "failure_message")
quoted: Callable[[str], str] = json.encoder.encode_basestring  # what json.dumps uses


async def refresh(state: State, settings: Settings) -> dict[str, VideoStatus]:
    """Polls every unfinished video once and records what changed."""
    import asyncio

    from heyrender.api.client import HeyGenClient
    from heyrender.errors import ApiError, AuthError

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


def row_json(row: Mapping[str, Any], video_url: str | None = None) -> str:
    """One row as `json.dumps` would write it: key, status, video_id, then what is known."""
    video_id = row.get("video_id")
    text = (
        f'{{"key": {quoted(row["key"])}, "status": {quoted(str(row["status"]))}, '
        f'"video_id": {"null" if video_id is None else quoted(video_id)}'
    )
    if video_url:
        text += f', "video_url": {quoted(video_url)}'
    for name in SHOWN:
        value = row.get(name)
        if value is not None:
            text += f', "{name}": {quoted(value)}'
    return text + "}"


def row_text(row: Mapping[str, Any]) -> str:
    detail = row.get("video_id") or ""
    code, message = row.get("failure_code"), row.get("failure_message")
    if code or message:
        detail += f" {code or ''}: {message or ''}".rstrip()
    return f"    {row['key']} {detail}".rstrip()


def escaped(text: str) -> str:
    for mark in RAW_BREAKS:
        if mark in text:
            text = text.replace(mark, f"\\u{ord(mark):04x}")
    return text


def as_json(batches: Iterable[list[Row]], urls: Mapping[str, str]) -> list[str]:
    """One JSON object per row and line, joined a batch at a time."""
    out = []
    for batch in batches:
        if batch:
            if urls:
                lines = [row_json(row, urls.get(row["key"])) for row in batch]
            else:
                lines = [row_json(row) for row in batch]
            out.append(escaped("\n".join(lines)))
    return out


def as_text(batches: Iterable[list[Row]], manifest_name: str) -> list[str]:
    groups: dict[Any, list[str]] = {}
    for batch in batches:
        for row in batch:
            lines = groups.get(row["status"])
            if lines is None:
                lines = groups[row["status"]] = []
            lines.append(row_text(row))
    if not groups:
        return [f"No lockfile rows yet for {manifest_name}; run heyrender apply."]
    out = [", ".join(f"{len(groups[s]):,} {s}" for s in sorted(groups))]
    for name in sorted(groups):
        lines = groups.pop(name)
        out += ["", f"  {name}:"]
        out += (escaped("\n".join(lines[i : i + CHUNK])) for i in range(0, len(lines), CHUNK))
    return out


def status(
    manifest: Manifest,
    settings: Settings | None,
    as_json_lines: bool,
    echo: Callable[[str], None],
) -> int:
    name = manifest.path.name

    def report(batches: Iterable[list[Row]], urls: Mapping[str, str]) -> list[str]:
        return as_json(batches, urls) if as_json_lines else as_text(batches, name)

    if settings is None:
        output = view.recorded(manifest.lockfile_path, name, lambda batches: report(batches, {}))
    else:
        import asyncio

        with StateLock(manifest.lockfile_path, name):
            state = State.load(manifest.lockfile_path, name)
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
