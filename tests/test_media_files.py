"""Local media files: checked by content, hashed once, hashed into the request, planned."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from heyrender.campaign import manifest as manifests
from heyrender.campaign.media import MAX_BYTES, sniff
from heyrender.campaign.rows import Campaign
from heyrender.errors import HeyrenderError
from heyrender.state.assets import AssetRecord, AssetStore
from tests.pictures import JPEG_HEAD, mp3, png, wav

MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: id
video:
  image_file: "photos/{{ row.photo }}"
  voice_id: v1
  script: "Hi {{ row.name }}"
"""


def write(folder: Path, rows: str, manifest: str = MANIFEST, name: str = "m.yaml") -> Path:
    (folder / "photos").mkdir(exist_ok=True)
    (folder / "people.csv").write_text("id,name,photo\n" + textwrap.dedent(rows))
    path = folder / name
    path.write_text(textwrap.dedent(manifest))
    return path


def photo(folder: Path, name: str, data: bytes) -> Path:
    path = folder / "photos" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def hashes(path: Path) -> dict[str, str]:
    return {row.key: row.request for row in Campaign.expand(manifests.load(path)).rows}


def test_types_are_told_by_content_not_by_name() -> None:
    assert sniff(png()) == "image/png"
    assert sniff(JPEG_HEAD) == "image/jpeg"
    assert sniff(wav()) == "audio/wav"
    assert sniff(mp3()) == "audio/mpeg"
    assert sniff(b"GIF89a") is None


def test_validate_names_row_and_field_of_each_bad_file(tmp_path: Path, cli) -> None:
    photo(tmp_path, "ok.png", png())
    photo(tmp_path, "fake.png", b"GIF89a not really a png")
    photo(tmp_path, "voice.jpg", wav())
    photo(tmp_path, "empty.png", b"")
    os.mkfifo(tmp_path / "photos" / "pipe.png")
    (tmp_path / "photos" / "dir.png").mkdir()
    manifest = write(
        tmp_path,
        """\
        1,A,ok.png
        2,B,fake.png
        3,C,voice.jpg
        4,D,missing.png
        5,E,pipe.png
        6,F,dir.png
        7,G,empty.png
        8,H,../../outside.png
        """,
    )
    result = cli("validate", manifest)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    expected = [
        "row 2 (people.csv line 3): image_file: photos/fake.png is not a PNG, JPEG, MP3 or WAV "
        "file by its content despite its .png name",
        "row 3 (people.csv line 4): image_file: photos/voice.jpg is WAV; this field takes an "
        "image (PNG or JPEG)",
        "row 4 (people.csv line 5): image_file: photos/missing.png not found",
        "row 5 (people.csv line 6): image_file: photos/pipe.png is a FIFO, not a regular file",
        "row 6 (people.csv line 7): image_file: photos/dir.png is a folder, not a regular file",
        "row 7 (people.csv line 8): image_file: photos/empty.png is empty",
        "row 8 (people.csv line 9): image_file: photos/../../outside.png",
    ]
    for want in expected:
        assert any(line.startswith(want) for line in lines), (want, lines)
    assert "1 rows valid, 7 invalid" in result.output or "1 row valid, 7 invalid" in result.output
    assert "found none" not in result.output  # no second, misleading error per bad file


