"""Templates stay data and stay bounded: size, time, reprs, control characters, unknown names."""

from __future__ import annotations

import time

import pytest

from heyrender.campaign import templating
from heyrender.campaign.expand import Expansion
from heyrender.campaign.manifest import load
from heyrender.campaign.validate import validate
from tests.conftest import BASE_MANIFEST


def script(template: str) -> str:
    return BASE_MANIFEST.replace('"Hi {{ row.name }}!"', f'"{template}"')


def problems_of(path) -> dict[str, list[str]]:
    return {row.key: [str(p) for p in row.problems] for row in Expansion(load(path))}


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a' * 10**10 }}",
        "{{ ['a'] * 10**10 }}",
        "{{ 'x' | center(10**10) }}",
        "{{ 'x'.ljust(10**10) }}",
        "{{ ('a' * 1000) | replace('a', 'a' * 2000) }}",
        "{{ '%9999999999s' % 'a' }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}",
    ],
)
def test_output_past_the_field_limit_is_refused_before_it_is_built(campaign, template) -> None:
    started = time.monotonic()
    found = problems_of(campaign(script(template)))
    assert time.monotonic() - started < 30
    for key in ("dana@acme.io", "li@globex.com"):
        [problem] = found[key]
        assert problem.startswith("script: template error:"), problem
        assert "1,000,000" in problem or "too wide" in problem, problem


def test_huge_powers_are_refused(campaign) -> None:
    [problem] = problems_of(campaign(script("{{ 7 ** 1000000 }}")))["li@globex.com"]
    assert problem == "script: template error: 7 ** 1000000 is too large a number"


def test_a_render_that_runs_too_long_is_interrupted_and_named(campaign, cli, monkeypatch) -> None:
    monkeypatch.setattr(templating, "TEMPLATE_SECONDS", 0.2)
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    result = cli("validate", campaign(script(loops + "Hi")))
    assert result.exit_code == 1
    timed_out = [line for line in result.stderr.splitlines() if "took longer" in line]
    assert timed_out == [
        "row dana@acme.io (people.csv line 2): script: template error: took longer than 0.2 s",
        "row li@globex.com (people.csv line 3): script: template error: took longer than 0.2 s",
    ]


def test_the_timer_is_disarmed_after_the_pass(campaign) -> None:
    validate(load(campaign()))
    import signal

    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize(
    "template", ["{{ self }}", "{{ cycler }}", "{{ namespace }}", "{{ range }}", "{{ joiner() }}"]
)
def test_objects_are_not_printed_as_python_reprs(campaign, template) -> None:
    [problem] = problems_of(campaign(script(template)))["dana@acme.io"]
    assert problem.startswith("script: template error: prints a Python object"), problem
    assert "0x" not in problem


@pytest.mark.parametrize("name", ["lipsum", "random"])
def test_random_output_is_not_available(campaign, cli, name) -> None:
    template = "{{ lipsum() }}" if name == "lipsum" else "{{ [1, 2] | random }}"
    result = cli("validate", campaign(script(template)))
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert "m.yaml line 8" in result.stderr and "video.script" in result.stderr


def test_plain_data_still_prints(campaign) -> None:
    template = "{{ row.name }} {{ 3 }} {{ 1.5 }} {{ [1, 2] }} {{ 'a' * 3 }} {{ 2 ** 10 }}"
    [row] = [r for r in Expansion(load(campaign(script(template)))) if r.key == "li@globex.com"]
    assert row.body is not None and row.body["script"] == "Li 3 1.5 [1, 2] aaa 1024"
    assert row.problems == []


def test_control_characters_in_rendered_fields_are_row_problems(campaign, cli) -> None:
    csv_text = 'email,name,avatar\na@x,"A\x00B",a1\nb@x,"tab\tand\nnewline",a2\nc@x,C\x1b,a3\n'
    result = cli("validate", campaign(csv=csv_text))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "row a@x (people.csv line 2): script: contains the control character U+0000",
        "row c@x (people.csv line 5): script: contains the control character U+001B",
    ]


def test_control_characters_in_literal_fields_are_manifest_errors(campaign, cli) -> None:
    result = cli("validate", campaign(BASE_MANIFEST.replace("voice_id: v1", 'voice_id: "v\\0"')))
    assert result.exit_code == 1
    assert "m.yaml line 7" in result.stderr
    assert "video.voice_id: contains the control character U+0000" in result.stderr


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{{ row.name | shout }}", "no filter named 'shout'"),
        ("{% if row.name is loud %}x{% endif %}", "no test named 'loud'"),
        ("{% if row.name %}{{ row.name | shout }}{% endif %}", "no filter named 'shout'"),
    ],
)
def test_unknown_filter_or_test_in_a_video_field_is_a_manifest_error(
    campaign, cli, template, words
) -> None:
    result = cli("validate", campaign(script(template)))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"Error: m.yaml line 8: video.script: template error: {words}"
    )


def test_unknown_filter_in_where_is_a_manifest_error(campaign, cli) -> None:
    manifest = BASE_MANIFEST.replace("  key: email\n", "  key: email\n  where: row.name | shout\n")
    result = cli("validate", campaign(manifest))
    assert result.exit_code == 1
    assert "source.where: template error: no filter named 'shout'" in result.stderr


def test_an_empty_rendered_title_falls_back_to_name_and_key(campaign) -> None:
    manifest = BASE_MANIFEST + '  title: "{{ row.title }}"\n'
    rows = Expansion(load(campaign(manifest, "email,name,avatar,title\na@x,A,a1,\nb@x,B,a2,T\n")))
    titles = {row.key: row.body["title"] for row in rows if row.body}
    assert titles == {"a@x": "m/a@x", "b@x": "T"}


def test_repeated_titles_name_every_row_sharing_them(campaign, cli) -> None:
    manifest = BASE_MANIFEST + '  title: "Hello {{ row.avatar }}"\n'
    csv_text = "email,name,avatar\na@x,A,one\nb@x,B,two\nc@x,C,one\nd@x,D,two\ne@x,E,one\n"
    result = cli("validate", campaign(manifest, csv_text))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: people.csv: rendered titles must be unique, since apply finds a video whose "
        "answer was lost by its title: 'Hello one' (rows a@x line 2, c@x line 4, e@x line 6); "
        "'Hello two' (rows b@x line 3, d@x line 5)"
    ]


def test_apply_refuses_repeated_titles_before_submitting(campaign, cli, monkeypatch) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    manifest = BASE_MANIFEST + '  title: "Hello"\n'
    path = campaign(manifest)
    result = cli("apply", path, "--yes", "--api-base", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "rendered titles must be unique" in result.stderr
    assert not path.with_suffix(".lock").exists()
