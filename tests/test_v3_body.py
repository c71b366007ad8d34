"""The manifest's `api:` key: v2-era fields mapped to the v3 body, v3's fields and rules, and
the messages a user meets on the way."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from heyrender.campaign import manifest as manifests
from heyrender.campaign import schema
from heyrender.campaign.digest import request_hash
from heyrender.campaign.expand import Expansion
from heyrender.campaign.request import request_body
from heyrender.campaign.rows import Campaign
from heyrender.campaign.rules import rules_for
from heyrender.versions import ApiVersion
from tests.conftest import BASE_MANIFEST

HEYGEN = Path(__file__).resolve().parent.parent / "schemas" / "heygen"
V2, V3 = ApiVersion.V2, ApiVersion.V3


def seed_request() -> dict[str, Any]:
    spec = json.loads((HEYGEN / "generate-video.openapi.json").read_text())
    body = spec["paths"]["/v2/videos"]["post"]["requestBody"]["content"]["application/json"]
    return dict(body["schema"])


def v3_reference_request() -> dict[str, Any]:
    reference = json.loads((HEYGEN / "v3-reference.json").read_text())
    create = next(
        e for e in reference["endpoints"] if (e["method"], e["path"]) == ("POST", "/v3/videos")
    )
    return dict(create["request_body"])


def discriminated(node: Any) -> Any:
    """OpenAPI's discriminator as JSON Schema: each oneOf branch pins its `type` value (the
    reference says "Must be 'avatar_v'" in the field's description), so that one body matches
    exactly one branch, as HeyGen reads it."""
    if isinstance(node, list):
        return [discriminated(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: discriminated(value) for key, value in node.items()}
    name = node.get("discriminator", {}).get("propertyName")
    for branch in out.get("oneOf", []) if name else []:
        said = re.search(r"Must be '(\w+)'", branch["properties"][name].get("description", ""))
        if said:
            branch["properties"][name] = {"const": said.group(1)}
    return out


REFERENCE = jsonschema.Draft202012Validator(discriminated(v3_reference_request()))
WIRE = jsonschema.Draft202012Validator(schema.load(schema.V3_REQUEST_SCHEMA))


def sent_as_v3(fields: dict[str, Any]) -> dict[str, Any]:
    """The v3 body for valid fields, checked against HeyGen's reference and our wire schema."""
    assert rules_for(V3).problems(fields) == []
    body = request_body(fields, V3)
    assert list(REFERENCE.iter_errors(body)) == []
    assert list(WIRE.iter_errors(body)) == []
    return body


# One valid value for every field of the seed's (v2) request body.
SEED_VALUES: dict[str, Any] = {
    "avatar_id": "a1",
    "image_url": "https://x/p.png",
    "image_asset_id": "img1",
    "script": "Hello",
    "voice_id": "v1",
    "audio_url": "https://x/a.mp3",
    "audio_asset_id": "au1",
    "title": "t",
    "resolution": "720p",
    "aspect_ratio": "9:16",
    "motion_prompt": "wave",
    "expressiveness": "high",
    "remove_background": True,
    "background": {"type": "color", "value": "#0a0a0a"},
    "voice_settings": {"speed": 1.1, "pitch": -3, "locale": "en-US"},
}
IMAGE_SOURCES = {
    "avatar_id": {"type": "avatar", "avatar_id": "a1"},
    "image_url": {"type": "image", "image": {"type": "url", "url": "https://x/p.png"}},
    "image_asset_id": {"type": "image", "image": {"type": "asset_id", "asset_id": "img1"}},
}
SPEECH_SOURCES = ("script", "audio_url", "audio_asset_id")


def test_every_seed_field_has_a_case_here() -> None:
    assert set(SEED_VALUES) == set(seed_request()["properties"])


