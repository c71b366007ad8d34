"""--out never replaces the campaign's own files, a device, or a file through a link.

export --out and plan --out name a file, report --out and download --out a folder; each is
checked by commands/destinations.py before anything is written.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from heyrender.state import lockfile
from heyrender.state.lockfile import Entry
from tests.conftest import heyrender
from tests.pictures import png

PHOTO_MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  image_file: "photos/{{ row.photo }}"
  voice_id: v1
  script: "Hi {{ row.name }}!"
"""

PHOTO_CSV = """\
email,name,photo
dana@acme.io,Dana,dana.png
li@globex.com,Li,li.gif
"""

FILE_COMMANDS = ["export", "plan"]
FOLDER_COMMANDS = ["report", "download"]


@pytest.fixture
def paid(campaign, monkeypatch):
    """A campaign with photos, a paid video in its lockfile, a journal, an owner file and an
    asset map: every file an output could destroy."""
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    monkeypatch.setenv("HEYGEN_API_BASE", "http://127.0.0.1:9")
    manifest = campaign(PHOTO_MANIFEST, PHOTO_CSV)
    folder = manifest.parent
    (folder / "photos").mkdir()
    (folder / "photos" / "dana.png").write_bytes(png())
    (folder / "photos" / "li.gif").write_bytes(b"GIF89a not one heyrender sends")
    entry = Entry("dana@acme.io", "sha256:1", "completed", video_id="paid-video-1")
    lockfile.save(manifest.with_suffix(".lock"), {entry.key: entry}, manifest.name)
    (folder / "m.lock.journal").write_bytes(b"")
    (folder / "m.lock.owner").write_text("pid 1\n")
    (folder / "heyrender-assets.jsonl").write_text('{"format": "heyrender-assets", "version": 1}\n')
    return manifest


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under folder: a file's bytes, a link's target, a folder's mark."""
    found: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[name] = "folder"
        elif path.is_file():
            found[name] = path.read_bytes()
        else:
            found[name] = "special"
    return found


def refused(cli, command: str, manifest: Path, target: str | Path, why: str) -> None:
    before = snapshot(manifest.parent)
    result = cli(command, manifest, "--out", target)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: --out {target}: {why}; nothing was written\n")
    assert snapshot(manifest.parent) == before


def usage_error(cli, command: str, manifest: Path, target: Path, why: str) -> None:
    """What click itself refuses (a folder for a file, a file for a folder): exit code 2."""
    before = snapshot(manifest.parent)
    result = cli(command, manifest, "--out", target)
    assert result.exit_code == 2, result.output
    assert why in result.stderr
    assert snapshot(manifest.parent) == before


@pytest.mark.parametrize("command", FILE_COMMANDS)
@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("m.yaml", "the manifest m.yaml"),
        ("people.csv", "the CSV people.csv"),
        ("m.lock", "the lockfile m.lock"),
        ("m.lock.journal", "the lockfile's journal m.lock.journal"),
        ("m.lock.owner", "the state lock's owner file m.lock.owner"),
        ("heyrender-assets.jsonl", "the campaign's asset map heyrender-assets.jsonl"),
        ("photos/dana.png", "dana.png, a media file the manifest names"),
        ("photos/li.gif", "li.gif, a media file the manifest names"),
    ],
)
def test_a_file_output_never_replaces_a_campaign_file(cli, paid, command, name, role) -> None:
    refused(cli, command, paid, paid.parent / name, f"that is {role}")


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_state_file_not_made_yet_is_refused_too(cli, campaign, command) -> None:
    manifest = campaign()
    refused(cli, command, manifest, manifest.parent / "m.lock", "that is the lockfile m.lock")
    assert not (manifest.parent / "m.lock").exists()


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_hard_link_to_the_lockfile_is_the_lockfile(cli, paid, command) -> None:
    os.link(paid.with_suffix(".lock"), paid.parent / "copy.csv")
    refused(cli, command, paid, paid.parent / "copy.csv", "that is the lockfile m.lock")


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_file_output_is_never_written_through_a_link(cli, paid, command) -> None:
    (paid.parent / "out.csv").symlink_to("m.lock")
    (paid.parent / "dangling.csv").symlink_to("nowhere.csv")
    why = "that is a symbolic link, and heyrender never writes through one"
    refused(cli, command, paid, paid.parent / "out.csv", why)
    refused(cli, command, paid, paid.parent / "dangling.csv", why)
    assert not (paid.parent / "nowhere.csv").exists()


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_file_output_must_be_a_regular_file(cli, paid, command) -> None:
    (paid.parent / "folder").mkdir()
    os.mkfifo(paid.parent / "pipe")
    usage_error(cli, command, paid, paid.parent / "folder", "is a directory")
    refused(cli, command, paid, paid.parent / "pipe", "that is a FIFO, not a regular file")


NOT_IN_DEV = Path("/dev/heyrender-test-not-a-device")


@pytest.fixture
def no_stray_file_in_dev():
    """Without the fix a run as root would create this file; remove it if so. (Never a real
    device node here: a failing test must not replace /dev/null for everyone.)"""
    yield NOT_IN_DEV
    if NOT_IN_DEV.is_dir():
        shutil.rmtree(NOT_IN_DEV)
    NOT_IN_DEV.unlink(missing_ok=True)


