"""Hostile review 3: inputs a demanding user (or a careless one) gives, each found to crash,
hang, exhaust memory or leak before its fix."""

from __future__ import annotations

import textwrap
import tracemalloc
from pathlib import Path

import pytest

from heyrender.campaign import templating
from heyrender.status import Status

CSV = "email,name,avatar\ndana@acme.io,Dana,a1\n"


def manifest_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "people.csv").write_text(CSV)
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text))
    return path


# -- str.format widths: refused before the text is built ------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        '{{ "{:>99999999}".format(1) }}',
        '{{ "{:099999999}".format(1) }}',
        '{{ "{:.99999999f}".format(1.0) }}',
        '{{ "{a:>99999999}".format(a=1) }}',
        '{{ "{0:{1}}".format(1, "99999999") }}',
        '{{ "{a:>99999999}".format_map({"a": 1}) }}',
        '{{ "%(a)99999999d" % {"a": 1} }}',
    ],
)
def test_a_huge_format_width_is_refused_before_it_is_built(source: str) -> None:
    assert peak_of_refusal(source, "too wide") < 10_000_000  # the 100 MB string is never made


def peak_of_refusal(source: str, words: str | None = None) -> int:
    """The most memory rendering `source` took on its way to being refused (with `words`)."""
    render = templating.renderer_for(source)
    tracemalloc.start()
    try:
        with pytest.raises(templating.TemplateLimit, match=words):
            render({"row": {}, "vars": {}, "key": "k"})
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_modest_format_width_still_renders() -> None:
    render = templating.renderer_for('{{ "{:>5}|{:.2f}|{a}".format(1, 2.5, a="x") }}')
    assert render({"row": {}, "vars": {}, "key": "k"}) == "    1|2.50|x"
    render = templating.renderer_for('{{ "{a}-{b:3}".format_map({"a": 1, "b": 2}) ~ "%5s" % "a" }}')
    assert render({"row": {}, "vars": {}, "key": "k"}) == "1-  2    a"


@pytest.mark.parametrize(
    "source",
    [
        '{{ ("x" * 99999)|list|join("y" * 99999) }}',
        '{{ ("x" * 99999)|join(d="y" * 99999) }}',
        '{{ ("\\n" * 99999)|indent("x" * 99999, true, true) }}',
        '{{ ("\\n" * 99999)|indent(999999, true, true) }}',
        '{{ ("x " * 50000)|wordwrap(1, wrapstring="y" * 99999) }}',
    ],
)
def test_a_filter_repeating_long_text_is_refused_before_it_is_built(source: str) -> None:
    assert peak_of_refusal(source, "would render") < 50_000_000  # not the 10 GB it would take


def test_join_indent_and_wordwrap_still_work() -> None:
    source = '{{ ["a", "b"]|join(", ") }}|{{ "x\\ny"|indent(2) }}|{{ "aa bb"|wordwrap(2, wrapstring="/") }}'
    render = templating.renderer_for(source)
    assert render({"row": {}, "vars": {}, "key": "k"}) == "a, b|x\n  y|aa/bb"


# -- YAML that expands without end: one error naming the file, no traceback, no hang -------------

MANIFEST_TAIL = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  avatar_id: a1
  voice_id: v1
  script: hi
