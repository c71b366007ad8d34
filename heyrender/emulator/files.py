"""The bytes behind a video's URLs, and the signatures that make those URLs expire."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable

from heyrender.emulator.thumbnail import JPEG

GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBM_HEADER = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm"


def mp4(payload: bytes) -> bytes:
    """A minimal MP4: an ftyp box, then an mdat box holding payload."""
    ftyp = b"ftyp" + b"mp42" + (0).to_bytes(4, "big") + b"mp42isom"
    mdat = b"mdat" + payload
    return b"".join((len(box) + 4).to_bytes(4, "big") + box for box in (ftyp, mdat))


def srt(text: str) -> bytes:
    return f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n".encode()


# file extension -> (content type, bytes for a video id)
KINDS: dict[str, tuple[str, Callable[[str], bytes]]] = {
    "mp4": ("video/mp4", lambda video_id: mp4(video_id.encode() * 64)),
    "captioned.mp4": ("video/mp4", lambda video_id: mp4(b"captioned" + video_id.encode() * 64)),
    "webm": ("video/webm", lambda video_id: WEBM_HEADER + video_id.encode() * 64),
    "jpg": ("image/jpeg", lambda video_id: JPEG),
    "gif": ("image/gif", lambda video_id: GIF),
    "srt": ("application/x-subrip", lambda video_id: srt(video_id)),
}


class Signer:
    """Signs file names with an expiry in milliseconds, so a link lives at least its TTL.

    (An expiry truncated to whole seconds let a 1 s link live 0 s.)
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.secret = secrets.token_bytes(16)

    def signature(self, name: str, expires_ms: int) -> str:
        message = f"{name}:{expires_ms}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def query(self, name: str) -> str:
        expires_ms = math.ceil((time.time() + self.ttl) * 1000)
        return f"expires={expires_ms}&signature={self.signature(name, expires_ms)}"

    def valid(self, name: str, expires: str, signature: str) -> bool:
        try:
            expires_ms = int(expires)
        except ValueError:
            return False
        if expires_ms < time.time() * 1000:
            return False
        return hmac.compare_digest(signature, self.signature(name, expires_ms))
