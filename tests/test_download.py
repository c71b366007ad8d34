"""download: one safe file per key on every system, nothing left behind, no tracebacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heyrender.api.wire import VideoStatus
from heyrender.commands import filenames
from heyrender.commands.filenames import file_name, file_names
from heyrender.errors import HeyrenderError
from heyrender.state import lockfile
from heyrender.state.lockfile import Entry
from tests.conftest import CAMPAIGN_MANIFEST, heyrender

SAFE_NAME = re.compile(r"[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*\.mp4")
DEVICES = {"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(10)}


def assert_safe_everywhere(name: str) -> None:
    assert SAFE_NAME.fullmatch(name), name
    assert len(name.encode()) <= 120, name  # room for the '.NAME.part' temp name under 255
    assert name.split(".")[0].lower() not in DEVICES, name
    assert not name.removesuffix(".mp4").endswith((".", " ")), name


def test_plain_lowercase_keys_are_their_own_names() -> None:
    assert file_name("dana@acme.io") == "dana@acme.io.mp4"
    assert file_name("row-17") == "row-17.mp4"


def test_a_cleaned_key_never_takes_another_keys_name() -> None:
    # the README's old promise broke here: 'a b' was cleaned to exactly the other key
    assert file_name("a b") == "a_b-c8687a08.mp4"
    assert file_name("a_b-c8687a08") != file_name("a b")
    assert file_name("a_b-c8687a08").startswith("a_b-c8687a08-")


def test_keys_differing_in_case_get_names_that_differ_ignoring_case() -> None:
    names = [file_name(k) for k in ("dana", "Dana", "DANA", "dAnA")]
    assert len({n.casefold() for n in names}) == 4
    assert names[0] == "dana.mp4"


WINDOWS_DEVICE_KEYS = [
    "CON",
    "con",
    "con.txt",
    "Prn",
    "aux.tar.gz",
    "nul",
    "COM1",
    "com9.x",
    "LPT9",
]
ODD_KEYS = ["trailing.", "trailing ", "..", ".hidden", "", " ", "a/b", "..\\x", "a:b", "naïve"]


@pytest.mark.parametrize("key", [*WINDOWS_DEVICE_KEYS, *ODD_KEYS])
def test_names_are_safe_on_windows_macos_and_linux(key: str) -> None:
    assert_safe_everywhere(file_name(key))


def test_a_250_character_key_gets_a_capped_name_that_keeps_its_hash() -> None:
    long_key = "x" * 250
    name = file_name(long_key)
    assert_safe_everywhere(name)
    assert name != file_name("x" * 249)
    assert name == f"{'x' * filenames.MAX_STEM}-{filenames.key_hash(long_key)}.mp4"


def test_two_keys_that_would_share_a_name_are_refused_not_overwritten(monkeypatch) -> None:
    monkeypatch.setattr(filenames, "key_hash", lambda key: "00000000")
    with pytest.raises(HeyrenderError, match="'A b' and 'A_b' would be saved to the same file"):
        file_names(["A b", "A_b"])


@given(st.lists(st.text(max_size=300), unique=True, max_size=30))
def test_names_are_safe_unique_ignoring_case_and_stable(keys: list[str]) -> None:
    names = file_names(keys)
    assert len({name.casefold() for name in names.values()}) == len(keys)
    for key, name in names.items():
        assert_safe_everywhere(name)
        assert file_name(key) == name


@given(st.lists(st.from_regex(r"[A-Za-z0-9 _.-]{0,14}", fullmatch=True), unique=True))
def test_names_stay_unique_for_keys_made_of_name_characters(keys: list[str]) -> None:
    # few characters, so keys that clean to the same text come up often
    assert len({name.casefold() for name in file_names(keys).values()}) == len(keys)


def write_completed(path: Path, *keys: str) -> None:
    entries = {
        key: Entry(key=key, request="sha256:0", status="completed", video_id=f"v{i}")
        for i, key in enumerate(keys)
    }
    lockfile.save(path.with_suffix(".lock"), entries, path.name)


def test_nothing_completed_creates_no_folder(campaign, cli, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    manifest = campaign()
    result = cli("download", manifest)
    assert result.exit_code == 0, result.output
    assert result.stdout == "No completed videos in m.lock yet; nothing to download.\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml", "people.csv"]


UNREACHABLE_FILE = "http://127.0.0.1:9/files/v.mp4?signature=secret-part"


@pytest.fixture
def file_urls(monkeypatch):
    """HeyGen's status call answers with this file URL for every video, without retry pauses."""
    from heyrender.api import v3
    from heyrender.commands import save_videos

    def answer(url: str) -> None:
        async def status(self, video_id: str) -> VideoStatus:
            return VideoStatus(video_id=video_id, status="completed", video_url=url)

        monkeypatch.setattr(v3.V3Provider, "video", status)

    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    monkeypatch.setattr(save_videos, "RETRY_PAUSE", 0.0)
    return answer


