"""heyrender report keeps a lockfile row whose key left the CSV in view: its video was paid
for, and may already be out in the world."""

from __future__ import annotations

import json
import re
from pathlib import Path

from heyrender.campaign import manifest as manifests
from heyrender.campaign.rows import Campaign
from heyrender.state import lockfile
from heyrender.state.lockfile import Entry
from tests.test_report import browser, page  # noqa: F401 - fixtures


def data_of(folder: Path) -> dict:
    html = (folder / "index.html").read_text()
    found = re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    return json.loads(found[1])


def with_orphans(campaign) -> Path:
    """A campaign whose lockfile holds its first row, and two rows no longer in the CSV: a
    completed video and a failed one."""
    path = campaign()
    manifest = manifests.load(path)
    first = Campaign.expand(manifest).rows[0]
    entries = {
        first.key: Entry(first.key, first.request, "completed", title="t", video_id="v1"),
        "zed@gone.io": Entry(
            "zed@gone.io",
            "sha256:" + "1" * 64,
            "completed",
            title="Hi Zed",
            video_id="vz",
            duration=75.0,
        ),
        "ann@gone.io": Entry(
            "ann@gone.io",
            "sha256:" + "2" * 64,
            "failed",
            title="Hi Ann",
            video_id="va",
            failure_code="AVATAR_NOT_FOUND",
            failure_message="no such avatar",
        ),
    }
    lockfile.save(manifest.lockfile_path, entries, path.name)
    return path


def test_rows_gone_from_the_csv_follow_the_csv_rows(campaign, cli) -> None:
    path = with_orphans(campaign)
    result = cli("report", path, "--out", path.parent / "r")
    assert result.exit_code == 0, result.output
    assert "(2 rows, 1 completed, 0 playable; 2 orphaned, no longer in the CSV)" in result.output
    data = data_of(path.parent / "r")
    assert [(c["k"], c["s"]) for c in data["rows"]] == [
        ("dana@acme.io", "completed"),
        ("li@globex.com", "not submitted"),
        ("ann@gone.io", "orphaned"),
        ("zed@gone.io", "orphaned"),
    ]
    ann, zed = data["rows"][2:]
    assert ann["t"] == "Hi Ann" and (ann["f"], ann["m"]) == ("AVATAR_NOT_FOUND", "no such avatar")
    assert ann["o"] == (
        "No longer in people.csv; its lockfile row stays (failed, video va) "
        "and apply leaves it alone"
    )
    assert zed["d"] == "1m 15s" and zed["o"].endswith(
        "(completed, video vz) and apply leaves it alone"
    )
    assert zed["n"].startswith("No downloaded file and no fresh URL")
    assert data["meta"]["counts"]["orphaned"] == 2


def test_no_orphan_no_mention(campaign, cli) -> None:
    path = campaign()
    result = cli("report", path, "--out", path.parent / "r")
    assert result.exit_code == 0 and "orphaned" not in result.output
    assert all("o" not in card for card in data_of(path.parent / "r")["rows"])


def test_the_page_shows_an_orphan_s_note_and_filters_it(campaign, cli, page) -> None:  # noqa: F811
    path = with_orphans(campaign)
    assert cli("report", path, "--out", path.parent / "r").exit_code == 0
    page.goto((path.parent / "r" / "index.html").as_uri())
    page.select_option("#status", "orphaned")
    assert page.locator("article.card .key").all_inner_texts() == ["ann@gone.io", "zed@gone.io"]
    note = page.locator("article.s-orphaned .orphan").first.inner_text()
    assert note.startswith("No longer in people.csv; its lockfile row stays (failed, video va)")