@pytest.mark.parametrize("field", sorted(SEED_VALUES))
def test_each_seed_field_maps_to_the_v3_body(field: str) -> None:
    image = field if field in IMAGE_SOURCES else "avatar_id"
    speech = field if field in SPEECH_SOURCES else "script"
    fields = {image: SEED_VALUES[image], speech: SEED_VALUES[speech], "voice_id": "v1"}
    fields[field] = SEED_VALUES[field]
    if speech != "script":
        fields.pop("voice_id") if field != "voice_id" else fields.update(script="Hi")
        if field == "voice_id":
            fields.pop(speech)
    body = sent_as_v3(fields)
    expected = {**IMAGE_SOURCES[image]}
    expected.update({k: v for k, v in fields.items() if k not in IMAGE_SOURCES})
    assert body == expected
    assert next(iter(body)) == "type"
    if field not in IMAGE_SOURCES:
        assert body[field] == SEED_VALUES[field]  # every other field passes through unchanged


def test_v2_takes_the_fields_as_they_are() -> None:
    fields = {"image_url": "https://x/p.png", "script": "Hi", "voice_id": "v1"}
    assert request_body(fields, V2) == fields


def test_native_v3_image_and_type_pass_through() -> None:
    image = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    fields = {"type": "image", "image": image, "script": "Hi", "voice_id": "v1"}
    assert sent_as_v3(fields) == fields
    assert sent_as_v3({"image": image, "audio_url": "https://x/a.mp3"})["type"] == "image"
    assert sent_as_v3({"type": "avatar", "avatar_id": "a1", "script": "Hi"})["type"] == "avatar"


# Each v3 field: (manifest lines under video:, the field the v2 refusal names)
V3_FIELDS = [
    ("  engine:\n    type: avatar_v\n", "video.engine"),
    ("  engine:\n    type: avatar_v\n    reference_look_id: look1\n", "video.engine"),
    ("  resolution: 4k\n", "video.resolution"),
    ('  aspect_ratio: "4:5"\n', "video.aspect_ratio"),
    ('  aspect_ratio: "5:4"\n', "video.aspect_ratio"),
    ('  aspect_ratio: "1:1"\n', "video.aspect_ratio"),
    ("  aspect_ratio: auto\n", "video.aspect_ratio"),
    ("  fit: cover\n", "video.fit"),
    ("  output_format: webm\n", "video.output_format"),
    ("  caption:\n    style: default\n", "video.caption"),
    ("  voice_settings:\n    volume: 0.5\n", "video.voice_settings.volume"),
    (
        "  voice_settings:\n    engine_settings:\n      engine_type: elevenlabs\n"
        "      model: eleven_v3\n      stability: 0.5\n",
        "video.voice_settings.engine_settings",
    ),
    ("  callback_url: https://hooks.example/done\n", "video.callback_url"),
    ("  callback_id: '{{ key }}'\n", "video.callback_id"),
    ("  type: avatar\n", "video.type"),
    ("  watermark:\n    image:\n      type: asset_id\n      asset_id: wm1\n", "video.watermark"),
]


@pytest.mark.parametrize(("lines", "field"), V3_FIELDS, ids=[f[0].strip() for f in V3_FIELDS])
def test_v3_field_is_accepted_under_v3_and_refused_under_v2(
    campaign, cli, lines: str, field: str
) -> None:
    v3 = cli("validate", campaign(BASE_MANIFEST + lines))
    assert (v3.exit_code, v3.stdout, v3.stderr) == (0, "2 rows valid, 0 invalid\n", "")
    v2 = cli("validate", campaign("api: v2\n" + BASE_MANIFEST + lines))
    assert v2.exit_code == 1
    assert f": {field}: " in v2.stderr
    assert "needs api: v3 (this manifest says api: v2)" in v2.stderr
    assert v2.stderr.count("\n") <= 2  # one sentence (and its hint) for the manifest


def test_native_image_is_refused_under_v2_by_its_own_name(campaign, cli) -> None:
    manifest = "api: v2\n" + BASE_MANIFEST.replace(
        'avatar_id: "{{ row.avatar }}"', "image:\n    type: url\n    url: https://x/p.png"
    )
    result = cli("validate", campaign(manifest))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: m.yaml line 8, column 5: video.image: a v3 field; it needs api: v3 "
        "(this manifest says api: v2)"
    )


