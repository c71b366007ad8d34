"""`heyrender download`: each completed video to its file, with fresh URLs, atomically."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from heyrender.api.client import Settings
from heyrender.api.provider import Provider, open_provider
from heyrender.campaign.manifest import Manifest
from heyrender.commands.filenames import file_name, file_names
from heyrender.errors import ApiError, AuthError, HeyrenderError, TransientError, VideoGone
from heyrender.state.lockfile import Entry
from heyrender.state.store import State
from heyrender.status import Status
from heyrender.terminal import OutputSettings
from heyrender.wording import counted, first_few

__all__ = ["default_folder", "download", "fetch", "file_name"]

ATTEMPTS = 3
RETRY_PAUSE = 0.5
CONCURRENCY = 4
FAILURES_IN_A_ROW = 8  # then the server is down, not one video: stop instead of trying them all


class Streak:
    """Calls to HeyGen that failed one after another. After FAILURES_IN_A_ROW the server is
    down, not one video, and the rest are not tried: each call retries for up to a minute."""

    def __init__(self) -> None:
        self.count = 0

    @property
    def down(self) -> bool:
        return self.count >= FAILURES_IN_A_ROW

    def failed(self) -> None:
        self.count += 1

    def answered(self) -> None:
        self.count = 0


def default_folder(manifest: Manifest) -> Path:
    return manifest.path.parent / f"{manifest.name}-videos"


async def fetch(client: Provider, entry: Entry, target: Path) -> int:
    """Asks for a fresh URL just before each try (HeyGen's expire); writes a temp file,
    then renames it, so a file that exists is complete. The temp file is made afresh
    (what a killed run left, or a link planted in its place, is removed, never followed)."""
    if not entry.video_id:
        raise HeyrenderError(
            f"row {entry.key!r} is {entry.status} but its lockfile row names no video_id; "
            "nothing to download"
        )
    partial = target.with_name(f".{target.name}.part")
    try:
        for attempt in range(ATTEMPTS):
            partial.unlink(missing_ok=True)
            video = await client.video(entry.video_id)
            if video.status is Status.MISSING:
                raise VideoGone(f"HeyGen no longer has video {entry.video_id}", code="not_found")
            if not video.video_url:
                raise ApiError(f"HeyGen gave no video_url for {entry.video_id} ({video.status})")
            try:
                size = await client.download(video.video_url, partial)
            except TransientError:
                if attempt + 1 == ATTEMPTS:
                    raise
                await asyncio.sleep(RETRY_PAUSE * 2**attempt)
                continue
            with open(partial, "rb") as written:
                os.fsync(written.fileno())
            partial.replace(target)
            return size
        raise AssertionError("unreachable")
    finally:
        partial.unlink(missing_ok=True)


def download(
    manifest: Manifest,
    settings: Settings,
    out: Path | None,
    output: OutputSettings,
    echo: Callable[[str], None],
) -> int:
    """Saves what is completed and missing from the folder. A local file problem (no space,
    no permission) stops the command; a video that fails to download is retried next time."""
    info = output.info(echo)
    state = State.load(manifest.lockfile_path, manifest.path.name)
    folder = out or default_folder(manifest)
    done = [
        e
        for e in sorted(state.entries.values(), key=lambda e: e.key)
        if e.status is Status.COMPLETED
    ]
    if not done:
        echo(f"No completed videos in {manifest.lockfile_path.name} yet; nothing to download.")
        return 0
    names = file_names(e.key for e in done)
    todo = [e for e in done if not (folder / names[e.key]).exists()]
    present = len(done) - len(todo)
    info(f"{counted(len(done), 'completed video')}, {present:,} already in {folder}")
    created = bool(todo) and not folder.exists()
    if todo:
        folder.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    gone: list[str] = []
    skipped: list[str] = []
    streak = Streak()

    async def main() -> None:
        gate = asyncio.Semaphore(CONCURRENCY)
        async with open_provider(settings, manifest.api) as client:

            async def one(index: int, entry: Entry) -> None:
                target = folder / names[entry.key]
                async with gate:
                    if streak.down:
                        skipped.append(entry.key)
                        return
                    try:
                        size = await fetch(client, entry, target)
                    except AuthError:
                        raise
                    except VideoGone as exc:
                        gone.append(entry.key)
                        echo(f"[{index}/{len(todo)}] {entry.key}: {exc.message}")
                        return
                    except ApiError as exc:
                        streak.failed()
                        failures.append(entry.key)
                        echo(f"[{index}/{len(todo)}] {entry.key}: failed: {exc.message}")
                        return
                    streak.answered()
                info(
                    f"[{index}/{len(todo)}] {entry.key} -> {target.name} ({counted(size, 'byte')})"
                )

            await asyncio.gather(*(one(i, e) for i, e in enumerate(todo, 1)))

    if todo:
        try:
            asyncio.run(main())
        finally:
            if created and not any(folder.iterdir()):
                folder.rmdir()  # leave no empty folder behind when every download failed
    saved = len(todo) - len(failures) - len(skipped) - len(gone)
    echo(f"Saved {counted(saved, 'video')} to {folder}; {present:,} already there.")
    if skipped:
        echo(
            f"Stopped after {counted(streak.count, 'download')} in a row failed; "
            f"{len(skipped):,} not tried."
        )
    if gone:
        echo(gone_sentence(manifest, sorted(gone)))
    if failures or skipped:
        unsaved = counted(len(failures) + len(skipped), "video")
        echo(f"{unsaved} not saved; run heyrender download again to retry.")
    return 1 if gone or failures or skipped else 0


def gone_sentence(manifest: Manifest, keys: list[str]) -> str:
    """Downloading again will not bring a deleted video back; a refresh records it missing."""
    them = "it" if len(keys) == 1 else "them"
    return (
        f"HeyGen no longer has {counted(len(keys), 'video')} ({first_few(keys)}); "
        f"downloading again will not help. Run heyrender status {manifest.path} --refresh "
        f"to record {them} as missing: heyrender plan and apply will then create {them} again."
    )
