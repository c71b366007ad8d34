"""Hostile inputs to the campaign and state layers: each refused with one clear sentence."""

from __future__ import annotations

import pytest

from heyrender.campaign.expand import canonical_json
from heyrender.errors import HeyrenderError

NAN_MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  avatar_id: a
  voice_id: v
  script: hi
  voice_settings:
    speed: {value}
"""


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN"])
def test_a_non_finite_number_in_the_manifest_is_refused_with_its_line(campaign, cli, value):
    path = campaign(NAN_MANIFEST.format(value=value))
    result = cli("validate", path)
    assert result.exit_code != 0
    assert "m.yaml line 10, column 12: video.voice_settings.speed:" in result.output
    assert "is not a finite number" in result.output
    assert cli("render", path, "--format", "json").exit_code != 0


def test_a_non_finite_var_is_refused_too(campaign, cli):
    manifest = NAN_MANIFEST.format(value="'{{ vars.x }}'") + "vars:\n  x: .nan\n"
    result = cli("validate", campaign(manifest))
    assert result.exit_code != 0
    assert "line 12, column 6: vars.x:" in result.output


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity", "1e999"])
def test_a_templated_number_never_renders_non_finite(campaign, cli, cell):
    manifest = NAN_MANIFEST.format(value="'{{ row.speed }}'")
    result = cli("validate", campaign(manifest, csv=f"email,speed\na@x.io,{cell}\n"))
    assert result.exit_code != 0
    assert f'voice_settings.speed: "{cell}" is not a finite number' in result.output


def test_the_canonical_json_of_a_body_refuses_nan():
    assert canonical_json({"b": [1, "x"], "a": 1.5}) == '{"a":1.5,"b":[1,"x"]}'
    with pytest.raises(HeyrenderError, match="cannot carry"):
        canonical_json({"voice_settings": {"speed": float("nan")}})
