"""Settling creates whose answer was lost: list the account's videos and match titles.

HeyGen's v2 create takes no idempotency key, so a create that timed out, got a 5xx,
lost its connection or was cut short by a crash may or may not have made (and billed)
a video. Nothing is resent until the row's unique title has been looked for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from heyrender.api.client import HeyGenClient
from heyrender.api.wire import VideoStatus
from heyrender.errors import ApiError
from heyrender.state.lockfile import NOT_CREATED, UNCERTAIN, Entry, now_iso, parse_iso
from heyrender.state.store import State

CLOCK_SKEW = 600.0


def adopted(entry: Entry, video: VideoStatus) -> Entry:
    return entry.evolve(
        status=video.status,
        video_id=video.video_id,
        submitted_at=entry.intent_at,
        failure_code=None,
        failure_message=None,
    )


async def settle(
    client: HeyGenClient, state: State, keys: Iterable[str], *, grace: float
) -> dict[str, Entry]:
    """Resolves each key's unsettled create to a video, to not_created, or to uncertain.

    A create younger than `grace` seconds that is not listed yet may still be landing,
    so it is looked for again until it is that old.
    """
    pending = {key: state.entries[key] for key in keys}
    settled: dict[str, Entry] = {}
    while pending:
        intents = [parse_iso(e.intent_at) or time.time() for e in pending.values()]
        since = min(intents) - CLOCK_SKEW
        by_title = {e.title: key for key, e in pending.items() if e.title}
        found: dict[str, list[VideoStatus]] = {key: [] for key in pending}
        try:
            async for video in client.videos(created_since=since):
                key = by_title.get(video.title or "")
                if key and video.video_id not in pending[key].known_video_ids:
                    found[key].append(video)
        except ApiError as exc:
            for key, entry in pending.items():
                settled[key] = entry.evolve(
                    status=UNCERTAIN, failure_message=f"could not list videos to settle: {exc}"
                )
                state.record(settled[key], durable=True)
            return settled
        waits = []
        for key, entry in list(pending.items()):
            matches = found[key]
            age = time.time() - (parse_iso(entry.intent_at) or 0)
            if not entry.title:
                result = entry.evolve(
                    status=UNCERTAIN, failure_message="no title to find the video by"
                )
            elif len(matches) == 1:
                result = adopted(entry, matches[0])
            elif len(matches) > 1:
                ids = ", ".join(v.video_id for v in matches)
                result = entry.evolve(
                    status=UNCERTAIN,
                    failure_message=f"{len(matches)} videos are titled {entry.title!r}: {ids}",
                )
            elif age >= grace:
                result = entry.evolve(
                    status=NOT_CREATED,
                    finished_at=now_iso(),
                    failure_message="the lost create is not among the account's videos",
                )
            else:
                waits.append(grace - age)
                continue
            settled[key] = result
            state.record(result, durable=True)
            del pending[key]
        if pending:
            await asyncio.sleep(max(min(waits), 0.05))
    return settled