"""


def test_an_alias_inside_itself_is_an_error(tmp_path: Path, cli) -> None:
    path = manifest_with(tmp_path, "&m\n" + MANIFEST_TAIL + "self: *m\n")
    result = cli("validate", path)
    assert result.exit_code == 1
    assert "Error: m.yaml line 1, column 1: self: is nested more than 64" in result.output
    assert "nested more than 64 levels deep" in result.output


def test_a_billion_laughs_is_refused_at_once(tmp_path: Path, cli) -> None:
    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        levels.append(f"{level}: &{level} [{', '.join(['*' + previous] * 9)}]")
    text = MANIFEST_TAIL + "vars:\n" + "".join(f"  {line}\n" for line in levels)
    path = manifest_with(tmp_path, text)
    result = cli("validate", path)
    assert result.exit_code == 1
    assert "m.yaml line" in result.output and "more than 100,000 values" in result.output


def test_yaml_nested_deeper_than_the_parser_goes_is_an_error(tmp_path: Path, cli) -> None:
    path = manifest_with(tmp_path, MANIFEST_TAIL + "vars:\n  x: " + "[" * 5000 + "]" * 5000 + "\n")
    result = cli("validate", path)
    assert result.exit_code == 1
    assert result.output.startswith("Error: m.yaml") and "nested" in result.output


def test_shared_anchors_still_load(tmp_path: Path, cli) -> None:
    text = MANIFEST_TAIL.replace("script: hi", "script: hi\n  voice_settings: &speed {speed: 1.1}")
    path = manifest_with(tmp_path, text + "vars:\n  again: *speed\n")
    result = cli("validate", path)
    assert result.exit_code == 0, result.output


# -- a saved plan broken by hand: one sentence naming the field, never a Python repr ----------


def saved_plan_text(**changes: object) -> str:
    import json

    plan = {
        "heyrender_plan": 1,
        "manifest": "m.yaml",
        "created_at": "2026-11-25T10:00:00Z",
        "allow_outside_campaign": False,
        "inputs": {"manifest": "sha256:00", "csv": "sha256:00", "lockfile": None},
        "estimate": {"rows": 1, "seconds": 1.0, "usd": 0.1, "unknown_rows": 0},
        "summary": {},
        "rows": [{"key": "dana@acme.io", "action": "create", "request": "sha256:00"}],
    }
    plan.update(changes)
    return json.dumps(plan)


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"manifest": None}, "manifest: not a file name"),
        ({"inputs": None}, "inputs: not an object"),
        ({"inputs": {"manifest": 5}}, "inputs.manifest: not a hash"),
        ({"rows": None}, "rows: not a list"),
        ({"rows": [{"key": "a"}]}, "rows[0].action: not text"),
        ({"rows": [{"key": 1, "action": "create", "request": "x"}]}, "rows[0].key: not text"),
        ({"estimate": {"seconds": 1, "usd": float("nan"), "unknown_rows": 0}}, "estimate.usd"),
    ],
)
def test_a_malformed_saved_plan_names_its_field(tmp_path: Path, cli, changes, said) -> None:
    plan = tmp_path / "reviewed.plan"
    plan.write_text(saved_plan_text(**changes))
    result = cli("apply", plan)
    assert result.exit_code == 1
    assert f"Error: reviewed.plan: saved plan is malformed: {said}" in result.output
    assert "Error(" not in result.output


def test_a_saved_plan_nested_too_deeply_is_an_error(tmp_path: Path, cli) -> None:
    plan = tmp_path / "reviewed.plan"
    plan.write_text('{"heyrender_plan": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = cli("apply", plan)
    assert result.exit_code == 1
    assert "Error: reviewed.plan: not a saved plan (JSON nested too deeply)" in result.output


# -- apply's durations: a number that would never end a wait, or compare, is a usage error -----


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--poll-interval", "inf"),
        ("--poll-interval", "nan"),
        ("--poll-interval", "1e308"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--settle-grace", "nan"),
        ("--settle-grace", "1e308"),
    ],
)
def test_apply_refuses_a_duration_that_never_ends(tmp_path: Path, cli, option, value) -> None:
    path = manifest_with(tmp_path, MANIFEST_TAIL)
    result = cli("apply", path, "--yes", option, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert not (tmp_path / "m.lock").exists()


# -- the key, or a password, in the API base: refused without being shown ---------------------

SECRET = "sk-live-SECRETKEY-zq9x"


@pytest.mark.parametrize(
    ("base", "said"),
    [
        (f"http://user:{SECRET}@127.0.0.1:9", "holds the value of HEYGEN_API_KEY"),
        ("http://proxyuser:hunter2-pass@127.0.0.1:9", "holds a user name or password"),
        (SECRET, "is not an http(s) URL"),
        (f"ftp://{SECRET}", "is not an http(s) URL"),
        (f"http://127.0.0.1:9/?key={SECRET}", "holds the value of HEYGEN_API_KEY"),
        ("http://127.0.0.1:9/?a=b", "has a query or fragment"),
    ],
)
def test_a_secret_in_the_api_base_is_refused_unshown(
    tmp_path: Path, cli, monkeypatch, base: str, said: str
) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", SECRET)
    monkeypatch.setenv("HEYGEN_API_BASE", base)
    path = manifest_with(tmp_path, MANIFEST_TAIL)
    result = cli("apply", path, "--yes")
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert SECRET not in result.output and "hunter2" not in result.output
    assert not (tmp_path / "m.lock").exists()


# -- apply in a log (CI): a summary every 10 s even while nothing happens ---------------------


def test_a_log_gets_a_summary_while_renders_are_silent(monkeypatch) -> None:
    import asyncio
    import io
    from collections import Counter

    from heyrender.commands import progress

    monkeypatch.setattr(progress, "SUMMARY_EVERY", 0.05)
    log = io.StringIO()

    async def run() -> None:
        with progress.Progress(lambda: Counter(processing=2), 2, stream=log) as shown:
            shown.event("dana@acme.io", "submitted as v1")
            await asyncio.sleep(0.5)  # ten summaries due; no event arrives

    asyncio.run(run())
    summaries = [line for line in log.getvalue().splitlines() if "videos/min" in line]
    assert len(summaries) >= 3, log.getvalue()
    assert summaries[-1].endswith("2 processing | 0.0 videos/min | ETA unknown")


# -- a full disk during apply: one sentence naming the journal, not a traceback --------------


def test_a_full_disk_during_a_run_is_named_not_an_internal_error(state, monkeypatch, caplog):
    import errno
    import logging
    import os

    from heyrender.state import files
    from tests.test_hostile_run import Server, run_rows

    class Silent:
        def event(self, key: str, what: str) -> None:
            pass

    real_write, writes = os.write, []

    def write_until_full(fd: int, data: bytes) -> int:
        writes.append(len(data))
        if len(writes) > 6:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(files.os, "write", write_until_full)
    with caplog.at_level(logging.ERROR):
        report = run_rows(Server(), state, 4, Silent())
    assert report.fatal is not None
    assert "m.lock.journal: No space left on device" in str(report.fatal)
    assert "internal error" not in str(report.fatal)
    assert not [r for r in caplog.records if r.exc_info], "no traceback"


# -- report and export while HeyGen is down: stop asking after 8 failures in a row ----------


def fresh_statuses_when(monkeypatch, error: Exception, videos: int):
    """fresh_statuses for `videos` completed rows against a provider that raises `error` for
    every video; with the video IDs it was asked for."""
    from heyrender.api.client import ApiKey, Settings
    from heyrender.commands import media
    from heyrender.state.lockfile import Entry
    from heyrender.status import Status

    asked: list[str] = []

    class Failing:
        async def __aenter__(self) -> Failing:
            return self

        async def __aexit__(self, *exc: object) -> None:
            pass

        async def video(self, video_id: str) -> None:
            asked.append(video_id)
            raise error

    monkeypatch.setattr(media, "open_provider", lambda settings, api: Failing())
    rows = [Entry(f"k{i}", "sha256:0", Status.COMPLETED, video_id=f"v{i}") for i in range(videos)]
    return media.fresh_statuses(Settings("http://heygen.test", ApiKey("k")), rows), asked


def test_fresh_statuses_stop_asking_a_server_that_keeps_failing(monkeypatch) -> None:
    from heyrender.commands import media
    from heyrender.errors import TransientError

    fresh, asked = fresh_statuses_when(monkeypatch, TransientError("HeyGen answered 503"), 200)
    assert fresh.failed == 200 and not fresh.videos
    assert len(asked) <= media.CONCURRENCY + 8, len(asked)  # not 200 slow retries


def test_fresh_statuses_ask_on_past_deleted_videos(monkeypatch) -> None:
    from heyrender.errors import VideoGone

    fresh, asked = fresh_statuses_when(monkeypatch, VideoGone("HeyGen no longer has it"), 40)
    assert fresh.failed == 40 and len(asked) == 40


# -- a manifest or saved plan that is not a regular file, or is huge: refused, never read ----


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_a_fifo_as_manifest_is_refused_without_blocking(tmp_path: Path, command: str) -> None:
    import os
    import sys

    from tests.conftest import heyrender

    fifo = tmp_path / "m.yaml"
    os.mkfifo(fifo)
    env = {**os.environ, "HEYGEN_API_KEY": "k", "HEYGEN_API_BASE": "http://127.0.0.1:9"}
    result = heyrender(command, fifo, env=env, timeout=30)
    assert result.returncode == 1, (sys.executable, result.stderr)
    assert result.stderr.strip() == "Error: m.yaml: is a FIFO, not a regular file"


def test_a_device_as_manifest_is_refused(cli) -> None:
    result = cli("validate", "/dev/zero")
    assert result.exit_code == 1
    assert "Error: zero: is a device, not a regular file" in result.output


def test_a_huge_manifest_is_refused_before_it_is_parsed(tmp_path: Path, cli) -> None:
    path = manifest_with(tmp_path, MANIFEST_TAIL)
    with path.open("a") as out:
        out.write("# " + "x" * 3_000_000 + "\n")
    result = cli("validate", path)
    assert result.exit_code == 1
    assert "m.yaml: is 3,000,1" in result.output and "at most 2,097,152" in result.output


# -- a lookup that finds nothing is named as such, not as "a Python object" ------------------


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("{{ row[key] }}", "'dict object' has no attribute 'dana@acme.io'"),
        ("{{ row.name.foo }}", "'str object' has no attribute 'foo'"),
    ],
)
def test_printing_a_missing_lookup_says_what_is_missing(tmp_path: Path, cli, source, said) -> None:
    path = manifest_with(tmp_path, MANIFEST_TAIL.replace("script: hi", f"script: '{source}'"))
    result = cli("validate", path)
    assert result.exit_code == 1
    assert f"row dana@acme.io (people.csv line 2): script: template error: {said}" in result.output


# -- HeyGen takes creates and never answers: stop, instead of ~50 minutes a row -------------


def test_creates_that_never_answer_stop_the_run_resumably(state) -> None:
    import httpx

    from tests.test_hostile_run import Server, run_rows

    class Silent:
        def event(self, key: str, what: str) -> None:
            pass

    sent: list[str] = []

    class NoAnswer(Server):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and request.url.path == "/v3/videos":
                sent.append(request.headers["idempotency-key"])
                raise httpx.ReadTimeout("timed out", request=request)
            return super().__call__(request)

    report = run_rows(NoAnswer(), state, 6, Silent(), concurrency=1)
    assert report.fatal is not None and "did not answer 2 creates in a row" in str(report.fatal)
    # two creates, each sent by the client's 2 attempts; not 6 rows x 4 rounds x 2 attempts
    assert len(sent) == 4, len(sent)
    tried = [e for e in state.entries.values() if e.idempotency_key]
    assert tried and all(e.status is Status.UNCERTAIN for e in tried), "resent with keys next"


# -- many pieces each within the limit: what a render builds along the way is bounded too -----


def test_a_render_building_gigabytes_in_pieces_is_refused_early() -> None:
    source = '{{ ("x" * 999999)|list|map("center", 999999)|list|length }}'
    # not the 2 GB (and more) it built before the 2 s deadline
    assert peak_of_refusal(source, "along the way") < 200_000_000


def test_the_budget_is_per_render() -> None:
    render = templating.renderer_for('{{ ("x" * 900000)|center(999999)|length }}')
    for _ in range(50):  # 50 MB built over 50 renders: each well within its own budget
        assert render({"row": {}, "vars": {}, "key": "k"}) == "999999"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ([[1] * 999999] * 999)|string|length }}",
        "{{ [[1] * 999999] * 999 }}",
        "{{ ([[1] * 999999] * 999)|tojson|length }}",
        "{{ ([[1] * 999999] * 999)|pprint|length }}",
        "{{ ([[1] * 9999] * 999)|join|length }}",
        '{{ (["x" * 99999] * 99)|string }}',
        '{% set a = ["x" * 99999] %}{% set b = [a, a, a, a] %}{% set c = [b, b, b, b] %}'
        "{{ ([c, c, c, c] ~ 1)|length }}",
        '{{ "%s" % ([[1] * 999999] * 999,) }}',
        '{{ "{}".format([[1] * 999999] * 999) }}',
    ],
)
def test_data_whose_text_is_huge_is_refused_before_it_is_written(source: str) -> None:
    assert peak_of_refusal(source) < 100_000_000


def test_small_data_still_prints() -> None:
    source = '{{ [1, "a"] }}|{{ {"k": [1]}|tojson }}|{{ [[1, 2]] * 2 }}|{{ ["a", "b"]|join("-") }}'
    render = templating.renderer_for(source)
    assert (
        render({"row": {}, "vars": {}, "key": "k"}) == "[1, 'a']|{\"k\": [1]}|[[1, 2], [1, 2]]|a-b"
    )