def test_an_unreachable_file_server_fails_each_video_in_one_line(
    campaign, cli, file_urls, tmp_path
) -> None:
    file_urls(UNREACHABLE_FILE)
    manifest = campaign()
    write_completed(manifest, "dana@acme.io", "li@globex.com")
    result = cli("download", manifest, "--out", tmp_path / "videos")
    assert result.exit_code == 1
    assert (
        "dana@acme.io: failed: could not connect to the file server http://127.0.0.1:9"
        in result.stdout
    )
    assert "secret-part" not in result.output
    assert result.stdout.endswith(
        "Saved 0 videos to "
        f"{tmp_path / 'videos'}; 0 already there.\n"
        "2 videos not saved; run heyrender download again to retry.\n"
    )
    assert not (tmp_path / "videos").exists()


def test_a_server_that_is_down_stops_download_instead_of_trying_every_video(
    campaign, cli, file_urls, monkeypatch, tmp_path
) -> None:
    from heyrender.commands import save_videos

    file_urls(UNREACHABLE_FILE)
    monkeypatch.setattr(save_videos, "CONCURRENCY", 1)
    monkeypatch.setattr(save_videos, "FAILURES_IN_A_ROW", 3)
    manifest = campaign()
    write_completed(manifest, *(f"k{i:02d}" for i in range(30)))
    result = cli("download", manifest, "--out", tmp_path / "videos")
    assert result.exit_code == 1
    assert result.stdout.count("failed: could not connect") == 3
    assert result.stdout.endswith(
        f"Saved 0 videos to {tmp_path / 'videos'}; 0 already there.\n"
        "Stopped after 3 downloads in a row failed; 27 not tried.\n"
        "30 videos not saved; run heyrender download again to retry.\n"
    )


def test_a_folder_that_cannot_be_made_is_one_error_line(campaign, cli, monkeypatch) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "k")
    manifest = campaign()
    write_completed(manifest, "dana@acme.io")
    blocker = manifest.parent / "m-videos"
    blocker.write_text("a file where the folder would go")
    result = cli("download", manifest)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {blocker}: that is a file, not a folder; nothing was written\n"
        "Hint: choose another folder, or a new one\n"
    )
    assert blocker.read_text() == "a file where the folder would go"


TRICKY_KEYS = ["a b", "a_b-c8687a08", "Dana", "dana", "CON", "k" * 250]


def test_tricky_keys_download_to_one_file_each(start_emulator, tmp_path) -> None:
    """A whole run: apply against the emulator, then download, then download again."""
    manifest = tmp_path / "drill.yaml"
    manifest.write_text(CAMPAIGN_MANIFEST)
    rows = "".join(f'"{key}",Name{i},a{i}\n' for i, key in enumerate(TRICKY_KEYS))
    (tmp_path / "people.csv").write_text("email,name,avatar\n" + rows)
    emulator = start_emulator("--render-seconds", "0.1", "--max-concurrent", "6")
    fast = ("--poll-interval", "0.05", "--settle-grace", "0")
    applied = heyrender("apply", manifest, "--yes", *fast, env=emulator.env())
    assert applied.returncode == 0, applied.stdout + applied.stderr

    first = heyrender("--quiet", "download", manifest, env=emulator.env())
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout == f"Saved 6 videos to {tmp_path / 'drill-videos'}; 0 already there.\n"
    files = sorted((tmp_path / "drill-videos").iterdir())
    assert sorted(p.name for p in files) == sorted(file_name(k) for k in TRICKY_KEYS)
    assert all(p.read_bytes()[4:8] == b"ftyp" for p in files)

    again = heyrender("download", manifest, env=emulator.env())
    assert again.returncode == 0, again.stdout + again.stderr
    assert "6 completed videos, 6 already in" in again.stdout
    assert again.stdout.endswith(
        f"Saved 0 videos to {tmp_path / 'drill-videos'}; 6 already there.\n"
    )


def test_a_full_disk_stops_download_with_one_error_and_no_partial_file(
    campaign, cli, file_urls, monkeypatch, tmp_path
) -> None:
    import errno

    from heyrender.api import v3

    async def fill_disk(self, url: str, target: Path) -> int:
        target.write_bytes(b"half a video")
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    file_urls("http://x/v.mp4")
    monkeypatch.setattr(v3.V3Provider, "download", fill_disk)
    manifest = campaign()
    write_completed(manifest, "dana@acme.io")
    out = tmp_path / "videos"
    result = cli("download", manifest, "--out", out)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {out / '.dana@acme.io.mp4.part'}: No space left on device\n"
        "Hint: free some disk space, then run the command again\n"
    )
    assert not out.exists()
