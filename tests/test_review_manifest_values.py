"""A manifest value JSON has no type for (an unquoted date, a !!binary, a custom tag) is one
clear error naming its line and field, never a traceback; `vars`, read only by templates,
keeps them."""

from __future__ import annotations

import pytest

MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  avatar_id: "{{{{ row.avatar }}}}"
  voice_id: v1
  script: "Hi {{{{ row.name }}}}"
  {field}
"""


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("title: 2026-01-02", "date"),
        ("callback_id: 2026-01-02T10:00:00Z", "timestamp"),
        ("title: !!binary aGVsbG8=", "binary value"),
        ("title: !custom x", "value tagged !custom"),
        ("title: !!set {a, b}", "set"),
    ],
)
def test_a_value_json_cannot_carry_is_named_not_a_traceback(campaign, cli, field, kind):
    path = campaign(MANIFEST.format(field=field))
    for command in ("validate", "render", "plan"):
        result = cli(command, path)
        assert result.exit_code != 0
        assert "line 9" in result.output and f"a YAML {kind} has no JSON form" in result.output
        assert "quote it" in result.output and "Traceback" not in result.output


def test_an_ordered_map_reads_as_a_mapping(campaign, cli):
    path = campaign(MANIFEST.format(field="voice_settings: !!omap [{speed: 1.1}]"))
    result = cli("render", path)
    assert result.exit_code == 0, result.output
    assert "speed: 1.1" in result.output


def test_a_date_in_vars_is_still_a_date_to_templates(campaign, cli):
    manifest = MANIFEST.format(field="").replace("source:", "vars: {launch: 2026-01-02}\nsource:")
    path = campaign(manifest.replace("Hi {{ row.name }}", "Hi {{ vars.launch.year }}"))
    result = cli("render", path)
    assert result.exit_code == 0, result.output
    assert "Hi 2026" in result.output


def test_a_quoted_date_is_text(campaign, cli):
    path = campaign(MANIFEST.format(field='title: "2026-01-02"'))
    result = cli("render", path)
    assert result.exit_code == 0, result.output
    assert 'title: "2026-01-02"' in result.output


@pytest.mark.parametrize("text", ["2026-01-02", "12", "yes", "null"])
def test_a_str_tag_makes_text_as_quotes_do(campaign, cli, text):
    path = campaign(MANIFEST.format(field=f"title: !!str {text}"))
    result = cli("render", path)
    assert result.exit_code == 0, result.output
    assert f'title: "{text}"' in result.output or f"title: '{text}'" in result.output
