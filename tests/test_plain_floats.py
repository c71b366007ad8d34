"""The expansion's fast path vouches that every float of its bodies is plain, and plan then
hashes orjson's text without searching it: that text must still be the canonical one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heyrender.campaign import manifest as manifests
from heyrender.campaign.digest import SORTED, canonical_json
from heyrender.campaign.expand import (
    CoercionError,
    Expansion,
    plain_float,
    to_number,
    to_plain_number,
)
from heyrender.campaign.rows import Campaign

finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=2000)
@given(finite.filter(plain_float))
def test_orjson_writes_a_plain_float_as_json_does(number: float) -> None:
    assert (
        orjson.dumps({"n": number}, option=SORTED)
        == json.dumps({"n": number}, separators=(",", ":"), allow_nan=False).encode()
    )


@given(finite.filter(lambda number: not plain_float(number)))
def test_the_fast_path_refuses_every_float_that_is_not_plain(number: float) -> None:
    text = repr(number)
    assert to_number(text) == number
    with pytest.raises(CoercionError):
        to_plain_number(text)


@pytest.mark.parametrize("number", [0.0, -0.0, 1e-4, -1e-4, 0.5, 1e16, 1.7976931348623157e308])
def test_the_edges_of_plain(number: float) -> None:
    assert plain_float(number)
    assert to_plain_number(repr(number)) == number


@pytest.mark.parametrize(
    "number", [9.999999999999999e-05, -5e-5, 5e-324, float("nan"), float("inf"), float("-inf")]
)
def test_floats_that_are_not_plain(number: float) -> None:
    assert not plain_float(number)


MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  avatar_id: a1
  voice_id: v1
  script: "Hi {{ row.email }}"
  voice_settings:
    speed: "{{ row.speed }}"
    pitch: {pitch}
"""
SPEEDS = ["1.5", "0.00001", "2.5e-7", "-0.00009", "1e-4", "0", "-0.0", "3", "1e16", "5e-324"]


def expanded(tmp_path: Path, pitch: str) -> tuple[dict[str, object], dict[str, bool], Campaign]:
    lines = ["email,speed", *(f"p{index}@x.io,{speed}" for index, speed in enumerate(SPEEDS))]
    (tmp_path / "people.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "m.yaml").write_text(MANIFEST.replace("{pitch}", pitch))
    manifest = manifests.load(tmp_path / "m.yaml")
    rows = list(Expansion(manifest))
    bodies = {row.key: row.body for row in rows}
    return bodies, {row.key: row.plain_floats for row in rows}, Campaign.expand(manifest)


def assert_hashed_canonically(bodies: dict[str, object], campaign: Campaign) -> None:
    assert len(campaign.rows) == len(SPEEDS)
    for row in campaign.rows:
        body = bodies[row.key]
        assert isinstance(body, dict)
        expected = hashlib.sha256(canonical_json(body).encode()).hexdigest()
        assert row.request == f"sha256:{expected}", row.key


def test_a_body_with_a_float_that_is_not_plain_is_hashed_the_careful_way(tmp_path: Path):
    bodies, plain, campaign = expanded(tmp_path, "0")
    assert plain == {f"p{index}@x.io": plain_float(float(s)) for index, s in enumerate(SPEEDS)}
    assert sum(plain.values()) == 6
    assert_hashed_canonically(bodies, campaign)


@pytest.mark.parametrize("pitch", ["1.0e-7", "-5.0e-5"])
def test_a_constant_float_that_is_not_plain_leaves_no_row_vouched_for(tmp_path: Path, pitch):
    """(The manifest refuses a NaN or an infinity outright.)"""
    bodies, plain, campaign = expanded(tmp_path, pitch)
    assert not any(plain.values())
    assert_hashed_canonically(bodies, campaign)


def test_a_plain_constant_keeps_the_fast_path(tmp_path: Path):
    bodies, plain, campaign = expanded(tmp_path, "0.5")
    assert plain["p0@x.io"] and not plain["p1@x.io"]
    assert_hashed_canonically(bodies, campaign)
