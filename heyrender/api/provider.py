"""The provider boundary: everything heyrender asks of HeyGen, whatever the API version.

    create exactly once   create(body, idempotency_key)   v2: no key (intent + title settle)
                                                          v3: Idempotency-Key, replayed 24 h
    poll (bulk)           statuses(video_ids)             v2: one GET each; v3: 100 per call
    fetch one             video(video_id)                 URLs, failure code, duration
    list by title         titled(titles)                  exact titles, each video id once
    account balance       balance()                       v3: GET /v3/users/me
    delete                delete(video_id)

One adapter per version (v2.py, v3.py) maps these onto paths, envelopes and headers.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import httpx

from heyrender.api.client import HeyGenClient, Settings
from heyrender.api.wire import VideoStatus
from heyrender.versions import ApiVersion


class BillingType(str, Enum):
    WALLET = "wallet"  # prepaid USD (or credits for Enterprise)
    SUBSCRIPTION = "subscription"  # credit pools
    USAGE_BASED = "usage_based"  # metered, with an optional spending cap
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Balance:
    """What the account can still pay for, as HeyGen reports it."""

    billing_type: BillingType
    currency: str | None = None  # wallet: "usd" or "credits"
    remaining_balance: float | None = None  # wallet
    remaining_credits: float | None = None  # subscription (premium + add-on) or usage_based
    spending_cap_usd: float | None = None  # usage_based
    spending_current_usd: float | None = None  # usage_based

    @property
    def remaining_usd(self) -> float | None:
        """Dollars left to spend, where the account's billing says so."""
        if self.billing_type is BillingType.WALLET and self.currency == "usd":
            return self.remaining_balance
        if self.billing_type is BillingType.USAGE_BASED and self.spending_cap_usd is not None:
            return max(self.spending_cap_usd - (self.spending_current_usd or 0.0), 0.0)
        return None


class Provider(abc.ABC):
    """One HeyGen API version behind one interface. Use as `async with`."""

    api: ApiVersion
    idempotent: bool  # creates carry an Idempotency-Key that HeyGen replays
    replay_window: float = 0.0  # seconds a key is replayed
    status_batch: int = 1  # video ids per statuses() request

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.client = HeyGenClient(settings, transport=transport)

    async def __aenter__(self) -> Provider:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self.client.requests

    @abc.abstractmethod
    async def create(
        self,
        body: dict[str, Any],
        idempotency_key: str | None = None,
        *,
        wait_when_rate_limited: bool = False,
    ) -> str:
        """POSTs one create; returns its video id. Raises the client's error classes."""

    @abc.abstractmethod
    async def statuses(self, video_ids: Iterable[str]) -> dict[str, VideoStatus]:
        """Status of each id; an id HeyGen does not know is Status.MISSING."""

    @abc.abstractmethod
    async def video(self, video_id: str) -> VideoStatus:
        """One video with its details (URLs, failure, duration)."""

    @abc.abstractmethod
    async def titled(
        self, titles: Collection[str], created_since: float | None = None
    ) -> dict[str, list[VideoStatus]]:
        """The account's videos titled exactly each of `titles`, each id once, in no order."""

    @abc.abstractmethod
    async def balance(self) -> Balance | None:
        """The account's balance, or None where the API version cannot tell."""

    @abc.abstractmethod
    async def delete(self, video_id: str) -> None:
        """Deletes a video permanently."""

    async def download(self, url: str, target: Path) -> int:
        return await self.client.download(url, target)


def open_provider(
    settings: Settings, api: ApiVersion, transport: httpx.AsyncBaseTransport | None = None
) -> Provider:
    from heyrender.api.v2 import V2Provider
    from heyrender.api.v3 import V3Provider

    kind = V3Provider if api is ApiVersion.V3 else V2Provider
    return kind(settings, transport=transport)
