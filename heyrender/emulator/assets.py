"""Uploaded assets, kept in memory: type by content sniffing, HeyGen's size limit, a total cap."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

MAX_UPLOAD_BYTES = 32 * 1024 * 1024  # POST /v3/assets; larger files use a direct upload
MAX_DIRECT_UPLOAD_BYTES = 256 * 1024 * 1024
DEFAULT_STORE_BYTES = 1024 * 1024 * 1024


def sniff(head: bytes) -> str | None:
    """The MIME type of a png, jpeg, mp4, webm, mp3, wav or pdf file from its first bytes."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


@dataclass
class Asset:
    asset_id: str
    data: bytes = b""
    mime_type: str = ""
    complete: bool = False
    upload_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))


class StoreFull(Exception):
    pass


@dataclass
class AssetStore:
    cap_bytes: int = DEFAULT_STORE_BYTES
    assets: dict[str, Asset] = field(default_factory=dict)
    uploads: int = 0
    uploaded_bytes: int = 0

    def used(self) -> int:
        return sum(len(a.data) for a in self.assets.values())

    def reserve(self, size: int) -> None:
        if self.used() + size > self.cap_bytes:
            raise StoreFull(f"the emulator keeps at most {self.cap_bytes:,} bytes of assets")

    def new(self) -> Asset:
        asset = Asset(asset_id=secrets.token_hex(16))
        self.assets[asset.asset_id] = asset
        return asset

    def complete(self, asset: Asset, data: bytes, mime_type: str) -> Asset:
        asset.data, asset.mime_type, asset.complete = data, mime_type, True
        self.uploads += 1
        self.uploaded_bytes += len(data)
        return asset

    def find(self, asset_id: str) -> Asset | None:
        asset = self.assets.get(asset_id)
        return asset if asset is not None and asset.complete else None