@pytest.mark.parametrize("command", FILE_COMMANDS)
@pytest.mark.parametrize(
    ("target", "tree"), [(NOT_IN_DEV, "/dev"), (Path("/proc/self/comm"), "/proc")]
)
def test_a_file_output_never_goes_under_a_system_tree(
    cli, paid, no_stray_file_in_dev, command, target, tree
) -> None:
    before = target.exists() and target.read_bytes()
    refused(cli, command, paid, target, f"that is under {tree}, where heyrender never writes")
    assert (target.exists() and target.read_bytes()) == before


def test_ordinary_file_outputs_are_written_whole_and_replace_their_earlier_selves(
    cli, paid, monkeypatch
) -> None:
    monkeypatch.delenv("HEYGEN_API_KEY")
    for command, name in (("export", "merge.csv"), ("plan", "reviewed.plan")):
        target = paid.parent / name
        for _ in range(2):
            result = cli(command, paid, "--out", target)
            assert result.exit_code == 0, result.output
        assert target.stat().st_size > 0
    assert (paid.parent / "merge.csv").read_text().startswith("email,status,video_id")
    assert "paid-video-1" in (paid.parent / "merge.csv").read_text()
    assert [p.name for p in paid.parent.iterdir() if p.name.startswith(".")] == []
    assert paid.with_suffix(".lock").read_text().count("paid-video-1") == 1


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
@pytest.mark.parametrize(
    ("folder", "role"),
    [
        (".", "the manifest m.yaml"),
        ("data", "the CSV people.csv"),
    ],
)
def test_a_folder_output_never_shares_the_campaign_files_folder(
    cli, paid, command, folder, role
) -> None:
    paid.write_text(paid.read_text().replace("csv: people.csv", "csv: data/people.csv"))
    (paid.parent / "data").mkdir()
    (paid.parent / "people.csv").rename(paid.parent / "data" / "people.csv")
    target = paid.parent / folder
    refused(cli, command, paid, target, f"that folder holds {role}")
    assert not (target / "index.html").exists()


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_folder_output_is_a_real_folder_outside_system_trees(
    cli, paid, no_stray_file_in_dev, command
) -> None:
    (paid.parent / "elsewhere").mkdir()
    (paid.parent / "linked").symlink_to("elsewhere")
    (paid.parent / "afile").write_text("mine")
    refused(
        cli,
        command,
        paid,
        paid.parent / "linked",
        "that is a symbolic link, and heyrender never writes through one",
    )
    usage_error(cli, command, paid, paid.parent / "afile", "is a file")
    refused(cli, command, paid, NOT_IN_DEV, "that is under /dev, where heyrender never writes")
    refused(cli, command, paid, "/proc/self", "that is under /proc, where heyrender never writes")
    assert list((paid.parent / "elsewhere").iterdir()) == []


def test_report_leaves_an_index_html_it_did_not_write(cli, paid, monkeypatch) -> None:
    monkeypatch.delenv("HEYGEN_API_KEY")
    review = paid.parent / "review"
    review.mkdir()
    (review / "index.html").write_text("<h1>the team's own page</h1>")
    why = "its index.html was not written by heyrender, so it is left alone"
    refused(cli, "report", paid, review, why)
    (review / "index.html").unlink()
    (review / "index.html").symlink_to("../m.lock")
    refused(
        cli,
        "report",
        paid,
        review,
        "its index.html is a symbolic link, and heyrender never writes through one",
    )


def test_report_replaces_its_own_earlier_page(cli, paid, monkeypatch) -> None:
    monkeypatch.delenv("HEYGEN_API_KEY")
    review = paid.parent / "review"
    for _ in range(2):
        result = cli("report", paid, "--out", review)
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in review.iterdir()) == ["index.html"]
    assert "dana@acme.io" in (review / "index.html").read_text()


def test_download_never_writes_through_a_planted_temporary_file(tmp_path, start_emulator) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "version: 1\nsource: {csv: people.csv, key: email}\n"
        'video: {avatar_id: a1, voice_id: v1, script: "Hi {{ row.name }}"}\n'
    )
    (tmp_path / "people.csv").write_text("email,name\ndana@acme.io,Dana\n")
    emulator = start_emulator("--quiet", "--render-seconds", "0.1")
    done = heyrender("apply", manifest, "--yes", "--poll-interval", "0.1", env=emulator.env())
    assert done.returncode == 0, done.stdout + done.stderr
    lock = manifest.with_suffix(".lock").read_bytes()
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / ".dana@acme.io.mp4.part").symlink_to(manifest.with_suffix(".lock"))
    saved = heyrender("download", manifest, "--out", videos, env=emulator.env())
    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert manifest.with_suffix(".lock").read_bytes() == lock
    assert sorted(p.name for p in videos.iterdir()) == ["dana@acme.io.mp4"]
    assert (videos / "dana@acme.io.mp4").read_bytes()[4:8] == b"ftyp"
