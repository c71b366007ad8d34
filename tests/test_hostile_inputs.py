"""Hostile inputs to the campaign and state layers: each refused with one clear sentence."""

from __future__ import annotations

import pytest

from heyrender.campaign.digest import canonical_json
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


def lockfile_with(tmp_path, *rows: str):
    from heyrender.state import lockfile

    path = tmp_path / "m.lock"
    path.write_text(lockfile.header_line("m.yaml") + "".join(r + "\n" for r in rows))
    return path


REQUEST = "sha256:" + "0" * 64


@pytest.mark.parametrize("status", ["completed", "waiting", "processing", "missing"])
def test_a_row_whose_status_implies_a_video_must_name_it(tmp_path, status):
    from heyrender.errors import LockfileError
    from heyrender.state import lockfile

    row = f'{{"key": "a@x.io", "request": "{REQUEST}", "status": "{status}"}}'
    path = lockfile_with(tmp_path, row)
    with pytest.raises(LockfileError) as caught:
        lockfile.load(path)
    assert str(caught.value) == (
        f"m.lock line 2: row 'a@x.io': video_id: a {status} row must name its video, and has none"
    )


@pytest.mark.parametrize("status", ["failed", "submitting", "not_created", "uncertain"])
def test_a_row_around_a_create_may_have_no_video(tmp_path, status):
    from heyrender.state import lockfile

    row = f'{{"key": "a@x.io", "request": "{REQUEST}", "status": "{status}"}}'
    assert lockfile.load(lockfile_with(tmp_path, row))["a@x.io"].video_id is None


def test_download_of_a_hand_edited_completed_row_without_video_is_a_clear_error(
    campaign, cli, monkeypatch
):
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    path = campaign()
    row = f'{{"key": "dana@acme.io", "request": "{REQUEST}", "status": "completed"}}'
    lockfile_with(path.parent, row)
    result = cli("download", path)
    assert result.exit_code != 0
    assert "m.lock line 2: row 'dana@acme.io': video_id: a completed row" in result.output
    assert "Traceback" not in result.output


PLAIN_MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  avatar_id: a
  voice_id: v
  script: hi
"""


def test_control_characters_in_keys_are_a_csv_error_naming_their_lines(campaign, cli):
    csv = 'email,name\n"a\x1b[31m@x.io",A\n"b\rforged",B\nc@x.io,C\n"d\x85e",D\n'
    result = cli("validate", campaign(PLAIN_MANIFEST, csv=csv))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: people.csv: key column 'email' must be unique and non-empty, without control "
        "characters: control character in email: U+001B on line 2, U+000D on line 3, "
        "U+0085 on line 6\n"
    )
    assert "\x1b" not in result.output and "\r" not in result.output


def test_a_rendered_title_is_one_line(campaign, cli):
    manifest = PLAIN_MANIFEST + '  title: "{{ row.name }}"\n'
    result = cli("validate", campaign(manifest, csv='email,name\nc@x.io,"C\nD"\n'))
    assert result.exit_code == 1
    assert "row c@x.io (people.csv line 2): title: contains the control character U+000A" in (
        result.output
    )


def test_a_literal_title_or_name_with_a_line_break_is_refused(campaign, cli):
    manifest = PLAIN_MANIFEST + '  title: "one\\ttwo"\n'
    result = cli("validate", campaign(manifest))
    assert "m.yaml line 9, column 10: video.title: contains the control character U+0009" in (
        result.output
    )
    result = cli("validate", campaign('name: "x\\ny"\n' + PLAIN_MANIFEST))
    assert result.exit_code == 1
    assert "m.yaml line 1, column 7: name: contains the control character U+000A" in result.output


def test_a_long_cell_in_an_unused_column_does_not_make_the_csv_unreadable(campaign, cli):
    csv = f"email,notes\na@x.io,{'n' * 200_000}\nb@x.io,short\n"
    result = cli("validate", campaign(PLAIN_MANIFEST, csv=csv))
    assert result.exit_code == 0, result.output
    assert result.output == "2 rows valid, 0 invalid\n"


def test_a_cell_past_the_limit_names_its_line_and_column(campaign, cli):
    from heyrender.campaign.csvsource import MAX_CELL

    csv = f"email,notes\na@x.io,short\nb@x.io,{'n' * (MAX_CELL + 1)}\n"
    result = cli("validate", campaign(PLAIN_MANIFEST, csv=csv))
    assert result.exit_code == 1
    assert result.stderr == (
        'Error: people.csv line 3: a cell in column "notes" is longer than 16,777,216 characters\n'
    )


ONE_ROW = "email,name\na@x.io,A\n"


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_url_fields_must_be_http_urls(campaign, cli, api):
    manifest = f"""\
