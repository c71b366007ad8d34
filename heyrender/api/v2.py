"""HeyGen's legacy v2 API (retired by HeyGen on 2026-10-31): POST /v2/videos, no key.

A v2 create cannot be made idempotent, so exactly-once rests on the durable intent and the
title settle (run/settle.py). There is no bulk status call: one GET per video.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from typing import Any

from heyrender.api import wire
from heyrender.api.provider import Balance, Provider
from heyrender.api.wire import VideoStatus
from heyrender.errors import ApiError, InvalidRequest
from heyrender.status import Status
from heyrender.versions import ApiVersion

CREATE_PATH = wire.CREATE_PATH
VIDEO_PATH = wire.STATUS_PATH
LIST_PATH = wire.LIST_PATH
STATUS_CONCURRENCY = 16


def missing(video_id: str) -> VideoStatus:
    return VideoStatus(video_id, Status.MISSING, failure_message="HeyGen no longer knows it")


class V2Provider(Provider):
    api = ApiVersion.V2
    idempotent = False

    async def create(
        self,
        body: dict[str, Any],
        idempotency_key: str | None = None,
        *,
        wait_when_rate_limited: bool = False,
    ) -> str:
        del idempotency_key  # v2 takes none; the title settle covers a lost answer
        payload = await self.client.create(
            CREATE_PATH, body, wait_when_rate_limited=wait_when_rate_limited
        )
        return wire.created_video_id(payload)

    async def video(self, video_id: str) -> VideoStatus:
        try:
            payload = await self.client.read("GET", VIDEO_PATH.format(video_id=video_id))
        except InvalidRequest as exc:
            if exc.status == 404:
                return missing(video_id)
            raise
        return wire.status_of(payload, video_id)

    async def statuses(self, video_ids: Iterable[str]) -> dict[str, VideoStatus]:
        gate = asyncio.Semaphore(STATUS_CONCURRENCY)
        found: dict[str, VideoStatus] = {}
        errors: list[ApiError] = []

        async def one(video_id: str) -> None:
            async with gate:
                try:
                    found[video_id] = await self.video(video_id)
                except ApiError as exc:
                    errors.append(exc)

        await asyncio.gather(*(one(v) for v in video_ids))
        if errors and not found:
            raise errors[0]
        return found

    async def titled(
        self, titles: Collection[str], created_since: float | None = None
    ) -> dict[str, list[VideoStatus]]:
        """One sweep of the whole list (v2 has no title filter), every page, each id once."""
        found: dict[str, list[VideoStatus]] = {title: [] for title in titles}
        async for video in self.client.videos(created_since=created_since):
            if video.title in found:
                found[video.title].append(video)
        return found

    async def balance(self) -> Balance | None:
        return None

    async def delete(self, video_id: str) -> None:
        raise ApiError("deleting a video needs api: v3")
