"""Manifest-level faults: one clear sentence naming file, line and field; exit 1; no traceback."""

from __future__ import annotations

import pytest

from tests.conftest import BASE_CSV, BASE_MANIFEST


def fails_with(cli, manifest_path, *words: str) -> str:
    result = cli("validate", manifest_path)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def test_yaml_syntax_error_names_the_line(campaign, cli) -> None:
    path = campaign("version: 1\nsource:\n  csv: people.csv\n  key: [email\nvideo: {}\n")
    fails_with(cli, path, "m.yaml line 5", "YAML syntax error")


def test_missing_csv(campaign, cli) -> None:
    path = campaign(BASE_MANIFEST.replace("people.csv", "nobody.csv"))
    fails_with(cli, path, "m.yaml line 3", "source.csv: CSV file nobody.csv not found")


def test_missing_manifest(tmp_path, cli) -> None:
    fails_with(cli, tmp_path / "absent.yaml", "absent.yaml: no such file")


def test_unknown_version(campaign, cli) -> None:
    path = campaign(BASE_MANIFEST.replace("version: 1", "version: 2"))
    fails_with(
        cli, path, "m.yaml line 1", "unknown manifest version 2; this heyrender reads version: 1"
    )


def test_misspelled_video_field_is_caught_once_with_its_line(campaign, cli) -> None:
    path = campaign(BASE_MANIFEST + "  resolutoin: 720p\n")
    err = fails_with(
        cli, path, "m.yaml line 9", "video.resolutoin: unknown field; did you mean resolution?"
    )
    assert err.count("Error") == 1


def test_template_syntax_error_names_field_and_line(campaign, cli) -> None:
    path = campaign(BASE_MANIFEST.replace('"Hi {{ row.name }}!"', '"Hi {{ row.name }!"'))
    fails_with(cli, path, "m.yaml line 8", "video.script: template syntax error")


def test_reference_to_missing_column_suggests_the_close_one(campaign, cli) -> None:
    path = campaign(BASE_MANIFEST.replace("row.name", "row.nmae"))
    fails_with(
        cli,
        path,
        "m.yaml line 8",
        "video.script: uses row.nmae, but people.csv has no column 'nmae'; did you mean row.name?",
    )


def test_reference_to_missing_var(campaign, cli) -> None:
    path = campaign(BASE_MANIFEST.replace("voice_id: v1", 'voice_id: "{{ vars.voice }}"'))
    fails_with(cli, path, "video.voice_id: uses vars.voice, but vars has no entry 'voice'")


def test_undefined_free_name(campaign, cli) -> None:
    path = campaign(BASE_MANIFEST.replace("row.name", "name"))
    fails_with(cli, path, "video.script: uses 'name', which is not defined")


def test_key_column_must_exist(campaign, cli) -> None:
    path = campaign(BASE_MANIFEST.replace("key: email", "key: mail"))
    fails_with(cli, path, "m.yaml line 4", "source.key: 'mail' is not a column of people.csv")


def test_where_on_missing_column(campaign, cli) -> None:
    path = campaign(
        BASE_MANIFEST.replace(
            "  key: email\n", "  key: email\n  where: \"{{ row.optin == 'yes' }}\"\n"
        )
    )
    fails_with(cli, path, "source.where: uses row.optin")


def test_duplicate_and_empty_keys_are_named(campaign, cli) -> None:
    path = campaign(csv=BASE_CSV + "dana@acme.io,Dana again,a3\n,Nobody,a4\n")
    fails_with(
        cli,
        path,
        "people.csv: key column 'email' must be unique and non-empty",
        "duplicate email: dana@acme.io (lines 2, 4)",
        "empty email on line 5",
    )


def test_csv_that_is_not_utf8(campaign, cli) -> None:
    path = campaign(csv="email,name,avatar\nj@x.de,J\xfcrgen,a1\n".encode("latin-1"))
    fails_with(cli, path, "people.csv line 2", "is not UTF-8 text (byte 0xfc", "save it as UTF-8")


def test_empty_csv(campaign, cli) -> None:
    fails_with(cli, campaign(csv=""), "people.csv: is empty")


def test_manifest_missing_video(campaign, cli) -> None:
    fails_with(
        cli,
        campaign("version: 1\nsource: {csv: people.csv, key: email}\n"),
        "m.yaml: video: required",
    )


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_manifest_that_is_not_a_mapping(campaign, cli, text) -> None:
    fails_with(cli, campaign(text), "m.yaml")


def test_bad_literal_number(campaign, cli) -> None:
    path = campaign(BASE_MANIFEST + "  voice_settings:\n    speed: fast\n")
    fails_with(cli, path, "m.yaml line 10", 'video.voice_settings.speed: "fast" is not a number')