def test_several_v3_fields_under_v2_are_named_in_one_sentence(campaign, cli) -> None:
    manifest = "api: v2\n" + BASE_MANIFEST + "  fit: cover\n  resolution: 4k\n"
    result = cli("validate", campaign(manifest))
    assert result.exit_code == 1
    assert "video.fit: a v3 field; it needs api: v3 (this manifest says api: v2); " in (
        result.stderr
    )
    assert "so do video.resolution" in result.stderr


def test_a_templated_v3_value_under_v2_is_refused_per_row(campaign, cli) -> None:
    manifest = "api: v2\n" + BASE_MANIFEST + '  resolution: "{{ row.res }}"\n'
    result = cli("validate", campaign(manifest, "email,name,avatar,res\na@x,A,a1,4k\nb@x,B,a2,\n"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        'row a@x (people.csv line 2): resolution: "4k" needs api: v3 '
        "(this manifest says api: v2); v2 takes 1080p, 720p"
    ]
    assert result.stdout == "1 row valid, 1 invalid\n"


def test_an_unknown_api_is_one_sentence(campaign, cli) -> None:
    result = cli("validate", campaign("api: v4\n" + BASE_MANIFEST))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        'Error: m.yaml line 1, column 6: api: "v4" is not an API heyrender speaks; '
        "use api: v3 (the default) or api: v2"
    )


def test_the_default_api_is_v3_and_v2_is_kept(campaign) -> None:
    assert manifests.load(campaign()).api is V3
    assert manifests.load(campaign("api: v2\n" + BASE_MANIFEST)).api is V2
    assert manifests.load(campaign("api: v3\n" + BASE_MANIFEST)).api is V3


# v3's cross-field rules over the manifest's fields: (rule, fields, field, words)
AVATAR = {"avatar_id": "a1", "script": "Hi"}
IMAGE = {"image_url": "https://x/p.png", "script": "Hi", "voice_id": "v1"}
V3_RULES = [
    (
        "webm takes no background",
        {**AVATAR, "output_format": "webm", "background": {"type": "color", "value": "#000000"}},
        "background",
        "webm output is transparent and takes no background",
    ),
    (
        "no expressiveness with avatar_v",
        {**AVATAR, "engine": {"type": "avatar_v"}, "expressiveness": "high"},
        "expressiveness",
        "not available with engine avatar_v",
    ),
    (
        "no avatar_iii for an image_url",
        {**IMAGE, "engine": {"type": "avatar_iii"}},
        "engine.type",
        "avatar_iii cannot animate an image input",
    ),
    (
        "no avatar_iii for an image_asset_id",
        {"image_asset_id": "i1", "audio_url": "https://x/a.mp3", "engine": {"type": "avatar_iii"}},
        "engine.type",
        "avatar_iii cannot animate an image input",
    ),
    (
        "an image needs voice_id with script",
        {"image_url": "https://x/p.png", "script": "Hi"},
        "voice_id",
        "only an avatar has a default voice",
    ),
    (
        "a native image needs voice_id with script",
        {"image": {"type": "url", "url": "https://x/p.png"}, "script": "Hi"},
        "voice_id",
        "only an avatar has a default voice",
    ),
    (
        "exactly one speech source",
        {**AVATAR, "audio_url": "https://x/a.mp3"},
        "",
        "needs exactly one speech source: script, audio_url or audio_asset_id (found script, "
        "audio_url)",
    ),
    (
        "exactly one image source",
        {**AVATAR, "image": {"type": "asset_id", "asset_id": "i1"}},
        "",
        "needs exactly one image source: avatar_id, image_url or image_asset_id (found "
        "avatar_id, image)",
    ),
    (
        "type avatar needs avatar_id",
        {"type": "avatar", "image_url": "https://x/p.png", "script": "Hi", "voice_id": "v"},
        "avatar_id",
        "type avatar needs avatar_id",
    ),
    (
        "type image takes no avatar_id",
        {"type": "image", "avatar_id": "a1", "script": "Hi"},
        "type",
        "type image takes image_url, image_asset_id or image, not avatar_id",
    ),
    (
        "colour background needs value",
        {**AVATAR, "background": {"type": "color"}},
        "background.value",
        "required",
    ),
    (
        "image background takes one of url or asset_id",
        {**AVATAR, "background": {"type": "image", "url": "https://x/b.png", "asset_id": "b"}},
        "background",
        "an image background takes exactly one of url or asset_id",
    ),
    (
        "volume at most 1",
        {**AVATAR, "voice_settings": {"volume": 1.1}},
        "voice_settings.volume",
        "1.1 is outside 0 to 1",
    ),
    (
        "volume at least 0",
        {**AVATAR, "voice_settings": {"volume": -0.1}},
        "voice_settings.volume",
        "outside 0 to 1",
    ),
    (
        "speed range as v2",
        {**AVATAR, "voice_settings": {"speed": 1.6}},
        "voice_settings.speed",
        "1.6 is outside 0.5 to 1.5",
    ),
    (
        "script at most 5,000 characters",
        {**AVATAR, "script": "x" * 5001},
        "script",
        "5,001 characters long; the limit is 5,000",
    ),
    (
        "4k is v3 but 8k is nothing",
        {**AVATAR, "resolution": "8k"},
        "resolution",
        '"8k" is not one of 4k, 1080p, 720p',
    ),
    (
        "reference_look_id is avatar_v's",
        {**AVATAR, "engine": {"type": "avatar_iv", "reference_look_id": "l1"}},
        "engine.reference_look_id",
        "only with engine type avatar_v",
    ),
]


