"""The validate and render commands through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from ruamel.yaml import YAML

from tests.conftest import BASE_MANIFEST

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "manifests"


def test_validate_valid_campaign(campaign, cli) -> None:
    result = cli("validate", campaign())
    assert (result.exit_code, result.stdout, result.stderr) == (0, "2 rows valid, 0 invalid\n", "")


def test_validate_json(campaign, cli) -> None:
    # v2's rule: script needs voice_id (v3 lets an avatar speak in its own voice)
    manifest = "api: v2\n" + BASE_MANIFEST.replace("voice_id: v1", 'voice_id: "{{ row.voice }}"')
    result = cli("validate", campaign(manifest, "email,name,avatar,voice\na@x,A,a1,\n"), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] == 0 and report["invalid"] == 1
    assert report["problems"] == [
        {"key": "a@x", "line": 2, "field": "voice_id", "message": "required when script is given"}
    ]


def test_usage_error_exits_2(cli) -> None:
    assert cli("validate").exit_code == 2
    assert cli("render", "x.yaml", "--format", "toml").exit_code == 2


def test_repeated_titles_are_an_error_naming_the_rows(campaign, cli) -> None:
    manifest = BASE_MANIFEST + '  title: "Hello {{ row.avatar }}"\n'
    result = cli("validate", campaign(manifest, "email,name,avatar\na@x,A,same\nb@x,B,same\n"))
    assert result.exit_code == 1
    assert "Error: people.csv: rendered titles must be unique" in result.stderr
    assert "'Hello same' (rows a@x line 2, b@x line 3)" in result.stderr


def test_render_one_row_as_json(campaign, cli) -> None:
    result = cli("render", campaign(), "--row", "li@globex.com", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "type": "avatar",
        "avatar_id": "a2",
        "voice_id": "v1",
        "script": "Hi Li!",
        "title": "m/li@globex.com",
    }


def test_render_all_rows_as_json_lines_in_readable_utf8(campaign, cli) -> None:
    result = cli(
        "render", campaign(csv="email,name,avatar\na@x,Sofía,a1\nb@x,Zoë,a2\n"), "--format", "json"
    )
    lines = result.stdout.splitlines()
    assert [json.loads(line)["script"] for line in lines] == ["Hi Sofía!", "Hi Zoë!"]
    assert "Sofía" in lines[0]


def test_render_yaml_documents_carry_the_row(campaign, cli) -> None:
    result = cli("render", campaign())
    documents = list(YAML(typ="safe", pure=True).load_all(result.stdout))
    assert [d["title"] for d in documents] == ["m/dana@acme.io", "m/li@globex.com"]
    assert "# row: li@globex.com (people.csv line 3)" in result.stdout


def test_render_unknown_row(campaign, cli) -> None:
    result = cli("render", campaign(), "--row", "nobody@x")
    assert result.exit_code == 1
    assert result.stderr == "Error: no row with email 'nobody@x' in people.csv\n"


def test_render_reports_invalid_rows_and_exits_1(campaign, cli) -> None:
    manifest = "api: v2\n" + BASE_MANIFEST.replace("voice_id: v1", "voice_id: ''")
    result = cli("render", campaign(manifest))
    assert result.exit_code == 1
    assert (
        "row dana@acme.io (people.csv line 2): voice_id: required when script is given"
        in result.stderr
    )


def test_example_campaigns_are_valid(cli) -> None:
    for manifest in sorted(EXAMPLES.glob("*.yaml")):
        result = cli("validate", manifest)
        assert result.exit_code == 0, result.output
        assert " 0 invalid" in result.stdout


def test_apply_without_a_terminal_or_yes_refuses_and_submits_nothing(
    campaign, cli, monkeypatch
) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    monkeypatch.setenv("HEYGEN_API_BASE", "http://127.0.0.1:9")
    path = campaign()
    result = cli("apply", path)
    assert result.exit_code == 1
    assert "Error: apply would submit 2 videos and needs approval" in result.stderr
    assert "pass --yes" in result.stderr
    assert not path.with_suffix(".lock.journal").exists()


def test_apply_asks_and_only_yes_goes_ahead(campaign, cli, monkeypatch) -> None:
    import importlib

    screen = importlib.import_module("heyrender.commands.apply_screen")
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    monkeypatch.setenv("HEYGEN_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setattr(screen, "stdin_is_terminal", lambda: True)
    result = cli("apply", campaign(), input="y\n")
    assert result.exit_code == 1
    assert "Submit 2 videos? Only 'yes' will be accepted" in result.output
    assert "apply cancelled; nothing was submitted" in result.stderr


def test_apply_with_invalid_rows_submits_nothing(campaign, cli, monkeypatch) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    path = campaign(
        "api: v2\n" + BASE_MANIFEST.replace("voice_id: v1", 'voice_id: "{{ row.voice }}"'),
        "email,name,avatar,voice\na@x,A,a1,v\nb@x,B,a2,\n",
    )
    result = cli("apply", path, "--yes")
    assert result.exit_code == 1
    assert "row b@x (people.csv line 3): voice_id: required when script is given" in result.output
    assert "Error: 1 of 2 rows are invalid; nothing was submitted" in result.stderr
    assert "--skip-invalid" in result.stderr
    assert not path.with_suffix(".lock").exists()


def test_apply_without_a_key_says_how_to_set_one(campaign, cli, monkeypatch) -> None:
    monkeypatch.delenv("HEYGEN_API_KEY", raising=False)
    result = cli("apply", campaign(), "--yes")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: HEYGEN_API_KEY is not set\nHint: export HEYGEN_API_KEY="
    )


def test_plan_json_and_detailed_exitcode(campaign, cli) -> None:
    path = campaign()
    result = cli("plan", path, "--json")
    assert json.loads(result.stdout)["groups"]["create"] == ["dana@acme.io", "li@globex.com"]
    assert cli("plan", path, "--detailed-exitcode").exit_code == 2


def test_plan_truncates_long_groups(campaign, cli) -> None:
    rows = "".join(f"k{i:02d}@x,N,a\n" for i in range(25))
    path = campaign(csv="email,name,avatar\n" + rows)
    result = cli("plan", path)
    assert "    ... and 15 more" in result.stdout
    assert "k24@x" in cli("plan", path, "--all").stdout


def test_a_hand_broken_lockfile_is_a_clear_error(campaign, cli) -> None:
    path = campaign()
    path.with_suffix(".lock").write_text(
        '{"heyrender_lockfile": 1}\n{"key": "dana@acme.io", oops}\n'
    )
    result = cli("plan", path)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: m.lock line 2: not valid JSON")
    assert "restore it from git" in result.stderr


def test_status_without_a_lockfile(campaign, cli) -> None:
    result = cli("status", campaign())
    assert result.exit_code == 0
    assert "No lockfile rows yet for m.yaml" in result.stdout
