"""Settling creates whose answer was lost, by the row's unique title.

The title settle is what exactly-once rests on where no idempotency key can: every v2 create,
and a v3 create whose intent is older than HeyGen's 24 h key replay window. A create that
timed out, got a 5xx, lost its connection or was cut short by a crash may or may not have made
(and billed) a video; nothing is resent until the row's title has been looked for.

The lookup (provider.titled) reads every page and gives each video id once; a video that the
lockfile already gives to another row is never adopted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from heyrender.api.provider import Provider
from heyrender.api.wire import VideoStatus
from heyrender.errors import ApiError
from heyrender.state.lockfile import Entry, now_iso, parse_iso
from heyrender.state.store import State
from heyrender.status import Status
from heyrender.wording import counted

CLOCK_SKEW = 600.0


def adopted(entry: Entry, video: VideoStatus) -> Entry:
    return entry.evolve(
        status=video.status,
        video_id=video.video_id,
        submitted_at=entry.intent_at,
        failure_code=video.failure_code,
        failure_message=video.failure_message,
    )


def owners(state: State) -> dict[str, str]:
    """Which row the lockfile gives each video id to (current and previous videos)."""
    owner: dict[str, str] = {}
    for key, entry in state.entries.items():
        for video_id in entry.known_video_ids:
            owner[video_id] = key
    return owner


async def settle(
    provider: Provider, state: State, keys: Iterable[str], *, grace: float
) -> dict[str, Entry]:
    """Resolves each key's unsettled create to a video, to not_created, or to uncertain.

    A create younger than `grace` seconds that is not listed yet may still be landing,
    so it is looked for again until it is that old.
    """
    pending = {key: state.entries[key] for key in keys}
    settled: dict[str, Entry] = {}

    def record(entry: Entry) -> None:
        settled[entry.key] = entry
        state.record(entry, durable=True)
        pending.pop(entry.key, None)

    for entry in list(pending.values()):
        if not entry.title:
            record(entry.evolve(status=Status.UNCERTAIN, failure_message="no title to find it by"))
    while pending:
        intents = [parse_iso(e.intent_at) or time.time() for e in pending.values()]
        since = min(intents) - CLOCK_SKEW
        titles = {e.title for e in pending.values() if e.title}
        try:
            listed = await provider.titled(titles, created_since=since)
        except ApiError as exc:
            for entry in list(pending.values()):
                record(
                    entry.evolve(
                        status=Status.UNCERTAIN,
                        failure_message=f"could not list videos to settle: {exc}",
                    )
                )
            return settled
        owner = owners(state)
        waits = []
        for key, entry in list(pending.items()):
            matches = [
                video
                for video in listed.get(entry.title or "", [])
                if video.video_id not in entry.known_video_ids
                and owner.get(video.video_id, key) == key
            ]
            age = time.time() - (parse_iso(entry.intent_at) or 0)
            if len(matches) == 1:
                record(adopted(entry, matches[0]))
            elif len(matches) > 1:
                ids = ", ".join(sorted(v.video_id for v in matches))
                record(
                    entry.evolve(
                        status=Status.UNCERTAIN,
                        failure_message=(
                            f"{counted(len(matches), 'video')} are titled {entry.title!r}: {ids}"
                        ),
                    )
                )
            elif age >= grace:
                record(
                    entry.evolve(
                        status=Status.NOT_CREATED,
                        finished_at=now_iso(),
                        failure_message="the lost create is not among the account's videos",
                    )
                )
            else:
                waits.append(grace - age)
        if pending:
            await asyncio.sleep(max(min(waits), 0.05))
    return settled