@pytest.mark.parametrize(
    ("rule", "fields", "field", "words"), V3_RULES, ids=[r[0] for r in V3_RULES]
)
def test_v3_rule(rule: str, fields: dict, field: str, words: str) -> None:
    problems = rules_for(V3).problems(fields)
    assert any(p.field == field and words in p.message for p in problems), problems


def test_v3_rules_pass_what_they_allow() -> None:
    for fields in (
        AVATAR,  # an avatar speaks in its own voice: no voice_id needed
        {**AVATAR, "output_format": "webm"},
        {**AVATAR, "engine": {"type": "avatar_v"}, "motion_prompt": "wave"},
        {**AVATAR, "engine": {"type": "avatar_iii"}},
        {**IMAGE, "engine": {"type": "avatar_v"}},
        {**AVATAR, "voice_settings": {"volume": 0}},
        {**AVATAR, "voice_settings": {"volume": 1}},
    ):
        sent_as_v3(fields)


def test_wire_schema_holds_the_same_rules_on_the_v3_body() -> None:
    validator = schema.RequestValidator(schema.load(schema.V3_REQUEST_SCHEMA))
    image = {"type": "image", "image": {"type": "url", "url": "https://x/p.png"}}
    assert validator.problems({**image, "script": "Hi"})[0].field == "voice_id"
    assert validator.problems(
        {**image, "audio_url": "https://x/a.mp3", "engine": {"type": "avatar_iii"}}
    ) == [
        schema.FieldProblem(
            "engine.type",
            "avatar_iii cannot animate an image (type image); use avatar_iv or avatar_v",
        )
    ]
    assert validator.problems({"type": "avatar", "avatar_id": "a", "script": "Hi"}) == []


RICH_MANIFEST = """\
version: 1
name: rich
source:
  csv: people.csv
  key: email
video:
  image_url: "https://img.example/{{ key }}.png"
  voice_id: v1
  script: "Hi {{ row.name }}!"
  aspect_ratio: "16:9"
  resolution: 4k
  fit: contain
  engine:
    type: avatar_v
  caption:
    style: default
  voice_settings:
    speed: "{{ row.speed }}"
    volume: 0.8
  callback_url: https://hooks.example/done
  callback_id: "{{ key }}"
"""
RICH_CSV = "email,name,avatar,speed\ndana@acme.io,Dana,a1,1.1\nli@globex.com,Li,a2,0.9\n"


