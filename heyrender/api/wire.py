"""HeyGen's wire format shared by both API versions: envelopes, statuses, error classes.

What differs per version (paths, body, list and status shapes) lives in v2.py and v3.py.
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any

from heyrender.errors import (
    ApiError,
    AuthError,
    InvalidRequest,
    NoCredit,
    OutcomeUnknown,
    RateLimited,
    TransientError,
)
from heyrender.status import Status

CREATE_PATH = "/v2/videos"  # v2's paths, also served by the emulator
LIST_PATH = "/v2/videos"
STATUS_PATH = "/v2/videos/{video_id}"
KEY_HEADER = "x-api-key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IN_PROGRESS_CODE = "request_in_progress"
CREDIT_CODES = frozenset({"insufficient_credit", "trial_video_limit_exceeded"})
AUTH_CODES = frozenset({"unauthorized", "invalid_api_key", "authentication_failed"})
DEFAULT_RETRY_AFTER = 5.0
SECRET_MIN = 8  # shorter "keys" (an emulator's "k") are no secret and would mangle every id
REDACTED = "***"


@dataclass(frozen=True)
class VideoStatus:
    video_id: str
    status: Status
    title: str | None = None
    created_at: float | None = None
    completed_at: float | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    duration: float | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    video_page_url: str | None = None

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def out_of_credit(self) -> bool:
        return (
            self.status is Status.FAILED
            and "INSUFFICIENT_CREDIT" in (self.failure_code or "").upper()
        )


@dataclass(frozen=True)
class Page:
    videos: list[VideoStatus]
    next_token: str | None


def decode(content: bytes, secret: str) -> Any:
    """An answer's JSON (None when it is not JSON), with every echo of the API key replaced
    by ***: all that reaches an error, a log line or the lockfile from the wire passes here."""
    try:
        payload = json.loads(content)
    except ValueError:
        return None
    if len(secret) < SECRET_MIN:
        return payload
    plain = b"\\" not in content and b"\x00" not in content  # no escape, not UTF-16/32
    if plain and secret.encode() not in content:
        return payload  # the cheap common case: no decoded string can hold the key
    return scrubbed(payload, secret)


def scrubbed(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return value.replace(secret, REDACTED) if secret in value else value
    if isinstance(value, dict):
        return {scrubbed(k, secret): scrubbed(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [scrubbed(item, secret) for item in value]
    return value


def unwrap(payload: Any) -> Any:
    """The `data` of `{"error": null, "data": ...}`, or a bare payload as some answers have."""
    if isinstance(payload, dict) and "data" in payload:
        return payload["data"]
    return payload


def error_fields(payload: Any) -> tuple[str | None, str | None]:
    if not isinstance(payload, dict):
        return None, None
    error = payload.get("error")
    if isinstance(error, dict):
        return error.get("code"), error.get("message")
    if isinstance(error, str):
        return error, payload.get("message")
    return None, None


def has_error(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("error") not in (None, {}, "")


def retry_after_seconds(header: str | None, cap: float = 120.0) -> float:
    if not header:
        return DEFAULT_RETRY_AFTER
    try:
        seconds = float(header)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(header) if header else None
        seconds = parsed.timestamp() - time.time() if parsed else DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), cap)


def classify(
    status_code: int, payload: Any, *, creating: bool, retry_after: str | None = None
) -> ApiError:
    """Exactly one error class for a failed answer (an HTTP error, or 200 with an error)."""
    code, message = error_fields(payload)
    text = f"HeyGen answered {status_code}" + (f" {code}" if code else "")
    text += f": {message}" if message else ""
    if status_code == 429 or code == "rate_limit_exceeded":
        return RateLimited(text, retry_after=retry_after_seconds(retry_after), status=status_code)
    if status_code == 402 or code in CREDIT_CODES:
        return NoCredit(text, status=status_code, code=code)
    if status_code in (401, 403) or code in AUTH_CODES:
        return AuthError(text, status=status_code, code=code)
    if status_code >= 500 or status_code in (408, 409):
        kind = OutcomeUnknown if creating else TransientError
        return kind(text, status=status_code, code=code)
    return InvalidRequest(text, status=status_code, code=code)


def created_video_id(payload: Any) -> str:
    data = unwrap(payload)
    video_id = data.get("video_id") if isinstance(data, dict) else None
    if not video_id and isinstance(payload, dict):
        video_id = payload.get("video_id")
    if not isinstance(video_id, str) or not video_id:
        raise OutcomeUnknown("HeyGen's answer to a create holds no video_id")
    return video_id


def epoch(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        pass
    try:
        from datetime import datetime

        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def video_status(item: dict[str, Any], video_id: str | None = None) -> VideoStatus:
    duration = item.get("duration")
    return VideoStatus(
        video_id=str(item.get("id") or item.get("video_id") or video_id or ""),
        status=Status.from_api(item.get("status") if isinstance(item.get("status"), str) else None),
        title=item.get("title") if isinstance(item.get("title"), str) else None,
        created_at=epoch(item.get("created_at")),
        completed_at=epoch(item.get("completed_at")),
        video_url=text(item.get("video_url")),
        thumbnail_url=text(item.get("thumbnail_url")),
        duration=float(duration)
        if isinstance(duration, (int, float)) and not isinstance(duration, bool)
        else None,
        failure_code=text(item.get("failure_code")),
        failure_message=text(item.get("failure_message")),
        video_page_url=text(item.get("video_page_url")),
    )


def status_of(payload: Any, video_id: str) -> VideoStatus:
    data = unwrap(payload)
    if not isinstance(data, dict):
        raise TransientError(f"HeyGen's status answer for {video_id} holds no data")
    return video_status(data, video_id)


def page_of(payload: Any) -> Page:
    data = unwrap(payload)
    if not isinstance(data, dict):
        raise TransientError("HeyGen's list answer holds no data")
    items = data.get("videos") or data.get("items") or []
    token = data.get("token") or data.get("next_token") or data.get("next_page_token")
    return Page([video_status(item) for item in items if isinstance(item, dict)], token or None)
