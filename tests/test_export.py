"""heyrender export: one line per row for mail merges, from the lockfile and HeyGen."""

from __future__ import annotations

import csv
import io
import json

from heyrender.state import lockfile
from heyrender.state.lockfile import Entry
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv, heyrender

PEOPLE = """\
email,name,avatar,company
dana@acme.io,Dana,a1,Acme
li@globex.com,Li,a2,Globex
sam@x.io,Sam,a3,X
"""


def locked(path) -> None:
    entries = {
        "dana@acme.io": Entry("dana@acme.io", "sha256:1", "completed", video_id="v1", duration=7.5),
        "li@globex.com": Entry(
            "li@globex.com", "sha256:2", "failed", video_id="v2", failure_code="X"
        ),
    }
    lockfile.save(path.with_suffix(".lock"), entries, path.name)


def test_csv_export_carries_the_key_picked_columns_and_what_heyrender_knows(
    campaign, cli, monkeypatch
) -> None:
    monkeypatch.delenv("HEYGEN_API_KEY", raising=False)
    path = campaign(csv=PEOPLE)
    locked(path)
    (path.parent / "m-videos").mkdir()
    (path.parent / "m-videos" / "dana@acme.io.mp4").write_bytes(b"mp4")
    result = cli("export", path, "--columns", "name,company")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "email,name,company,status,video_id,video_page_url,thumbnail_url,duration,download_path\n"
        f"dana@acme.io,Dana,Acme,completed,v1,,,7.5,{path.parent.resolve()}/m-videos/dana@acme.io.mp4\n"
        "li@globex.com,Li,Globex,failed,v2,,,,\n"
        "sam@x.io,Sam,X,not_submitted,,,,,\n"
    )


def test_jsonl_export_to_a_file(campaign, cli, monkeypatch) -> None:
    monkeypatch.delenv("HEYGEN_API_KEY", raising=False)
    path = campaign(csv=PEOPLE)
    locked(path)
    out = path.parent / "merge.jsonl"
    result = cli("export", path, "--format", "jsonl", "--out", out)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0] == {
        "email": "dana@acme.io",
        "status": "completed",
        "video_id": "v1",
        "video_page_url": None,
        "thumbnail_url": None,
        "duration": 7.5,
        "download_path": None,
    }
    assert [line["status"] for line in lines] == ["completed", "failed", "not_submitted"]


def test_unknown_or_clashing_columns_are_clear_errors(campaign, cli) -> None:
    path = campaign(csv=PEOPLE.replace("company", "status"))
    result = cli("export", path, "--columns", "nmae")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --columns nmae: people.csv has no column 'nmae' "
        "(columns: email, name, avatar, status)\n"
    )
    result = cli("export", path, "--columns", "status")
    assert result.stderr == (
        "Error: --columns status: export writes its own 'status' column; rename it in people.csv\n"
    )


def test_export_with_a_key_asks_heygen_for_fresh_thumbnail_urls(campaign, start_emulator) -> None:
    manifest = campaign(CAMPAIGN_MANIFEST, campaign_csv(3), name="drill")
    emulator = start_emulator("--render-seconds", "0.1")
    done = heyrender("apply", manifest, "--yes", "--poll-interval", "0.02", env=emulator.env())
    assert done.returncode == 0, done.stdout + done.stderr
    result = heyrender("export", manifest, "--columns", "name", env=emulator.env())
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    entries = lockfile.load(manifest.with_suffix(".lock"))
    assert [(r["email"], r["name"], r["status"]) for r in rows] == [
        ("p00@x.io", "Name0", "completed"),
        ("p01@x.io", "Name1", "completed"),
        ("p02@x.io", "Name2", "completed"),
    ]
    for row in rows:
        assert row["video_id"] == entries[row["email"]].video_id
        assert row["thumbnail_url"].startswith(
            f"{emulator.url}/_emulator/files/{row['video_id']}.jpg?"
        )
        assert float(row["duration"]) > 0
    assert "test-key" not in result.stdout + result.stderr
