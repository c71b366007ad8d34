"""What a status answer from HeyGen makes of a lockfile entry."""

from __future__ import annotations

from heyrender.api.wire import VideoStatus
from heyrender.state.lockfile import Entry, now_iso


def observed(entry: Entry, video: VideoStatus) -> Entry:
    """The entry after a status poll showed this."""
    return entry.evolve(
        status=video.status,
        finished_at=now_iso() if video.finished else None,
        duration=video.duration,
        failure_code=video.failure_code,
        failure_message=video.failure_message,
    )
