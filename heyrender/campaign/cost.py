"""What a campaign will cost: each row's duration from its script, priced by avatar kind.

A row's duration is its script's words at the manifest's words per minute, divided by
`voice_settings.speed`. A row that speaks an audio file has no known duration: it is
counted as unknown, never as zero, and bounded by HeyGen's 10-minute audio limit.
Rates are HeyGen's published prices (May 2026), overridable in the manifest's `cost:`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from heyrender.wording import counted

DEFAULT_WORDS_PER_MINUTE = 150.0
MAX_AUDIO_SECONDS = 600.0  # HeyGen refuses audio longer than 10 minutes
AUDIO_FIELDS = ("audio_url", "audio_asset_id", "audio_file", "audio")
PHOTO_FIELDS = ("image_url", "image_asset_id", "image_file", "image")


class AvatarKind(str, Enum):
    PHOTO = "photo"  # a photo avatar: image_url, image_asset_id, or v3's type: image
    STUDIO = "studio"  # a digital twin or studio avatar: avatar_id

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Rates:
    """USD per second of video."""

    photo: float = 0.05
    photo_4k: float = 0.0667
    studio: float = 0.0667
    studio_4k: float = 0.0833

    def per_second(self, kind: AvatarKind, resolution: str) -> float:
        four_k = resolution.lower() == "4k"
        if kind is AvatarKind.PHOTO:
            return self.photo_4k if four_k else self.photo
        return self.studio_4k if four_k else self.studio


@dataclass(frozen=True)
class CostModel:
    words_per_minute: float = DEFAULT_WORDS_PER_MINUTE
    rates: Rates = field(default_factory=Rates)
    avatar_id_kind: AvatarKind = AvatarKind.STUDIO  # an avatar_id may name a photo avatar

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None) -> CostModel:
        """The manifest's `cost:` section (already checked against the manifest schema)."""
        section = section or {}
        rates = {name: float(value) for name, value in (section.get("rates") or {}).items()}
        return cls(
            words_per_minute=float(section.get("words_per_minute", DEFAULT_WORDS_PER_MINUTE)),
            rates=Rates(**rates),
            avatar_id_kind=AvatarKind(section.get("avatar_id_kind", AvatarKind.STUDIO.value)),
        )

    def row(self, body: Mapping[str, Any]) -> RowCost:
        kind = self.avatar_kind(body)
        rate = self.rates.per_second(kind, str(body.get("resolution") or "1080p"))
        seconds = self.seconds(body)
        return RowCost(seconds, rate, kind)

    def avatar_kind(self, body: Mapping[str, Any]) -> AvatarKind:
        if body.get("type") == "image" or any(name in body for name in PHOTO_FIELDS):
            return AvatarKind.PHOTO
        return self.avatar_id_kind

    def seconds(self, body: Mapping[str, Any]) -> float | None:
        script = body.get("script")
        if any(name in body for name in AUDIO_FIELDS) or not isinstance(script, str):
            return None
        settings = body.get("voice_settings")
        speed = settings.get("speed", 1.0) if isinstance(settings, Mapping) else 1.0
        if not isinstance(speed, (int, float)) or speed <= 0:
            speed = 1.0
        return len(script.split()) / (self.words_per_minute * float(speed)) * 60.0


@dataclass(frozen=True)
class RowCost:
    """One row: seconds is None when the row speaks an audio file of unknown length."""

    seconds: float | None
    rate: float
    kind: AvatarKind

    @property
    def known(self) -> bool:
        return self.seconds is not None

    @property
    def usd(self) -> float | None:
        return None if self.seconds is None else self.seconds * self.rate

    @property
    def usd_max(self) -> float:
        """The most this row can cost: its estimate, or the longest audio HeyGen accepts."""
        return (self.seconds if self.seconds is not None else MAX_AUDIO_SECONDS) * self.rate


@dataclass(frozen=True)
class Estimate:
    """A set of rows: seconds and usd cover the rows with a known duration only.

    With unknown rows the cost is a range, from usd up to usd_max (each unknown row at
    HeyGen's 10-minute audio limit).
    """

    rows: int = 0
    seconds: float = 0.0
    usd: float = 0.0
    unknown_rows: int = 0
    seconds_max: float = 0.0
    usd_max: float = 0.0

    @classmethod
    def of(cls, costs: Iterable[RowCost]) -> Estimate:
        rows = unknown = 0
        seconds = usd = seconds_max = usd_max = 0.0
        for cost in costs:
            rows += 1
            usd_max += cost.usd_max
            if cost.seconds is None:
                unknown += 1
                seconds_max += MAX_AUDIO_SECONDS
            else:
                seconds += cost.seconds
                seconds_max += cost.seconds
                usd += cost.seconds * cost.rate
        return cls(rows, seconds, usd, unknown, seconds_max, usd_max)

    @property
    def is_range(self) -> bool:
        return self.unknown_rows > 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rows": self.rows,
            "seconds": round(self.seconds, 1),
            "usd": round(self.usd, 2),
            "unknown_rows": self.unknown_rows,
        }
        if self.is_range:
            data["seconds_max"] = round(self.seconds_max, 1)
            data["usd_max"] = round(self.usd_max, 2)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Estimate:
        return cls(
            rows=int(data.get("rows", 0)),
            seconds=float(data["seconds"]),
            usd=float(data["usd"]),
            unknown_rows=int(data["unknown_rows"]),
            seconds_max=float(data.get("seconds_max", data["seconds"])),
            usd_max=float(data.get("usd_max", data["usd"])),
        )

    def describe(self) -> str:
        """'12 videos, about 6m 30s, $26.00', or a range with the unknown rows named."""
        head = counted(self.rows, "video")
        if not self.is_range:
            return f"{head}, about {duration(self.seconds)}, {money(self.usd)}"
        known, unknown = self.rows - self.unknown_rows, self.unknown_rows
        speak = "speaks an audio file" if unknown == 1 else "speak audio files"
        return (
            f"{head}, {money(self.usd)} to {money(self.usd_max)}: {known:,} with a script, "
            f"about {duration(self.seconds)} and {money(self.usd)}; {unknown:,} {speak} of "
            f"unknown length, up to {money(self.usd_max - self.usd)} at HeyGen's 10-minute limit"
        )


def money(usd: float) -> str:
    return f"${usd:,.2f}"


def duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
