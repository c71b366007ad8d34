"""Uploading one local file to HeyGen as an asset: POST /v3/assets, or the direct-upload flow.

Each upload carries an Idempotency-Key derived from the file's content hash, so a retry
after a lost answer (or a rerun after kill -9) replays the first upload's answer instead
of storing the bytes twice. That makes every step safe to retry, under the one retry
policy of every HeyGen call (retrying.py): transport errors, 5xx, 409 request_in_progress
and 429 are retried; other answers raise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from heyrender.api import wire
from heyrender.api.client import (
    Settings,
    api_client,
    describe,
    failure_of,
    file_server,
    payload_of,
)
from heyrender.api.retrying import Wording, retried
from heyrender.errors import ApiError, InvalidRequest, TransientError

ASSETS_PATH = "/v3/assets"
DIRECT_UPLOADS_PATH = "/v3/assets/direct-uploads"
COMPLETE_PATH = "/v3/assets/{asset_id}/complete"
SIMPLE_UPLOAD_MAX = 32 * 1024 * 1024  # POST /v3/assets takes up to 32 MB; larger go direct
UPLOAD_TIMEOUT = 300.0


class LocalFile(Protocol):
    """What an upload needs to know about a file; campaign.media.MediaFile fits."""

    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def mime(self) -> str: ...


@dataclass(frozen=True)
class UploadedAsset:
    asset_id: str
    url: str | None
    mime: str | None
    size: int | None


def idempotency_key(sha256: str, step: str = "asset") -> str:
    """1-255 characters of [A-Za-z0-9_:.-], one per file content and step."""
    return f"heyrender:{step}:sha256:{sha256}"


def read_verified(file: LocalFile) -> bytes:
    """The file's bytes, refusing to upload bytes other than the ones that were hashed."""
    data = file.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != file.sha256:
        raise InvalidRequest(f"{file.path.name} changed since it was checked; run again")
    return data


def asset_of(payload: Any) -> UploadedAsset:
    data = wire.unwrap(payload)
    if not isinstance(data, dict):
        data = {}
    asset_id = data.get("asset_id") or data.get("id")
    if not isinstance(asset_id, str) or not asset_id:
        raise TransientError("HeyGen's answer to an upload holds no asset_id")
    url, mime, size = data.get("url"), data.get("mime_type"), data.get("size_bytes")
    return UploadedAsset(
        asset_id,
        url if isinstance(url, str) else None,
        mime if isinstance(mime, str) else None,
        size if isinstance(size, int) else None,
    )


class Uploader:
    """Uploads files over one connection pool. Use as `async with`."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self._http = api_client(settings, UPLOAD_TIMEOUT, transport)
        # the direct-upload URL is presigned and may be on another host: never send the key
        self._plain = httpx.AsyncClient(
            timeout=httpx.Timeout(UPLOAD_TIMEOUT, connect=settings.connect_timeout),
            transport=transport,
            follow_redirects=False,
        )
        self._retries = settings.retry_policy()

    def __repr__(self) -> str:
        return f"Uploader({self.settings.base_url!r})"

    async def __aenter__(self) -> Uploader:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._http.aclose()
        await self._plain.aclose()

    async def upload(self, file: LocalFile) -> UploadedAsset:
        data = read_verified(file)
        if file.size <= SIMPLE_UPLOAD_MAX:
            return await self._simple(file, data)
        return await self._direct(file, data)

    async def _simple(self, file: LocalFile, data: bytes) -> UploadedAsset:
        files = {"file": (file.path.name, data, file.mime)}
        headers = {"Idempotency-Key": idempotency_key(file.sha256)}
        payload = await self._call("POST", ASSETS_PATH, files=files, headers=headers)
        return asset_of(payload)

    async def _direct(self, file: LocalFile, data: bytes) -> UploadedAsset:
        body = {"file_name": file.path.name, "mime_type": file.mime, "size_bytes": file.size}
        headers = {"Idempotency-Key": idempotency_key(file.sha256, "direct-upload")}
        started = wire.unwrap(
            await self._call("POST", DIRECT_UPLOADS_PATH, json=body, headers=headers)
        )
        asset_id = started.get("asset_id") if isinstance(started, dict) else None
        upload_url = started.get("upload_url") if isinstance(started, dict) else None
        if not isinstance(asset_id, str) or not isinstance(upload_url, str):
            raise TransientError("HeyGen's answer to a direct upload holds no asset_id/upload_url")
        await self._put(upload_url, data, file.mime)
        complete = COMPLETE_PATH.format(asset_id=asset_id)
        headers = {"Idempotency-Key": idempotency_key(file.sha256, "complete")}
        return asset_of(await self._call("POST", complete, headers=headers))

    async def _put(self, url: str, data: bytes, mime: str) -> None:
        """PUTs the bytes to a presigned URL (S3's answer is no HeyGen JSON, and its query is a
        credential: errors name the server only). A 409 means an earlier attempt completed and
        its answer was lost."""

        async def attempt() -> None:
            response = await self._plain.put(url, content=data, headers={"content-type": mime})
            if response.status_code >= 300 and response.status_code != 409:
                raise failure_of(response, None, creating=False)

        await retried(attempt, self._retries, lost=upload_lost, unreachable=at(file_server(url)))

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        async def attempt() -> Any:
            response = await self._http.request(method, path, **kwargs)
            return payload_of(response, self.settings.api_key, creating=False)

        unreachable = at(self.settings.base_url)
        return await retried(attempt, self._retries, lost=upload_lost, unreachable=unreachable)


def upload_lost(exc: httpx.TransportError) -> ApiError:
    return TransientError(f"upload {describe(exc)}")


def at(server: str) -> Wording:
    """How an upload that could not connect to server is told."""
    return lambda exc: TransientError(f"upload {describe(exc)} to {server}")
