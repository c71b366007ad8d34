"""Expansion of a manifest over its CSV: rendering, dropping, conversion, CSV handling."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heyrender.campaign.expand import Expansion
from heyrender.campaign.manifest import load
from tests.conftest import BASE_MANIFEST


def bodies(path) -> dict:
    return {row.key: (row.body, row.problems) for row in Expansion(load(path))}


def test_empty_rendered_fields_and_objects_are_left_out(campaign) -> None:
    manifest = BASE_MANIFEST + (
        "  background:\n    type: \"{{ 'image' if row.bg else '' }}\"\n    url: \"{{ row.bg }}\"\n"
    )
    out = bodies(campaign(manifest, "email,name,avatar,bg\na@x,A,a1,https://b/1.jpg\nb@x,B,a2,\n"))
    assert out["a@x"][0]["background"] == {"type": "image", "url": "https://b/1.jpg"}
    assert "background" not in out["b@x"][0]


def test_numbers_and_booleans_are_converted(campaign) -> None:
    manifest = BASE_MANIFEST + (
        '  remove_background: "{{ row.rb }}"\n'
        "  voice_settings:\n"
        '    speed: "{{ row.speed }}"\n'
        '    pitch: "-3"\n'
    )
    out = bodies(
        campaign(manifest, "email,name,avatar,speed,rb\na@x,A,a1,1.1,true\nb@x,B,a2,1,No\n")
    )
    assert out["a@x"][0]["voice_settings"] == {"speed": 1.1, "pitch": -3}
    assert out["a@x"][0]["remove_background"] is True
    assert out["b@x"][0]["voice_settings"]["speed"] == 1
    assert out["b@x"][0]["remove_background"] is False


def test_value_that_does_not_convert_is_a_row_problem(campaign, cli) -> None:
    manifest = BASE_MANIFEST + '  voice_settings:\n    speed: "{{ row.speed }}"\n'
    path = campaign(manifest, "email,name,avatar,speed\na@x,A,a1,quick\nb@x,B,a2,1.0\n")
    result = cli("validate", path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        'row a@x (people.csv line 2): voice_settings.speed: "quick" is not a number'
    ]
    assert result.stdout == "1 row valid, 1 invalid\n"


def test_every_invalid_row_is_reported_with_key_line_and_field(campaign, cli) -> None:
    manifest = "api: v2\n" + BASE_MANIFEST.replace("voice_id: v1", 'voice_id: "{{ row.voice }}"')
    csv_text = 'email,name,avatar,voice\na@x,A,a1,v1\nb@x,B,a2,\nc@x,C,,v3\n"d@x","D,\nmulti",a4,\n'
    result = cli("validate", campaign(manifest, csv_text))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "row b@x (people.csv line 3): voice_id: required when script is given",
        "row c@x (people.csv line 4): needs exactly one image source: avatar_id, image_url or image_asset_id (found none)",
        "row d@x (people.csv line 5): voice_id: required when script is given",
    ]
    assert result.stdout == "1 row valid, 3 invalid\n"


def test_default_title_is_manifest_name_and_key(campaign) -> None:
    out = bodies(campaign(name="outreach"))
    assert out["dana@acme.io"][0]["title"] == "outreach/dana@acme.io"


def test_template_runtime_error_is_a_row_problem(campaign) -> None:
    manifest = BASE_MANIFEST.replace('"Hi {{ row.name }}!"', '"{{ row.name | int // 0 }}"')
    out = bodies(campaign(manifest))
    assert out["dana@acme.io"][1][0].field == "script"
    assert "template error" in out["dana@acme.io"][1][0].message


def test_column_named_like_a_dict_method(campaign) -> None:
    manifest = BASE_MANIFEST.replace("row.name", "row.items")
    out = bodies(campaign(manifest, "email,items,avatar\na@x,three apples,a1\n"))
    assert out["a@x"][0]["script"] == "Hi three apples!"


def test_sandbox_refuses_unsafe_attribute_access(campaign) -> None:
    manifest = BASE_MANIFEST.replace('"Hi {{ row.name }}!"', '"{{ key.__class__.__mro__ }}"')
    out = bodies(campaign(manifest))
    assert "unsafe" in out["dana@acme.io"][1][0].message


def test_bom_crlf_and_quoted_fields(campaign) -> None:
    text = '\ufeffemail,name,avatar\r\n"a@x","Smith, ""Jo""\r\nJr",a1\r\nb@x,B,a2\r\n'
    out = bodies(campaign(csv=text.encode("utf-8")))
    assert out["a@x"][0]["script"] == 'Hi Smith, "Jo"\r\nJr!'
    assert set(out) == {"a@x", "b@x"}


def test_rows_with_wrong_field_count_are_problems(campaign, cli) -> None:
    result = cli("validate", campaign(csv="email,name,avatar\na@x,A,a1,extra\nb@x,B,a2\n"))
    assert result.exit_code == 1
    assert "row a@x (people.csv line 2): has 4 fields; the header has 3" in result.stderr


def test_where_filters_rows(campaign) -> None:
    manifest = BASE_MANIFEST.replace(
        "  key: email\n", "  key: email\n  where: \"row.name != 'Li'\"\n"
    )
    expansion = Expansion(load(campaign(manifest)))
    assert [row.key for row in expansion] == ["dana@acme.io"]
    assert expansion.filtered_out == 1


cell_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(names=st.lists(cell_text, min_size=1, max_size=5))
def test_any_cell_text_survives_csv_quoting_and_appears_literally(campaign, names) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["email", "name", "avatar"])
    for i, name in enumerate(names):
        writer.writerow([f"k{i}", name, "a1"])
    manifest = BASE_MANIFEST.replace(
        '"Hi {{ row.name }}!"', '"{{ row.name }}|{{ row.name | upper }}"'
    )
    manifest = manifest.replace("  voice_id: v1\n", '  voice_id: v1\n  title: "{{ row.name }}."\n')
    out = bodies(campaign(manifest, buffer.getvalue().encode("utf-8")))
    for i, name in enumerate(names):
        body = out[f"k{i}"][0]
        assert body["title"] == f"{name}."
        if name:
            assert body["script"] == f"{name}|{name.upper()}"


template_like = st.sampled_from(
    ["{{ 7*7 }}", "{% if 1 %}x{% endif %}", "{# c #}", "{{ row }}", "{{"]
)


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(prefix=cell_text.filter(lambda s: "\r" not in s), syntax=template_like)
def test_template_syntax_in_cells_is_data(campaign, prefix, syntax) -> None:
    value = prefix + syntax
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["email", "name", "avatar"], ["k", value, "a1"]])
    out = bodies(campaign(csv=buffer.getvalue().encode("utf-8")))
    assert out["k"][0]["script"] == f"Hi {value}!"


def test_yaml_scalars_become_plain_python_types(campaign) -> None:
    manifest = (
        BASE_MANIFEST
        + "  remove_background: true\n  voice_settings:\n    speed: 1.1\n    pitch: -2\n"
    )
    body = bodies(campaign(manifest))["dana@acme.io"][0]
    kinds = [type(v) for v in (body["remove_background"], *body["voice_settings"].values())]
    assert kinds == [bool, float, int]
