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

from heyrender.emulator.billing import Wallet, price_per_second
from heyrender.versions import ApiVersion

WAITING_SHARE, PENDING_SHARE = 0.1, 0.25
WORDS_PER_SECOND = 2.5  # about 150 words a minute at speed 1.0
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
    seq: int = 0
    api: ApiVersion = ApiVersion.V2
    output_format: str = "mp4"
    captioned: bool = False
    cost_usd: float = 0.0
    deleted: bool = False

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


def avatar_kind(body: dict[str, Any], api: ApiVersion) -> str:
    """'image' for a photo avatar, 'avatar' for a digital twin or studio avatar."""
    if api is ApiVersion.V3:
        return "image" if body.get("type") == "image" else "avatar"
    return "image" if ("image_url" in body or "image_asset_id" in body) else "avatar"


def burns_captions(body: dict[str, Any]) -> bool:
    """A sidecar subtitle file always comes back; a caption style also burns them in."""
    caption = body.get("caption")
    return isinstance(caption, dict) and bool(caption.get("style"))


def spoken_seconds(body: dict[str, Any]) -> float:
    words = len(str(body.get("script", "")).split())
    return round(max(words / WORDS_PER_SECOND, 1.0), 2)


@dataclass
class Account:
    render_seconds: float = 3.0
    fail_rate: float = 0.0
    max_concurrent: int = 3
    credits: int | None = None
    seed: int | None = None
    wallet: Wallet = field(default_factory=Wallet)
    clock: Callable[[], float] = time.time
    videos: dict[str, Video] = field(default_factory=dict)
    oldest_first: list[Video] = field(default_factory=list)
    creates_by_title: Counter[str] = field(default_factory=Counter)
    creates_by_api: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    peak_unfinished: int = 0
    _finishing: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def unfinished(self, now: float) -> int:
        while self._finishing and self._finishing[0] <= now:
            heapq.heappop(self._finishing)
        return len(self._finishing)

    def create(self, body: dict[str, Any], api: ApiVersion = ApiVersion.V2) -> Video:
        now = self.clock()
        if self.credits is not None and len(self.videos) > self.credits:
            raise Refused(402, "insufficient_credit", "Insufficient credit.")
        duration = spoken_seconds(body)
        rate = price_per_second(avatar_kind(body, api), str(body.get("resolution", "1080p")))
        cost = round(duration * rate, 4)
        if not self.wallet.can_pay(cost):
            raise Refused(
                402,
                "insufficient_credit",
                f"Insufficient credit: this video costs about ${cost:.2f}, "
                f"${self.wallet.available():.2f} is left.",
            )
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
        video = Video(
            video_id=uuid.UUID(int=self.rng.getrandbits(128), version=4).hex,
            title=str(body.get("title") or ""),
            created_at=now,
            finishes_at=now + self.render_seconds,
            failure=failure,
            duration=duration,
            seq=len(self.oldest_first),
            api=api,
            output_format=str(body.get("output_format", "mp4")),
            captioned=burns_captions(body),
            cost_usd=0.0 if failure else cost,
        )
        if not failure:
            self.wallet.charge(cost, video.finishes_at)
        self.videos[video.video_id] = video
        self.oldest_first.append(video)
        self.creates_by_title[video.title] += 1
        self.creates_by_api[api.value] += 1
        heapq.heappush(self._finishing, video.finishes_at)
        self.peak_unfinished = max(self.peak_unfinished, self.unfinished(now))
        return video

    def find(self, video_id: str) -> Video | None:
        """A video that exists and was not deleted."""
        video = self.videos.get(video_id)
        return None if video is None or video.deleted else video

    def delete(self, video_id: str) -> bool:
        video = self.find(video_id)
        if video is None:
            return False
        video.deleted = True
        return True

    def page(
        self, before: int | None, limit: int, title: str | None = None
    ) -> tuple[list[Video], bool]:
        """Newest first, from creation number `before` (exclusive) down; and whether more follow.

        A cursor on the creation number keeps pages stable while creates continue: a new video
        has a higher number, so it never shifts or repeats what a later page returns.
        """
        needle = title.casefold() if title else None
        start = len(self.oldest_first) if before is None else min(before, len(self.oldest_first))
        found: list[Video] = []
        for seq in range(start - 1, -1, -1):
            video = self.oldest_first[seq]
            if video.deleted or (needle is not None and needle not in video.title.casefold()):
                continue
            if len(found) == limit:
                return found, True
            found.append(video)
        return found, False

    def busy_slot_seconds(self, now: float) -> float:
        return sum(min(now, v.finishes_at) - v.created_at for v in self.videos.values())

    def stats(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "creates_accepted": len(self.videos),
            "creates_by_title": dict(self.creates_by_title),
            "creates_by_api": {api.value: self.creates_by_api[api.value] for api in ApiVersion},
            "rate_limited": self.rate_limited,
            "unfinished": self.unfinished(now),
            "peak_unfinished": self.peak_unfinished,
            "busy_slot_seconds": round(self.busy_slot_seconds(now), 3),
            "max_concurrent": self.max_concurrent,
            "deleted": sum(1 for v in self.oldest_first if v.deleted),
            "spent_usd": round(self.wallet.spent(now), 4),
        }