def test_render_prints_the_body_the_api_gets(campaign, cli) -> None:
    path = campaign(RICH_MANIFEST, RICH_CSV)
    result = cli("render", path, "--format", "json")
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    campaign_ = Campaign.expand(manifests.load(path))
    sent = [body for _, body in campaign_.bodies(["dana@acme.io", "li@globex.com"])]
    assert printed == sent
    assert printed[0] == {
        "type": "image",
        "image": {"type": "url", "url": "https://img.example/dana@acme.io.png"},
        "voice_id": "v1",
        "script": "Hi Dana!",
        "aspect_ratio": "16:9",
        "resolution": "4k",
        "fit": "contain",
        "engine": {"type": "avatar_v"},
        "caption": {"style": "default"},
        "voice_settings": {"speed": 1.1, "volume": 0.8},
        "callback_url": "https://hooks.example/done",
        "callback_id": "dana@acme.io",
        "title": "rich/dana@acme.io",
    }
    for body in printed:
        assert list(REFERENCE.iter_errors(body)) == []
        assert list(WIRE.iter_errors(body)) == []


def test_render_yaml_is_the_same_body_to_yaml_1_1_and_1_2_readers(campaign, cli) -> None:
    manifest = RICH_MANIFEST.replace('callback_id: "{{ key }}"', 'callback_id: "{{ row.tag }}"')
    csv_text = "email,name,speed,tag\na@x,A,1.0,no\nb@x,B,1.0,12:30:00\nc@x,C,1,2026-11-01\n"
    path = campaign(manifest, csv_text)
    as_json = cli("render", path, "--format", "json")
    as_yaml = cli("render", path)
    assert as_yaml.exit_code == 0, as_yaml.output
    expected = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [b["callback_id"] for b in expected] == ["no", "12:30:00", "2026-11-01"]
    for version in ((1, 1), (1, 2)):
        reader = YAML(typ="safe", pure=True)
        reader.version = version
        assert list(reader.load_all(as_yaml.stdout)) == expected, version
    assert 'aspect_ratio: "16:9"' in as_yaml.stdout


def test_request_hash_is_unchanged_by_the_switch_to_v3(campaign) -> None:
    path = campaign()
    v3 = Campaign.expand(manifests.load(path))
    v2 = Campaign.expand(manifests.load(campaign("api: v2\n" + BASE_MANIFEST)))
    assert [r.request for r in v3.rows] == [r.request for r in v2.rows]
    # the hash a v2-era heyrender wrote: over the v2 body, canonical JSON
    seed_era = request_hash(
        {"avatar_id": "a1", "voice_id": "v1", "script": "Hi Dana!", "title": "m/dana@acme.io"}
    )
    assert v3.rows[0].request == seed_era
    assert (
        seed_era
        == "sha256:"
        + __import__("hashlib")
        .sha256(b'{"avatar_id":"a1","script":"Hi Dana!","title":"m/dana@acme.io","voice_id":"v1"}')
        .hexdigest()
    )


def test_plan_uses_the_chosen_apis_rules(campaign, cli) -> None:
    manifest = BASE_MANIFEST.replace("voice_id: v1", 'voice_id: "{{ row.voice }}"')
    csv_text = "email,name,avatar,voice\na@x,A,a1,\nb@x,B,a2,v2\n"
    v3 = Campaign.expand(manifests.load(campaign(manifest, csv_text)))
    assert [r.problems for r in v3.rows] == [(), ()]  # an avatar's own voice is fine on v3
    v2 = Campaign.expand(manifests.load(campaign("api: v2\n" + manifest, csv_text)))
    assert [p.message for p in v2.rows[0].problems] == ["required when script is given"]


# Messages: no internals


def test_a_bad_literal_enum_value_shows_no_internal_pattern(campaign, cli) -> None:
    result = cli("validate", campaign(BASE_MANIFEST + "  resolution: 8k\n"))
    assert result.exit_code == 1
    assert "\\{" not in result.stderr and "does not match" not in result.stderr
    assert 'video.resolution: "8k" is not one of 4k, 1080p, 720p, nor a template' in (result.stderr)


