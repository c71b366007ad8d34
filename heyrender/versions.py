"""Which HeyGen API a campaign speaks: one typed value for the manifest, the adapters and the
emulator."""

from __future__ import annotations

from enum import Enum


class ApiVersion(str, Enum):
    V2 = "v2"  # POST /v2/videos; retired by HeyGen on 2026-10-31, kept as a legacy choice
    V3 = "v3"  # POST /v3/videos with Idempotency-Key: the live API

    def __str__(self) -> str:
        return self.value


DEFAULT_API = ApiVersion.V3
