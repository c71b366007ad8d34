"""A hostile review of the lockfile's orjson blocks, plan's named outdated rows, the lockfile's
bisection and report's orphaned cards: inputs a user can make that gave a wrong answer or a
traceback."""

from __future__ import annotations

from tests.conftest import BASE_MANIFEST
from tests.test_diff import SPEEDY, record_as_rendered
from tests.test_report import browser, page  # noqa: F401 - fixtures

CSV = "email,name,avatar\n" + "".join(f"p{i:02d}@x.io,N{i},a1\n" for i in range(5))


def test_a_key_twice_in_the_csv_of_an_outdated_campaign_is_named_not_a_traceback(campaign, cli):
    path = campaign(csv=CSV)
    record_as_rendered(path)
    campaign(SPEEDY, csv=CSV + "p01@x.io,Other,a1\n")
    for extra in ((), ("--json",), ("--all",)):
        result = cli("plan", path, *extra)
        assert result.exit_code != 0
        assert "duplicate email: p01@x.io (lines 3, 7)" in result.output


HEADER = b'{"heyrender_lockfile": 1, "manifest": "m.yaml"}\n'
DIGEST = "ab" * 32


def lean_row(key: str, extra: str = "") -> bytes:
    row = f'{{"key": "{key}", "request": "sha256:{DIGEST}", "status": "completed"'
    return (row + f', "video_id": "v-{key}"{extra}}}\n').encode()


def test_a_lockfile_row_nested_too_deeply_is_named_not_a_recursion_error(campaign, cli):
    path = campaign()
    deep = b'{"key": "li@globex.com", "title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    path.with_suffix(".lock").write_bytes(HEADER + lean_row("dana@acme.io") + deep)
    for command in ("status", "plan"):
        result = cli(command, path)
        assert result.exit_code != 0
        assert "m.lock line 3: not valid JSON (nested too deeply)" in result.output


CUT_WHILE_BISECTED = """
import os, sys
from pathlib import Path
from heyrender.state import lockfile
from heyrender.state.lockfile import Entry

path = Path(sys.argv[1])
rows = {f"k{i:05d}": Entry(f"k{i:05d}", "sha256:" + "1" * 64, "completed", video_id="v")
        for i in range(5000)}
lockfile.save(path, rows, "m.yaml")
header = lockfile.check_header

def cut(*args):
    header(*args)
    os.truncate(path, 60)  # another program rewrites it in place: cp over it, an editor

lockfile.check_header = cut
print(lockfile.bisected(path, "m.yaml", {"k04000"}))
"""


def test_a_lockfile_cut_short_while_plan_bisects_it_is_read_as_shorter_not_a_crash(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CUT_WHILE_BISECTED, str(tmp_path / "m.lock")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stdout.strip() == "{}", "nothing found: plan streams the file for the key"


def test_a_duration_too_large_for_a_float_is_named_not_an_overflow_error(campaign, cli):
    path = campaign()
    huge = "1" + "0" * 400  # a whole number json reads exactly, and no float holds
    path.with_suffix(".lock").write_bytes(
        HEADER + lean_row("dana@acme.io", f', "duration": {huge}')
    )
    for command in ("status", "plan"):
        result = cli(command, path)
        assert result.exit_code != 0
        assert "m.lock line 2: row 'dana@acme.io': duration: expected a number" in result.output


WHERE = BASE_MANIFEST.replace(
    "  key: email\n", "  key: email\n  where: \"{{ row.name != 'Li' }}\"\n"
)


def test_a_report_does_not_say_a_row_left_out_by_where_is_gone_from_the_csv(campaign, cli):
    from heyrender.state import lockfile
    from heyrender.state.lockfile import Entry
    from tests.test_report_orphans import data_of

    path = campaign(WHERE)
    rows = {
        key: Entry(key, "sha256:" + "1" * 64, "completed", video_id=f"v-{key}")
        for key in ("li@globex.com", "zed@gone.io")
    }
    lockfile.save(path.with_suffix(".lock"), rows, path.name)
    result = cli("report", path, "--out", path.parent / "r")
    assert result.exit_code == 0, result.output
    assert "2 orphaned, not among the CSV's rows: 1 left out by source.where" in result.output
    cards = {card["k"]: card for card in data_of(path.parent / "r")["rows"]}
    assert cards["li@globex.com"]["s"] == "orphaned"  # as plan calls it
    assert cards["li@globex.com"]["o"] == (
        "In people.csv but left out by source.where; its lockfile row stays "
        "(completed, video v-li@globex.com) and apply leaves it alone"
    )
    assert cards["zed@gone.io"]["o"].startswith("No longer in people.csv; its lockfile row")


def test_markup_in_an_orphans_key_title_and_failure_stays_text_on_the_page(  # held
    campaign,
    cli,
    page,  # noqa: F811
) -> None:
    from heyrender.state import lockfile
    from heyrender.state.lockfile import Entry

    attack = "</script><img src=x onerror=window.hit=1><!--<script>window.hit=2</script>"
    path = campaign()
    rows = {
        f"{status}{attack}": Entry(
            f"{status}{attack}",
            "sha256:" + "1" * 64,
            status,
            title=f"T{attack}",
            video_id=f"v{attack}",
            failure_code=f"C{attack}" if status == "failed" else None,
            failure_message=f"M{attack}" if status == "failed" else None,
        )
        for status in ("completed", "failed", "processing", "missing")
    }
    lockfile.save(path.with_suffix(".lock"), rows, path.name)
    assert cli("report", path, "--out", path.parent / "r").exit_code == 0
    page.goto((path.parent / "r" / "index.html").as_uri())
    page.select_option("#status", "orphaned")
    assert page.evaluate("window.hit") is None
    assert page.locator("article.card img.thumb").count() == 0
    keys = page.locator("article.card .key").all_inner_texts()
    assert sorted(keys) == sorted(rows)
    assert page.locator(".failure").first.inner_text() == f"C{attack} M{attack}"
