"""Where a completed video can be seen: its downloaded file, or fresh URLs from HeyGen.

HeyGen's video and thumbnail URLs are presigned and expire after 7 days, so they are
asked for afresh (one status call per completed video) only when an API key is set.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from heyrender.api.client import KEY_ENV, Settings
from heyrender.api.provider import open_provider
from heyrender.api.wire import VideoStatus
from heyrender.campaign.manifest import Manifest
from heyrender.commands.filenames import file_name
from heyrender.commands.save_videos import Streak, default_folder
from heyrender.errors import ApiError, AuthError, VideoGone
from heyrender.state.lockfile import Entry
from heyrender.status import Status
from heyrender.versions import DEFAULT_API, ApiVersion

CONCURRENCY = 16


def settings_if_key(api_base: str | None) -> Settings | None:
    """Settings when HEYGEN_API_KEY is set; None means: use local files only."""
    if not os.environ.get(KEY_ENV, "").strip():
        return None
    return Settings.from_env(api_base)


def videos_folder(manifest: Manifest, given: str | None) -> Path:
    """Where `heyrender download` puts the files by default, or the folder given."""
    return Path(given) if given else default_folder(manifest)


@dataclass(frozen=True)
class Local:
    video: Path | None
    thumbnail: Path | None


def local_files(folder: Path, key: str) -> Local:
    video = folder / file_name(key)
    thumbnail = video.with_suffix(".jpg")
    return Local(video if video.is_file() else None, thumbnail if thumbnail.is_file() else None)


@dataclass(frozen=True)
class Fresh:
    """Status answers by key, and how many completed videos could not be asked about."""

    videos: dict[str, VideoStatus]
    failed: int = 0


def fresh_statuses(
    settings: Settings, entries: Iterable[Entry], api: ApiVersion = DEFAULT_API
) -> Fresh:
    """One status call per completed video, 16 at a time; a row's API error leaves it out.

    Once HeyGen is down (a Streak of failed calls), the rest are not asked about: each call
    retries for up to a minute, and 10,000 would take hours."""
    wanted = [(e.key, e.video_id) for e in entries if e.status is Status.COMPLETED and e.video_id]
    found: dict[str, VideoStatus] = {}
    failed = 0
    streak = Streak()

    async def main() -> None:
        nonlocal failed
        gate = asyncio.Semaphore(CONCURRENCY)
        async with open_provider(settings, api) as client:

            async def one(key: str, video_id: str) -> None:
                nonlocal failed
                async with gate:
                    if streak.down:
                        failed += 1
                        return
                    try:
                        found[key] = await client.video(video_id)
                    except AuthError:
                        raise
                    except VideoGone:  # an answer: HeyGen is up
                        failed += 1
                        streak.answered()
                        return
                    except ApiError:
                        failed += 1
                        streak.failed()
                        return
                    streak.answered()

            await asyncio.gather(*(one(key, video_id) for key, video_id in wanted))

    if wanted:
        asyncio.run(main())
    return Fresh(found, failed)


def page_url(video: VideoStatus | None) -> str | None:
    """HeyGen's page for the video, where the API gives one (v3's video_page_url)."""
    return video.video_page_url if video is not None else None