def test_audio_and_background_files(tmp_path: Path, cli) -> None:
    photo(tmp_path, "bg.jpg", JPEG_HEAD + b"\x00" * 50)
    photo(tmp_path, "hello.mp3", mp3())
    photo(tmp_path, "face.png", png())
    manifest = write(
        tmp_path,
        "1,A,face.png\n",
        manifest="""\
        version: 1
        source: {csv: people.csv, key: id}
        video:
          image_file: "photos/{{ row.photo }}"
          audio_file: photos/hello.mp3
          background: {type: image, file: photos/bg.jpg}
        """,
    )
    result = cli("render", manifest, "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["image"]["asset_id"].startswith("<upload photos/face.png sha256:")
    assert body["audio_asset_id"].startswith("<upload photos/hello.mp3 sha256:")
    assert body["background"]["asset_id"].startswith("<upload photos/bg.jpg sha256:")
    assert "image_file" not in body and "file" not in body["background"]
    manifest.write_text(manifest.read_text().replace("version: 1\n", "version: 1\napi: v2\n"))
    v2 = json.loads(cli("render", manifest, "--format", "json").output)
    assert v2["image_asset_id"] == body["image"]["asset_id"]
    assert v2["audio_asset_id"] == body["audio_asset_id"]


def test_a_file_over_the_limit_is_refused_without_reading_it(tmp_path: Path, cli) -> None:
    big = photo(tmp_path, "big.png", png())
    os.truncate(big, MAX_BYTES + 1)
    result = cli("validate", write(tmp_path, "1,A,big.png\n"))
    assert result.exit_code == 1
    assert "photos/big.png is 50.0 MB; HeyGen takes files up to 50.0 MB" in result.output


def test_an_edited_photo_marks_its_rows_outdated_a_renamed_one_does_not(tmp_path: Path) -> None:
    photo(tmp_path, "dana.png", png(rgb=(1, 1, 1)))
    photo(tmp_path, "li.png", png(rgb=(2, 2, 2)))
    manifest = write(tmp_path, "1,Dana,dana.png\n2,Li,li.png\n")
    before = hashes(manifest)
    photo(tmp_path, "dana.png", png(rgb=(9, 9, 9)))
    edited = hashes(manifest)
    assert edited["1"] != before["1"] and edited["2"] == before["2"]
    (tmp_path / "photos" / "li.png").rename(tmp_path / "photos" / "li-renamed.png")
    write(tmp_path, "1,Dana,dana.png\n2,Li,li-renamed.png\n")
    assert hashes(manifest)["2"] == before["2"]


def test_each_distinct_file_is_hashed_once_and_planned_once(tmp_path: Path, cli) -> None:
    photo(tmp_path, "same.png", png())
    (tmp_path / "photos" / "copy.png").write_bytes(png())
    photo(tmp_path, "other.png", png(rgb=(0, 0, 0)))
    manifest = write(tmp_path, "1,A,same.png\n2,B,same.png\n3,C,copy.png\n4,D,other.png\n")
    campaign = Campaign.expand(manifests.load(manifest))
    files = campaign.media_files([row.key for row in campaign.rows])
    assert len(files) == 2  # same.png and copy.png share their bytes
    size = len(png()) + len(png(rgb=(0, 0, 0)))
    result = cli("plan", manifest)
    assert f"Uploads: 2 files to upload ({size} bytes)." in result.output
    store = AssetStore.at(tmp_path)
    store.record(AssetRecord.now(files[0].sha256, "asset-1", files[0].size, files[0].mime))
    result = cli("plan", manifest)
    assert "Uploads: 1 file to upload" in result.output and "1 already uploaded" in result.output
    plan = json.loads(cli("plan", manifest, "--json").output)
    assert plan["uploads"]["count"] == 1 and plan["uploads"]["already_uploaded"] == 1


def test_render_shows_the_asset_id_once_known_and_bodies_need_it(tmp_path: Path, cli) -> None:
    photo(tmp_path, "dana.png", png())
    manifest = write(tmp_path, "1,Dana,dana.png\n")
    campaign = Campaign.expand(manifests.load(manifest))
    (file,) = campaign.media_files(["1"])
    with pytest.raises(HeyrenderError, match=r"photos/dana\.png is not uploaded yet"):
        list(campaign.bodies(["1"]))
    AssetStore.at(tmp_path).record(AssetRecord.now(file.sha256, "asset-7", file.size, file.mime))
    rendered = json.loads(cli("render", manifest, "--format", "json").output)
    assert rendered["image"] == {"type": "asset_id", "asset_id": "asset-7"}
    ((_, body),) = campaign.bodies(["1"], assets={file.sha256: "asset-7"})
    assert body["image"]["asset_id"] == "asset-7"


def test_the_asset_map_is_shared_by_the_manifests_of_a_git_campaign(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "spring").mkdir()
    photo(tmp_path, "dana.png", png())
    one = write(tmp_path / "spring", "1,Dana,../photos/dana.png\n", name="a.yaml")
    manifest = manifests.load(one)
    assert manifest.campaign.root == tmp_path.resolve()
    assert AssetStore.at(manifest.campaign.root).path == tmp_path.resolve() / (
        "heyrender-assets.jsonl"
    )


def test_a_file_beside_another_source_for_the_same_input_is_one_clear_error(
    tmp_path: Path, cli
) -> None:
    photo(tmp_path, "dana.png", png())
    manifest = write(
        tmp_path,
        "1,Dana,dana.png\n",
        manifest=MANIFEST + '  image_url: "https://cdn.example.com/x.png"\n',
    )
    result = cli("validate", manifest)
    assert result.exit_code == 1
    assert "row 1 (people.csv line 2): image_file: give either this or image_url, not both" in (
        result.output
    )
    assert "image source" not in result.output  # no second error about the same fault


def test_a_bad_file_named_by_many_rows_is_read_once(tmp_path: Path, monkeypatch) -> None:
    from heyrender.campaign import media

    photo(tmp_path, "fake.png", b"GIF89a" + bytes(100))
    manifest = write(tmp_path, "".join(f"{i},N,fake.png\n" for i in range(50)))
    opened = []
    real = media.open_regular
    monkeypatch.setattr(media, "open_regular", lambda path: opened.append(path) or real(path))
    campaign = Campaign.expand(manifests.load(manifest))
    assert len(opened) == 1
    assert all(
        "photos/fake.png is not a PNG, JPEG, MP3 or WAV file" in str(row.problems[0])
        for row in campaign.rows
    )
