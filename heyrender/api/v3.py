"""HeyGen's live API, v3: creates with an Idempotency-Key, bulk statuses, a title filter.

Paths and answer shapes as in schemas/heygen/v3-reference.json; behaviour as in API-NOTES.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from typing import Any

from heyrender.api import wire
from heyrender.api.provider import Balance, BillingType, Provider
from heyrender.api.wire import VideoStatus
from heyrender.errors import InvalidRequest, TransientError
from heyrender.status import Status
from heyrender.versions import ApiVersion

CREATE_PATH = "/v3/videos"
VIDEO_PATH = "/v3/videos/{video_id}"
LIST_PATH = "/v3/videos"
STATUSES_PATH = "/v3/videos/statuses"
ME_PATH = "/v3/users/me"
STATUS_BATCH = 100
LIST_LIMIT = 100
TITLE_CONCURRENCY = 8
REPLAY_WINDOW = 24 * 3600.0


def status_item(item: dict[str, Any]) -> VideoStatus | None:
    """One entry of the statuses call; `not_found` means HeyGen no longer knows the id."""
    video_id = item.get("video_id")
    if not isinstance(video_id, str) or not video_id:
        return None
    raw = item.get("status")
    if isinstance(raw, str) and raw.strip().lower() == "not_found":
        return VideoStatus(video_id, Status.MISSING, failure_message="HeyGen no longer knows it")
    error = obj(item.get("error"))
    return VideoStatus(
        video_id,
        Status.from_api(raw if isinstance(raw, str) else None),
        failure_code=wire.text(error.get("code")),
        failure_message=wire.text(error.get("message")),
    )


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def balance_of(payload: Any) -> Balance:
    data = wire.unwrap(payload)
    if not isinstance(data, dict):
        raise TransientError("HeyGen's account answer holds no data")
    try:
        kind = BillingType(str(data.get("billing_type") or "unknown"))
    except ValueError:
        kind = BillingType.UNKNOWN
    wallet, usage = obj(data.get("wallet")), obj(data.get("usage_based"))
    credits = obj(obj(data.get("subscription")).get("credits"))
    pools = [obj(credits.get(name)) for name in ("premium_credits", "add_on_credits")]
    remaining = [number(pool.get("remaining")) for pool in pools]
    known = [r for r in remaining if r is not None]
    return Balance(
        billing_type=kind,
        currency=wire.text(wallet.get("currency")),
        remaining_balance=number(wallet.get("remaining_balance")),
        remaining_credits=sum(known) if known else number(usage.get("remaining_credits")),
        spending_cap_usd=number(usage.get("spending_cap_usd")),
        spending_current_usd=number(usage.get("spending_current_usd")),
    )


class V3Provider(Provider):
    api = ApiVersion.V3
    idempotent = True
    replay_window = REPLAY_WINDOW
    status_batch = STATUS_BATCH

    async def create(
        self,
        body: dict[str, Any],
        idempotency_key: str | None = None,
        *,
        wait_when_rate_limited: bool = False,
    ) -> str:
        payload = await self.client.create(
            CREATE_PATH,
            body,
            idempotency_key=idempotency_key,
            wait_when_rate_limited=wait_when_rate_limited,
        )
        return wire.created_video_id(payload)

    async def video(self, video_id: str) -> VideoStatus:
        try:
            payload = await self.client.read("GET", VIDEO_PATH.format(video_id=video_id))
        except InvalidRequest as exc:
            if exc.status == 404:
                return VideoStatus(video_id, Status.MISSING, failure_message=str(exc))
            raise
        return wire.status_of(payload, video_id)

    async def statuses(self, video_ids: Iterable[str]) -> dict[str, VideoStatus]:
        ids = list(dict.fromkeys(video_ids))
        found: dict[str, VideoStatus] = {}
        for start in range(0, len(ids), STATUS_BATCH):
            chunk = ids[start : start + STATUS_BATCH]
            payload = await self.client.read(
                "GET", STATUSES_PATH, params={"video_ids": ",".join(chunk)}
            )
            items = wire.unwrap(payload)
            if not isinstance(items, list):
                raise TransientError("HeyGen's statuses answer holds no list")
            for item in items:
                video = status_item(item) if isinstance(item, dict) else None
                if video is not None and video.video_id in chunk:
                    found[video.video_id] = video
        return found

    async def titled(
        self, titles: Collection[str], created_since: float | None = None
    ) -> dict[str, list[VideoStatus]]:
        gate = asyncio.Semaphore(TITLE_CONCURRENCY)

        async def one(title: str) -> list[VideoStatus]:
            async with gate:
                return await self.with_title(title, created_since)

        unique = list(dict.fromkeys(titles))
        results = await asyncio.gather(*(one(title) for title in unique))
        return dict(zip(unique, results, strict=True))

    async def with_title(self, title: str, created_since: float | None) -> list[VideoStatus]:
        """Every page of `GET /v3/videos?title=`; the filter is a substring match, so exact
        titles are kept; each id once; no page's order is relied on."""
        found: dict[str, VideoStatus] = {}
        token: str | None = None
        while True:
            params: dict[str, Any] = {"title": title, "limit": LIST_LIMIT}
            if token:
                params["token"] = token
            payload = await self.client.read("GET", LIST_PATH, params=params)
            items = wire.unwrap(payload)
            if not isinstance(items, list):
                raise TransientError("HeyGen's list answer holds no list")
            for item in items:
                if not isinstance(item, dict):
                    continue
                video = wire.video_status(item)
                if video.title != title or not video.video_id:
                    continue
                if created_since and video.created_at and video.created_at < created_since:
                    continue
                found.setdefault(video.video_id, video)
            token = wire.text(payload.get("next_token")) if isinstance(payload, dict) else None
            more = isinstance(payload, dict) and payload.get("has_more") is not False
            if not token or not items or not more:
                return list(found.values())

    async def balance(self) -> Balance:
        return balance_of(await self.client.read("GET", ME_PATH))

    async def delete(self, video_id: str) -> None:
        await self.client.read("DELETE", VIDEO_PATH.format(video_id=video_id))
