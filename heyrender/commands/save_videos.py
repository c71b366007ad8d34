"""`heyrender download`: each completed video to its file, with fresh URLs, atomically."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from heyrender.api.client import HeyGenClient, Settings
from heyrender.campaign.manifest import Manifest
from heyrender.commands.filenames import file_name, file_names
from heyrender.errors import ApiError, AuthError, TransientError
from heyrender.state.lockfile import COMPLETED, Entry
from heyrender.state.store import State
from heyrender.terminal import OutputSettings

__all__ = ["default_folder", "download", "fetch", "file_name"]

ATTEMPTS = 3
RETRY_PAUSE = 0.5
CONCURRENCY = 4


def default_folder(manifest: Manifest) -> Path:
    return manifest.path.parent / f"{manifest.name}-videos"


async def fetch(client: HeyGenClient, entry: Entry, target: Path) -> int:
    """Asks for a fresh URL just before each try (HeyGen's expire); writes a temp file,
    then renames it, so a file that exists is complete."""
    assert entry.video_id
    partial = target.with_name(f".{target.name}.part")
    try:
        for attempt in range(ATTEMPTS):
            video = await client.video_status(entry.video_id)
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
    done = [e for e in sorted(state.entries.values(), key=lambda e: e.key) if e.status == COMPLETED]
    if not done:
        echo(f"No completed videos in {manifest.lockfile_path.name} yet; nothing to download.")
        return 0
    names = file_names(e.key for e in done)
    todo = [e for e in done if not (folder / names[e.key]).exists()]
    present = len(done) - len(todo)
    info(f"{len(done):,} completed videos, {present:,} already in {folder}")
    created = bool(todo) and not folder.exists()
    if todo:
        folder.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []

    async def main() -> None:
        gate = asyncio.Semaphore(CONCURRENCY)
        async with HeyGenClient(settings) as client:

            async def one(index: int, entry: Entry) -> None:
                target = folder / names[entry.key]
                async with gate:
                    try:
                        size = await fetch(client, entry, target)
                    except AuthError:
                        raise
                    except ApiError as exc:
                        failures.append(entry.key)
                        echo(f"[{index}/{len(todo)}] {entry.key}: failed: {exc.message}")
                        return
                info(f"[{index}/{len(todo)}] {entry.key} -> {target.name} ({size:,} bytes)")

            await asyncio.gather(*(one(i, e) for i, e in enumerate(todo, 1)))

    if todo:
        try:
            asyncio.run(main())
        finally:
            if created and not any(folder.iterdir()):
                folder.rmdir()  # leave no empty folder behind when every download failed
    saved = len(todo) - len(failures)
    echo(f"Saved {saved:,} videos to {folder}; {present:,} were already there.")
    if failures:
        echo(f"{len(failures):,} downloads failed; run heyrender download again to retry them.")
        return 1
    return 0
