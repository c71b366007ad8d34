"""Every rule of the request schema, each with a body that passes and one that fails."""

from __future__ import annotations

from typing import Any

import pytest

from heyrender.campaign.schema import RequestValidator

VALID: dict[str, Any] = {"avatar_id": "a1", "voice_id": "v1", "script": "Hello"}


def body(**changes: Any) -> dict[str, Any]:
    out = dict(VALID)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


RULES = [
    # (rule, passing body, failing body, field, words in the message)
    ("one image source", body(), body(image_url="https://x/p.png"), "", "exactly one image source"),
    (
        "an image source at all",
        body(avatar_id=None, image_asset_id="img1"),
        body(avatar_id=None),
        "",
        "found none",
    ),
    (
        "one speech source",
        body(),
        body(audio_url="https://x/a.mp3"),
        "",
        "exactly one speech source",
    ),
    (
        "audio without voice",
        body(script=None, voice_id=None, audio_asset_id="au1"),
        body(script=None, voice_id=None),
        "",
        "speech source",
    ),
    (
        "script requires voice_id",
        body(),
        body(voice_id=None),
        "voice_id",
        "required when script is given",
    ),
    (
        "resolution enum",
        body(resolution="720p"),
        body(resolution="4k"),
        "resolution",
        '"4k" is not one of 1080p, 720p',
    ),
    (
        "aspect_ratio enum",
        body(aspect_ratio="9:16"),
        body(aspect_ratio="4:3"),
        "aspect_ratio",
        "not one of 16:9, 9:16",
    ),
    (
        "expressiveness enum",
        body(expressiveness="high"),
        body(expressiveness="wild"),
        "expressiveness",
        "not one of low, medium, high",
    ),
    (
        "background type enum",
        body(background={"type": "color", "value": "#0a0a0a"}),
        body(background={"type": "video"}),
        "background.type",
        "not one of color, image",
    ),
    (
        "colour is #rrggbb",
        body(background={"type": "color", "value": "#A0b1C2"}),
        body(background={"type": "color", "value": "red"}),
        "background.value",
        "hex colour",
    ),
    (
        "colour needs value",
        body(background={"type": "color", "value": "#000000"}),
        body(background={"type": "color"}),
        "background.value",
        "required",
    ),
    (
        "colour takes no url",
        body(background={"type": "color", "value": "#000000"}),
        body(background={"type": "color", "value": "#000000", "url": "https://x/b.jpg"}),
        "background",
        "takes value, not url",
    ),
    (
        "image takes url",
        body(background={"type": "image", "url": "https://x/b.jpg"}),
        body(background={"type": "image"}),
        "background",
        "exactly one of url or asset_id",
    ),
    (
        "image takes asset_id",
        body(background={"type": "image", "asset_id": "bg1"}),
        body(background={"type": "image", "url": "https://x/b.jpg", "asset_id": "bg1"}),
        "background",
        "exactly one of url or asset_id",
    ),
    (
        "background needs type",
        body(background={"type": "image", "url": "https://x/b.png"}),
        body(background={"url": "https://x/b.png"}),
        "background.type",
        "required",
    ),
    (
        "speed low",
        body(voice_settings={"speed": 0.5}),
        body(voice_settings={"speed": 0.49}),
        "voice_settings.speed",
        "0.49 is outside 0.5 to 1.5",
    ),
    (
        "speed high",
        body(voice_settings={"speed": 1.5}),
        body(voice_settings={"speed": 1.51}),
        "voice_settings.speed",
        "outside 0.5 to 1.5",
    ),
    (
        "pitch low",
        body(voice_settings={"pitch": -50}),
        body(voice_settings={"pitch": -51}),
        "voice_settings.pitch",
        "outside -50 to 50",
    ),
    (
        "pitch high",
        body(voice_settings={"pitch": 50}),
        body(voice_settings={"pitch": 50.5}),
        "voice_settings.pitch",
        "outside -50 to 50",
    ),
    (
        "speed is a number",
        body(voice_settings={"speed": 1}),
        body(voice_settings={"speed": "fast"}),
        "voice_settings.speed",
        "is not a number",
    ),
    (
        "script length",
        body(script="x" * 5000),
        body(script="x" * 5001),
        "script",
        "5,001 characters long; the limit is 5,000",
    ),
    (
        "remove_background boolean",
        body(remove_background=True),
        body(remove_background="yes"),
        "remove_background",
        "not a boolean",
    ),
    ("no unknown fields", body(title="t"), body(titel="t"), "titel", "did you mean title?"),
    (
        "no unknown nested fields",
        body(voice_settings={"locale": "en-US"}),
        body(voice_settings={"lokale": "en-US"}),
        "voice_settings.lokale",
        "did you mean locale?",
    ),
    ("no empty ids", body(), body(voice_id=""), "voice_id", "must not be empty"),
]


@pytest.mark.parametrize(
    ("rule", "good", "bad", "field", "words"), RULES, ids=[r[0] for r in RULES]
)
def test_rule(rule: str, good: dict, bad: dict, field: str, words: str) -> None:
    validator = RequestValidator()
    assert validator.problems(good) == []
    problems = validator.problems(bad)
    assert any(p.field == field and words in p.message for p in problems), problems


def test_fast_and_detailed_validators_agree_on_every_rule_body() -> None:
    validator = RequestValidator()
    for _, good, bad, _, _ in RULES:
        assert validator._fast is not None
        assert validator._fast.is_valid(good)
        assert not validator._fast.is_valid(bad)
