"""`heyrender download`: each completed video to `<key>.mp4`, with fresh URLs, atomically."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from heyrender.api.client import HeyGenClient, Settings
from heyrender.campaign.manifest import Manifest
from heyrender.errors import ApiError, AuthError, ExpiredUrl
from heyrender.state.lockfile import COMPLETED, Entry
from heyrender.state.store import State

UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")
ATTEMPTS = 3
CONCURRENCY = 4


def file_name(key: str) -> str:
    """A safe file name for a key; keys that needed changing get a hash so two never collide."""
    safe = UNSAFE.sub("_", key).strip(".") or "row"
    if safe != key:
        safe = f"{safe[:80]}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    return f"{safe}.mp4"


async def fetch(client: HeyGenClient, entry: Entry, target: Path) -> int:
    """Asks for a fresh URL just before each try; a 403/404 means the URL expired."""
    assert entry.video_id
    partial = target.with_name(f".{target.name}.part")
    for attempt in range(ATTEMPTS):
        video = await client.video_status(entry.video_id)
        if not video.video_url:
            raise ApiError(f"HeyGen gave no video_url for {entry.video_id} ({video.status})")
        try:
            size = await client.download(video.video_url, partial)
        except ExpiredUrl:
            if attempt + 1 == ATTEMPTS:
                raise
            continue
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        partial.replace(target)
        return size
    raise AssertionError("unreachable")


def download(
    manifest: Manifest, settings: Settings, out: Path | None, echo: Callable[[str], None]
) -> int:
    state = State.load(manifest.lockfile_path, manifest.path.name)
    folder = out or manifest.path.parent / f"{manifest.name}-videos"
    folder.mkdir(parents=True, exist_ok=True)
    done = [e for e in sorted(state.entries.values(), key=lambda e: e.key) if e.status == COMPLETED]
    todo = [e for e in done if not (folder / file_name(e.key)).exists()]
    echo(f"{len(done):,} completed videos, {len(done) - len(todo):,} already in {folder}")
    failures: list[str] = []

    async def main() -> None:
        gate = asyncio.Semaphore(CONCURRENCY)
        async with HeyGenClient(settings) as client:

            async def one(index: int, entry: Entry) -> None:
                target = folder / file_name(entry.key)
                async with gate:
                    try:
                        size = await fetch(client, entry, target)
                    except AuthError:
                        raise
                    except (ApiError, OSError) as exc:
                        failures.append(entry.key)
                        echo(f"[{index}/{len(todo)}] {entry.key}: failed: {exc}")
                        return
                echo(f"[{index}/{len(todo)}] {entry.key} -> {target.name} ({size:,} bytes)")

            await asyncio.gather(*(one(i, e) for i, e in enumerate(todo, 1)))

    asyncio.run(main())
    if failures:
        echo(f"{len(failures):,} downloads failed; run heyrender download again to retry them")
        return 1
    return 0
