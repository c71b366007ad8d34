"""An async HeyGen client: timeouts that fit the API, retries only where they are safe."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from heyrender.api import wire
from heyrender.errors import (
    ApiError,
    ConfigError,
    ExpiredUrl,
    OutcomeUnknown,
    RateLimited,
    TransientError,
)

DEFAULT_BASE = "https://api.heygen.com"
KEY_ENV, BASE_ENV = "HEYGEN_API_KEY", "HEYGEN_API_BASE"


class ApiKey:
    """The key, kept out of every repr, log line and message."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "ApiKey('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    base_url: str
    api_key: ApiKey
    create_timeout: float = 90.0
    read_timeout: float = 30.0
    connect_timeout: float = 10.0
    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    rate_limit_cap: float = 60.0
    max_connections: int = 100

    @classmethod
    def from_env(cls, api_base: str | None = None, **overrides: Any) -> Settings:
        key = os.environ.get(KEY_ENV, "").strip()
        if not key:
            raise ConfigError(
                f"{KEY_ENV} is not set",
                hint=f"export {KEY_ENV}=<your HeyGen API key>, or rehearse against the bundled "
                f"emulator: heyrender emulator, then {BASE_ENV}=http://127.0.0.1:<port>",
            )
        base = (api_base or os.environ.get(BASE_ENV) or DEFAULT_BASE).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"API base {base!r} is not an http(s) URL")
        return cls(base_url=base, api_key=ApiKey(key), **overrides)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2**attempt))


class HeyGenClient:
    """One connection pool for many concurrent calls. Use as `async with`."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        limits = httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_connections,
        )
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            headers={wire.KEY_HEADER: settings.api_key.reveal(), "accept": "application/json"},
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            limits=limits,
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HeyGenClient({self.settings.base_url!r})"

    async def __aenter__(self) -> HeyGenClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_video(
        self, body: dict[str, Any], *, wait_when_rate_limited: bool = True
    ) -> str:
        """POSTs one video and returns its id. Never resends once the request may have landed."""
        attempt = 0
        while True:
            try:
                response = await self._http.post(
                    wire.CREATE_PATH, json=body, timeout=self._timeout(self.settings.create_timeout)
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # the request never left this machine: safe to try again
                attempt = await self._pause_or_raise(attempt, TransientError(describe(exc)))
                continue
            except httpx.TransportError as exc:
                raise OutcomeUnknown(f"create {describe(exc)}; the video may exist") from None
            try:
                return wire.created_video_id(self._payload(response, creating=True))
            except RateLimited as exc:
                if not wait_when_rate_limited or attempt + 1 >= self.settings.max_attempts:
                    raise
                attempt += 1
                await asyncio.sleep(self._rate_limit_pause(exc))

    async def video_status(self, video_id: str) -> wire.VideoStatus:
        payload = await self._read("GET", wire.STATUS_PATH.format(video_id=video_id))
        return wire.status_of(payload, video_id)

    async def list_page(self, limit: int = 100, token: str | None = None) -> wire.Page:
        params: dict[str, Any] = {"limit": limit}
        if token:
            params["token"] = token
        return wire.page_of(await self._read("GET", wire.LIST_PATH, params=params))

    async def videos(
        self, *, created_since: float | None = None
    ) -> AsyncIterator[wire.VideoStatus]:
        """Every video, newest first, stopping at the first one older than created_since."""
        token: str | None = None
        while True:
            page = await self.list_page(token=token)
            for video in page.videos:
                if (
                    created_since is not None
                    and video.created_at is not None
                    and (video.created_at < created_since)
                ):
                    return
                yield video
            if not page.next_token or not page.videos:
                return
            token = page.next_token

    async def download(self, url: str, target: Path) -> int:
        """Streams url into target. A 403/404 raises ExpiredUrl: fetch the status again.

        A connection that fails is a TransientError naming the file server (never the
        signed URL, whose query is a credential)."""
        server = file_server(url)
        try:
            async with (
                httpx.AsyncClient(timeout=self._timeout(120.0)) as plain,
                plain.stream("GET", url) as response,
            ):
                if response.status_code in (403, 404):
                    raise ExpiredUrl(f"{server} answered {response.status_code} for the file")
                if response.status_code != 200:
                    raise wire.classify(response.status_code, None, creating=False)
                size = 0
                with open(target, "wb") as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        size += len(chunk)
                return size
        except httpx.TransportError as exc:
            raise TransientError(f"{describe(exc)} to the file server {server}") from exc
        except httpx.InvalidURL as exc:
            raise ApiError(f"HeyGen gave a file URL that is not usable ({server})") from exc

    async def _read(self, method: str, path: str, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, path, **kwargs)
                return self._payload(response, creating=False)
            except httpx.TransportError as exc:
                attempt = await self._pause_or_raise(attempt, TransientError(describe(exc)))
            except TransientError as exc:
                attempt = await self._pause_or_raise(attempt, exc)
            except RateLimited as exc:
                if attempt + 1 >= self.settings.max_attempts:
                    raise
                attempt += 1
                await asyncio.sleep(self._rate_limit_pause(exc))

    def _payload(self, response: httpx.Response, *, creating: bool) -> Any:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code != 200 or wire.has_error(payload):
            raise wire.classify(
                response.status_code,
                payload,
                creating=creating,
                retry_after=response.headers.get("retry-after"),
            )
        if payload is None:
            kind = OutcomeUnknown if creating else TransientError
            raise kind(f"HeyGen answered {response.status_code} without JSON")
        return payload

    async def _pause_or_raise(self, attempt: int, error: ApiError) -> int:
        if attempt + 1 >= self.settings.max_attempts:
            raise error
        await asyncio.sleep(backoff(attempt, self.settings.backoff_base, self.settings.backoff_cap))
        return attempt + 1

    def _rate_limit_pause(self, error: RateLimited) -> float:
        return min(error.retry_after, self.settings.rate_limit_cap) * random.uniform(1.0, 1.2)

    def _timeout(self, read: float) -> httpx.Timeout:
        return httpx.Timeout(read, connect=self.settings.connect_timeout)


def file_server(url: str) -> str:
    """scheme://host[:port] of a URL, without its path or signed query."""
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "an unreadable URL"
    if not parts.scheme or not parts.host:
        return "a URL without a host"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}"


def describe(exc: httpx.TransportError) -> str:
    kinds = {
        httpx.ConnectError: "could not connect",
        httpx.ConnectTimeout: "timed out connecting",
        httpx.ReadTimeout: "timed out waiting for the answer",
        httpx.WriteTimeout: "timed out sending",
        httpx.PoolTimeout: "found no free connection",
        httpx.RemoteProtocolError: "lost the connection",
        httpx.ReadError: "lost the connection",
    }
    for kind, words in kinds.items():
        if isinstance(exc, kind):
            return words
    return type(exc).__name__
