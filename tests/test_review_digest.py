"""A hostile review of the request hash's orjson path: every body heyrender can build, and some
it cannot, hashes exactly as sha256(canonical_json(body).encode()), the definition every
existing lockfile was written with, or is refused as that definition refuses it."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import random
import struct
from pathlib import Path
from typing import Any

import orjson
import pytest

from heyrender.campaign import manifest as manifests
from heyrender.campaign.digest import canonical_bytes, canonical_json, digest, may_differ
from heyrender.campaign.expand import Expansion
from heyrender.campaign.rows import Campaign


def reference(body: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(body).encode()).digest()


def same_or_same_refusal(body: dict[str, Any]) -> None:
    try:
        expected: Any = reference(body)
    except Exception as exc:  # the definition's refusal, whatever its kind
        expected = type(exc)
    try:
        got: Any = digest(body)
    except Exception as exc:
        got = type(exc)
    assert got == expected, repr(body)[:200]


CODE_POINTS = [
    *range(0x0, 0x800),
    *range(0x2000, 0x2100),
    *range(0xD7F0, 0xD800),
    *range(0xE000, 0xE010),
    *range(0xFFF0, 0x10000),
    0x10000,
    0x1F600,
    0x10FFFF,
]


def test_every_kind_of_character_as_a_value_and_a_key() -> None:
    for point in CODE_POINTS:
        char = chr(point)
        same_or_same_refusal({"script": char, char: [char, "a" + char + "b"], "k": {char: 1}})


def test_keys_sort_by_code_point_as_json_sorts_them() -> None:
    # UTF-8 bytes order agrees with code points; UTF-16 (U+E000 above U+10000) would not.
    keys = [chr(p) for p in CODE_POINTS if not 0xD800 <= p < 0xE000]
    keys += ["A", "a", "aB", "ab", "Ab", "é", "e\u0301", "\U0001f600", "\ue000", "\uffff", ""]
    rng = random.Random(5)
    rng.shuffle(keys)
    body = {key: index for index, key in enumerate(keys)}
    assert canonical_bytes(body) == canonical_json(body).encode()


def test_lone_surrogates_are_refused_as_the_definition_refuses_them() -> None:
    for body in ({"a": "\ud800"}, {"\udfff": 1}, {"a": ["x\udc80y"]}):
        with pytest.raises(UnicodeEncodeError):
            canonical_json(body).encode()
        with pytest.raises(UnicodeEncodeError):
            digest(body)


def test_floats_of_every_bit_pattern_and_magnitude() -> None:
    rng = random.Random(7)
    numbers = [-0.0, 0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]
    numbers += [
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20000)
    ]
    for exponent in range(-325, 309):
        for mantissa in (1.0, 1.5, 9.999999999999998, 1.2345678901234567):
            number = mantissa * 10.0**exponent if exponent < 308 else mantissa * 1e308
            numbers += [number, math.nextafter(number, math.inf), math.nextafter(number, 0.0)]
    for number in numbers:
        if math.isfinite(number):
            same_or_same_refusal({"a": number, "b": [number, -number]})


@pytest.mark.parametrize(
    "number",
    [0, -1, True, False, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1],
)
def test_integers_and_booleans(number: int) -> None:
    same_or_same_refusal({"a": number, "b": [number], "c": {"d": number}})


class Text(str):
    pass


class Whole(int):
    def __repr__(self) -> str:
        return "not this"


class Real(float):
    def __repr__(self) -> str:
        return "not this"


class Items(dict):  # type: ignore[type-arg]
    def items(self):  # type: ignore[no-untyped-def]
        return [("shown", 1)]


@dataclasses.dataclass
class Point:
    x: int = 1


@pytest.mark.parametrize(
    "value",
    [
        Text("x"),
        Whole(5),
        Real(0.5),
        Items(hidden=2),
        datetime.date(2026, 1, 2),
        datetime.datetime(2026, 1, 2, 3, 4, 5),
        datetime.time(1, 2),
        Point(),
        (1, "a"),
    ],
    ids=lambda value: type(value).__name__,
)
def test_values_json_writes_its_own_way_or_refuses(value: Any) -> None:
    """orjson writes dates and dataclasses where json refuses them, and reads a dict
    subclass's storage where json asks its items(): the definition must win."""
    same_or_same_refusal({"a": value})


def test_keys_that_are_not_text() -> None:
    for body in ({1: "a"}, {True: 1}, {None: 1}, {1.5: 1}, {"b": 1, 2: 1}, {1: 1, "1": 2}):
        same_or_same_refusal(body)  # type: ignore[arg-type]


MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  avatar_id: "{{ row.avatar }}"
  voice_id: v1
  script: "{{ row.script }}"
  title: "{{ row.email }}"
  voice_settings:
    engine_settings:
      engine_type: elevenlabs
      stability: "{{ row.n }}"
      similarity_boost: 1.0e-7
      use_speaker_boost: "{{ row.b }}"
"""

CELLS = [
    "1e-5",
    "0.00001",
    "1E+20",
    "-0",
    "-0.0",
    "1_000",
    "123456789012345678901234567890",
    "18446744073709551616",
    "9007199254740993",
    "0.1",
    "1e16",
    "2.5e-7",
    "5e-324",
    "1.7976931348623157e308",
]
SCRIPTS = [
    "Hé\u2028llo 😀",
    "e- null 0.0000",
    "tab\there",
    "\u00a0\ufeff",
    "\U0001d518\U0001d52b\U0001d526",
]


def test_bodies_built_from_a_manifest_hash_as_the_definition_does(tmp_path: Path) -> None:
    lines = ["email,avatar,script,n,b"]
    for index, cell in enumerate(CELLS):
        script = SCRIPTS[index % len(SCRIPTS)]
        lines.append(f'ü{index}@x.io,a1,"{script}",{cell},{"yes" if index % 2 else "no"}')
    (tmp_path / "people.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "m.yaml").write_text(MANIFEST, encoding="utf-8")
    manifest = manifests.load(tmp_path / "m.yaml")
    bodies = {row.key: row.body for row in Expansion(manifest) if row.body is not None}
    assert len(bodies) == len(CELLS)
    rows = Campaign.expand(manifest).rows
    assert len(rows) == len(CELLS)
    for row in rows:
        assert row.request == "sha256:" + reference(bodies[row.key]).hex(), row.key


@pytest.mark.parametrize(
    "script", ["We re-launch today", "Check your e-mail", "A free-trial, one-on-one", "e-"]
)
def test_words_with_e_dash_keep_the_fast_path(script: str) -> None:
    """ "e-" after a letter is prose, never a float's exponent: such a body must not pay for
    both encoders (a common script would cost more than before orjson)."""
    body = {"script": script, "voice_settings": {"speed": 1.1}}
    assert not may_differ(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    assert canonical_bytes(body) == canonical_json(body).encode()


def test_every_small_float_orjson_writes_is_caught() -> None:
    rng = random.Random(11)
    for _ in range(20000):
        number = rng.uniform(0, 1e-4) * 10.0 ** -rng.randint(0, 320)
        for value in (number, -number):
            text = orjson.dumps({"a": value})
            if text != json.dumps({"a": value}, separators=(",", ":")).encode():
                assert may_differ(text), text
