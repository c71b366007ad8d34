"""List pages: HeyGen's `limit` range, and a token that is a cursor on the creation number."""

from __future__ import annotations

import base64

from aiohttp import web

from heyrender.emulator.replies import invalid
from heyrender.emulator.state import Video

LIMIT_RANGE = range(1, 101)  # HeyGen's list takes 1 to 100 per page
DEFAULT_LIMIT = 10


def cursor(token: str | None) -> int | None:
    """The creation number a list token points below; None for the first page."""
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("seq:"):
            raise ValueError(text)
        return int(text.removeprefix("seq:"))
    except (ValueError, UnicodeError):
        raise invalid("token is not a token this API gave out.", "token") from None


def next_token(videos: list[Video], more: bool) -> str | None:
    return base64.urlsafe_b64encode(f"seq:{videos[-1].seq}".encode()).decode() if more else None


def limit(request: web.Request) -> int:
    text = request.query.get("limit", str(DEFAULT_LIMIT))
    try:
        value = int(text)
    except ValueError:
        raise invalid(f"limit must be a whole number, not {text[:20]!r}.", "limit") from None
    if value not in LIMIT_RANGE:
        raise invalid(f"limit must be between 1 and 100, not {value}.", "limit")
    return value
