"""An async HTTP client for HeyGen: timeouts that fit the API, retries (retrying.py) where safe.

It knows envelopes and error classes (wire.py), not paths: those belong to the adapters
(v2.py, v3.py) behind the provider boundary (provider.py).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from heyrender.api import wire
from heyrender.api.retrying import RetryPolicy, retried
from heyrender.api.transport import lean_transport
from heyrender.errors import (
    ApiError,
    ConfigError,
    ExpiredUrl,
    OutcomeUnknown,
    TransientError,
)

# httpcore asks `import sniffio` on every request; when sniffio is not installed, that failed
# import is retried each time, a path search costing ~20% of apply's CPU. A None entry makes
# the import fail at once, and httpcore then assumes asyncio, which is what runs it here.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

DEFAULT_BASE = "https://api.heygen.com"
KEY_ENV, BASE_ENV = "HEYGEN_API_KEY", "HEYGEN_API_BASE"
BASE_HINT = f"check --api-base / {BASE_ENV} and the network; for the emulator, is it running?"


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
    connect_timeout: float = 5.0
    max_attempts: int = 8
    connect_attempts: int = 3  # a refused connection or DNS failure: fail within seconds
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    rate_limit_cap: float = 60.0
    in_progress_pause: float = 1.0  # after a 409 request_in_progress, before the same key again
    in_progress_attempts: int = 60
    max_connections: int = 10

    @classmethod
    def from_env(cls, api_base: str | None = None, **overrides: Any) -> Settings:
        said = os.environ.get(KEY_ENV)
        key = (said or "").strip()
        if not key:
            raise ConfigError(
                f"{KEY_ENV} is not set" if not said else f"{KEY_ENV} is set but blank",
                hint=f"export {KEY_ENV}=<your HeyGen API key>, or rehearse against the bundled "
                f"emulator: heyrender emulator, then {BASE_ENV}=http://127.0.0.1:<port> and any "
                f"non-empty {KEY_ENV}",
            )
        if not key.isascii() or not key.isprintable():
            raise ConfigError(
                f"{KEY_ENV} holds a character that is not printable ASCII; "
                "HeyGen keys are plain ASCII",
                hint="copy the key again from HeyGen's settings page (a pasted quote or space?)",
            )
        return cls(base_url=checked_base(api_base, key), api_key=ApiKey(key), **overrides)

    def evolve(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.max_attempts,
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
            rate_limit_cap=self.rate_limit_cap,
            connect_attempts=self.connect_attempts,
            in_progress_attempts=self.in_progress_attempts,
            in_progress_pause=self.in_progress_pause,
        )


def checked_base(api_base: str | None, secret: str = "") -> str:
    """The API's base URL, refused unless it is plain http(s): scheme, host, port and path.

    It is shown in messages ("could not connect to ..."), so it may hold no password, and
    not the API key (set the two variables the wrong way round, say); the refusal itself
    shows neither."""
    base = (api_base or os.environ.get(BASE_ENV) or DEFAULT_BASE).strip().rstrip("/")
    shown = USERINFO.sub(r"\1***@", base)
    if secret:
        shown = shown.replace(secret, "***")
    try:
        url = httpx.URL(base)
    except (httpx.InvalidURL, ValueError, TypeError):
        url = None
    problem = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        problem = "is not an http(s) URL"
    elif secret and secret in base:
        problem = f"holds the value of {KEY_ENV}; the key goes only in {KEY_ENV}"
    elif url.userinfo:
        problem = f"holds a user name or password; HeyGen takes the key from {KEY_ENV}"
    elif url.query or url.fragment:
        problem = "has a query or fragment; give only scheme, host, port and path"
    if problem:
        raise ConfigError(
            f"API base {shown!r} {problem}",
            hint=f"pass --api-base https://api.heygen.com (or set {BASE_ENV})",
        )
    return base


USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


class HeyGenClient:
    """One connection pool for many concurrent calls. Use as `async with`."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.requests = 0
        transport = transport or lean_transport(pool_limits(settings))
        self._http = api_client(settings, settings.read_timeout, transport)

        # httpcore matches every queued request against every pooled connection each time
        # one frees (O(queued x pool) per request): queue here instead, at most one request
        # per connection in httpcore's hands.
        self._gate = asyncio.Semaphore(settings.max_connections)
        self._create_timeout = self._timeout(settings.create_timeout)
        self._retries = settings.retry_policy()

    def __repr__(self) -> str:
        return f"HeyGenClient({self.settings.base_url!r})"

    async def __aenter__(self) -> HeyGenClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # creates ----------------------------------------------------------------

    async def create(
        self,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        wait_when_rate_limited: bool = True,
    ) -> Any:
        """POSTs one create and returns the answer's payload.

        Without an idempotency key a create is never resent once it may have landed: that
        raises OutcomeUnknown. With a key, such a create is resent at once with the same key
        (HeyGen replays the first answer), and a 409 request_in_progress waits, then resends.
        """
        headers = {wire.IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else None
        policy = self._retries.evolve(
            resend_unknown=idempotency_key is not None,
            wait_when_rate_limited=wait_when_rate_limited,
        )

        async def attempt() -> Any:
            self.requests += 1
            async with self._gate:
                response = await self._http.post(
                    path, json=body, headers=headers, timeout=self._create_timeout
                )
            return payload_of(response, self.settings.api_key, creating=True)

        return await retried(attempt, policy, lost=create_lost, unreachable=self._unreachable)

    async def create_video(
        self, body: dict[str, Any], *, wait_when_rate_limited: bool = True
    ) -> str:
        """v2's create: POST /v2/videos without a key; returns the video id."""
        payload = await self.create(
            wire.CREATE_PATH, body, wait_when_rate_limited=wait_when_rate_limited
        )
        return wire.created_video_id(payload)

    # reads --------------------------------------------------------------------

    async def read(self, method: str, path: str, **kwargs: Any) -> Any:
        async def attempt() -> Any:
            self.requests += 1
            async with self._gate:
                response = await self._http.request(method, path, **kwargs)
            return payload_of(response, self.settings.api_key, creating=False)

        return await retried(attempt, self._retries, lost=read_lost, unreachable=self._unreachable)

    async def video_status(self, video_id: str) -> wire.VideoStatus:
        payload = await self.read("GET", wire.STATUS_PATH.format(video_id=video_id))
        return wire.status_of(payload, video_id)

    async def list_page(self, limit: int = 100, token: str | None = None) -> wire.Page:
        params: dict[str, Any] = {"limit": limit}
        if token:
            params["token"] = token
        return wire.page_of(await self.read("GET", wire.LIST_PATH, params=params))

    async def videos(
        self, *, created_since: float | None = None
    ) -> AsyncIterator[wire.VideoStatus]:
        """Every listed video created since created_since (all when None), in any order.

        The list's order is not relied on: every page is read, each video id given once.
        """
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.list_page(token=token)
            for video in page.videos:
                if video.video_id in seen:
                    continue
                seen.add(video.video_id)
                if (
                    created_since is not None
                    and video.created_at is not None
                    and video.created_at < created_since
                ):
                    continue
                yield video
            if not page.next_token or not page.videos:
                return
            token = page.next_token

    async def download(self, url: str, target: Path) -> int:
        """Streams url into target, a new file. A 403/404 raises ExpiredUrl: fetch the status again.

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
                with open(target, "xb") as out:  # a new file: never through a link
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        size += len(chunk)
                return size
        except httpx.TransportError as exc:
            raise TransientError(f"{describe(exc)} to the file server {server}") from exc
        except httpx.InvalidURL as exc:
            raise ApiError(f"HeyGen gave a file URL that is not usable ({server})") from exc

    # the machinery --------------------------------------------------------------

    def _unreachable(self, exc: httpx.TransportError) -> ApiError:
        return TransientError(f"{describe(exc)} to {self.settings.base_url}")

    def _timeout(self, read: float) -> httpx.Timeout:
        return httpx.Timeout(read, connect=self.settings.connect_timeout)


def pool_limits(settings: Settings) -> httpx.Limits:
    return httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
    )


def api_client(
    settings: Settings, read_timeout: float, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """An httpx client for HeyGen's API: its base URL, the key in its header, no redirects."""
    return httpx.AsyncClient(
        base_url=settings.base_url,
        headers={wire.KEY_HEADER: settings.api_key.reveal(), "accept": "application/json"},
        timeout=httpx.Timeout(read_timeout, connect=settings.connect_timeout),
        limits=pool_limits(settings),
        transport=transport,
        follow_redirects=False,
    )


def payload_of(response: httpx.Response, api_key: ApiKey, *, creating: bool) -> Any:
    """A 2xx answer's JSON, or the one error class its failure belongs to."""
    payload = wire.decode(response.content, api_key.reveal())
    if response.status_code >= 300 or wire.has_error(payload):
        raise failure_of(response, payload, creating=creating)
    if payload is None:
        kind = OutcomeUnknown if creating else TransientError
        raise kind(f"HeyGen answered {response.status_code} without JSON")
    return payload


def failure_of(response: httpx.Response, payload: Any, *, creating: bool) -> ApiError:
    retry_after = response.headers.get("retry-after")
    return wire.classify(response.status_code, payload, creating=creating, retry_after=retry_after)


def create_lost(exc: httpx.TransportError) -> ApiError:
    return OutcomeUnknown(f"create {describe(exc)}; the video may exist")


def read_lost(exc: httpx.TransportError) -> ApiError:
    return TransientError(describe(exc))


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