def test_an_empty_section_says_so(campaign, cli) -> None:
    result = cli(
        "validate", campaign("version: 1\nsource:\n  csv: people.csv\n  key: email\nvideo:\n")
    )
    assert result.exit_code == 1
    assert "None" not in result.stderr and "a object" not in result.stderr
    assert "video: is empty; it must be a mapping" in result.stderr


def test_a_template_error_is_not_followed_by_found_none(campaign, cli) -> None:
    manifest = BASE_MANIFEST.replace('"{{ row.avatar }}"', "\"{{ row.avatar | int('x') + {} }}\"")
    result = cli("validate", campaign(manifest))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert all(": avatar_id: template error: " in line for line in lines)
    assert "found none" not in result.stderr


def test_a_duplicate_key_names_a_few_lines_and_counts_the_rest(campaign, cli) -> None:
    csv_text = "email,name,avatar\n" + "same@x,A,a1\n" * 200
    result = cli("validate", campaign(csv=csv_text))
    assert result.exit_code == 1
    assert "same@x (lines 2, 3, 4, 5, 6 and 195 more)" in result.stderr
    assert "201" not in result.stderr


def test_render_prints_no_body_for_an_invalid_row(campaign, cli) -> None:
    manifest = BASE_MANIFEST + '  resolution: "{{ row.res }}"\n'
    path = campaign(manifest, "email,name,avatar,res\na@x,A,a1,8k\nb@x,B,a2,720p\n")
    result = cli("render", path, "--format", "json")
    assert result.exit_code == 1
    assert [json.loads(line)["resolution"] for line in result.stdout.splitlines()] == ["720p"]
    assert 'row a@x (people.csv line 2): resolution: "8k" is not one of' in result.stderr


def test_expansion_keeps_the_manifests_vocabulary(campaign) -> None:
    manifest = BASE_MANIFEST.replace("avatar_id", "image_url")
    row = next(iter(Expansion(manifests.load(campaign(manifest)))))
    assert row.body is not None and row.body["image_url"] == "a1"
    assert row.request_body == {
        "type": "image",
        "image": {"type": "url", "url": "a1"},
        "voice_id": "v1",
        "script": "Hi Dana!",
        "title": "m/dana@acme.io",
    }


def test_editor_schema_covers_both_apis() -> None:
    editor = jsonschema.Draft202012Validator(schema.load(schema.MANIFEST_SCHEMA))
    base = {"version": 1, "source": {"csv": "p.csv", "key": "k"}}
    v3_video = {"avatar_id": "{{ row.a }}", "script": "Hi", "engine": {"type": "avatar_v"}}
    assert list(editor.iter_errors({**base, "video": v3_video})) == []
    assert list(editor.iter_errors({**base, "api": "v3", "video": v3_video})) == []
    assert list(editor.iter_errors({**base, "api": "v2", "video": v3_video})) != []
    assert list(editor.iter_errors({**base, "api": "v2", "video": {"avatar_id": "a"}})) == []
    assert list(editor.iter_errors({**base, "api": "v9", "video": {}})) != []


def test_the_reference_check_can_fail() -> None:
    assert list(REFERENCE.iter_errors({"type": "avatar", "script": "Hi"})) != []
    assert list(REFERENCE.iter_errors({"type": "image", "image": {"type": "url"}})) != []
    assert list(REFERENCE.iter_errors({"avatar_id": "a1", "script": "Hi"})) != []
    engine = {"type": "avatar", "avatar_id": "a1", "engine": {"type": "avatar_v"}}
    assert list(REFERENCE.iter_errors(engine)) == []


def test_one_row_is_one_row(campaign, cli) -> None:
    path = campaign(csv="email,name,avatar\na@x,A,a1\n")
    assert cli("validate", path).stdout == "1 row valid, 0 invalid\n"
    assert cli("plan", path).stdout.startswith("Plan for m: 1 row\n")