version: 1
api: {api}
source:
  csv: people.csv
  key: email
video:
  image_url: "{{{{ row.name }}}}"
  voice_id: v
  script: hi
  background: {{type: image, url: "not a url"}}
"""
    result = cli("validate", campaign(manifest, csv=ONE_ROW))
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        "row a@x.io (people.csv line 2): background.url: must be an http:// or https:// URL",
        "row a@x.io (people.csv line 2): image_url: must be an http:// or https:// URL",
    ]
    good = campaign(
        manifest.replace("not a url", "https://cdn.x/b.png").replace(
            "{{ row.name }}", "https://cdn.x/{{ row.name }}.png"
        ),
        csv=ONE_ROW,
    )
    assert cli("validate", good).output == "1 row valid, 0 invalid\n"


def test_v3_native_urls_are_checked_too():
    from heyrender.campaign import schema

    validator = schema.RequestValidator(schema.load(schema.V3_REQUEST_SCHEMA))
    body = {
        "type": "image",
        "image": {"type": "url", "url": "ftp://x/p.png"},
        "voice_id": "v",
        "script": "Hi",
        "watermark": {"type": "image", "image": {"type": "url", "url": "w.png"}},
    }
    fields = [(p.field, p.message) for p in validator.problems(body)]
    assert ("image.url", "must be an http:// or https:// URL") in fields
    assert ("watermark.image.url", "must be an http:// or https:// URL") in fields


TEMPLATE_VAR_MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
vars:
  x: "{{ row.name }}"
  plain: hello
  nested: {deep: "{% if true %}y{% endif %}"}
video:
  avatar_id: a
  voice_id: v
  script: "{{ vars.x }} {{ vars.plain }}"
"""


def test_a_var_holding_template_syntax_is_a_warning(campaign, cli):
    path = campaign(TEMPLATE_VAR_MANIFEST)
    result = cli("validate", path)
    assert result.exit_code == 0
    said = "but vars are not templates: every row gets that text as written"
    assert f"warning: m.yaml line 6: vars.x holds template syntax, {said}" in result.stderr
    assert "warning: m.yaml line 8: vars.nested.deep holds template syntax" in result.stderr
    assert "vars.plain" not in result.stderr
    import json

    warnings = json.loads(cli("validate", path, "--json").stdout)["warnings"]
    assert [w.split(" holds")[0] for w in warnings] == [
        "m.yaml line 6: vars.x",
        "m.yaml line 8: vars.nested.deep",
    ]


@pytest.mark.parametrize(("value", "said"), [("   ", "is set but blank"), ("", "is not set")])
def test_a_blank_api_key_is_called_blank(campaign, cli, monkeypatch, value, said):
    monkeypatch.setenv("HEYGEN_API_KEY", value)
    result = cli("apply", campaign())
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: HEYGEN_API_KEY {said}\n")


def test_excerpts_escape_control_characters():
    from heyrender.errors import excerpt, shorten

    assert excerpt("priya.png\n\x85\x1b[31m") == '"priya.png\\n\\u0085\\u001b[31m"'
    assert shorten("a\nb\x1b[0m\x9b\tc") == "a\\nb\\x1b[0m\\x9b\\tc"
    assert shorten("x" * 50 + "\n", 10) == "x" * 9 + "…"


def test_a_cell_quoted_in_an_error_stays_on_one_line(campaign, cli):
    manifest = PLAIN_MANIFEST.replace("avatar_id: a", 'image_file: "{{ row.photo }}"')
    result = cli("validate", campaign(manifest, csv='email,photo\na@x.io,"priya.png\n"\n'))
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("row a@x.io (people.csv line 2): image_file: priya.png\\n not found")
    assert first.endswith("priya.png\\n)")
