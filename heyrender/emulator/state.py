"""The emulated account: videos, their lifecycle over time, its limits and its statistics."""

from __future__ import annotations

import heapq
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WAITING_SHARE, PENDING_SHARE = 0.1, 0.25
RENDER_FAILURE = ("RENDER_FAILED", "The avatar could not be rendered (emulated failure).")
CREDIT_FAILURE = (
    "MOVIO_PAYMENT_INSUFFICIENT_CREDIT",
    "Insufficient credit to render this video (emulated).",
)


@dataclass
class Video:
    video_id: str
    title: str
    created_at: float
    finishes_at: float
    failure: tuple[str, str] | None
    duration: float

    def status(self, now: float) -> str:
        share = (now - self.created_at) / max(self.finishes_at - self.created_at, 1e-9)
        if share >= 1:
            return "failed" if self.failure else "completed"
        if share < WAITING_SHARE:
            return "waiting"
        return "pending" if share < PENDING_SHARE else "processing"


class Refused(Exception):
    """A create the account refuses: carries the HTTP status and error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code = status, code
        super().__init__(message)


@dataclass
class Account:
    render_seconds: float = 3.0
    fail_rate: float = 0.0
    max_concurrent: int = 3
    credits: int | None = None
    seed: int | None = None
    clock: Callable[[], float] = time.time
    videos: dict[str, Video] = field(default_factory=dict)
    oldest_first: list[Video] = field(default_factory=list)
    creates_by_title: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    peak_unfinished: int = 0
    _finishing: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def unfinished(self, now: float) -> int:
        while self._finishing and self._finishing[0] <= now:
            heapq.heappop(self._finishing)
        return len(self._finishing)

    def create(self, body: dict[str, Any]) -> Video:
        now = self.clock()
        if self.credits is not None and len(self.videos) > self.credits:
            raise Refused(402, "insufficient_credit", "Insufficient credit.")
        if self.unfinished(now) >= self.max_concurrent:
            self.rate_limited += 1
            raise Refused(
                429,
                "rate_limit_exceeded",
                f"Concurrent render limit of {self.max_concurrent} reached.",
            )
        failure = None
        if self.credits is not None and len(self.videos) == self.credits:
            failure = CREDIT_FAILURE
        elif self.rng.random() < self.fail_rate:
            failure = RENDER_FAILURE
        words = len(str(body.get("script", "")).split())
        video = Video(
            video_id=uuid.UUID(int=self.rng.getrandbits(128), version=4).hex,
            title=str(body.get("title") or ""),
            created_at=now,
            finishes_at=now + self.render_seconds,
            failure=failure,
            duration=round(max(words / 2.5, 1.0), 2),
        )
        self.videos[video.video_id] = video
        self.oldest_first.append(video)
        self.creates_by_title[video.title] += 1
        heapq.heappush(self._finishing, video.finishes_at)
        self.peak_unfinished = max(self.peak_unfinished, self.unfinished(now))
        return video

    def newest_first(self, offset: int, limit: int) -> list[Video]:
        end = len(self.oldest_first) - offset
        return self.oldest_first[max(end - limit, 0) : max(end, 0)][::-1]

    def busy_slot_seconds(self, now: float) -> float:
        return sum(min(now, v.finishes_at) - v.created_at for v in self.videos.values())

    def stats(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "creates_accepted": len(self.videos),
            "creates_by_title": dict(self.creates_by_title),
            "rate_limited": self.rate_limited,
            "unfinished": self.unfinished(now),
            "peak_unfinished": self.peak_unfinished,
            "busy_slot_seconds": round(self.busy_slot_seconds(now), 3),
            "max_concurrent": self.max_concurrent,
        }
