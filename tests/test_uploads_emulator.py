"""Uploads against the real emulator over loopback: once per content, across rows and runs."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import pytest

from heyrender.api.client import ApiKey, Settings
from heyrender.campaign import manifest as manifests
from heyrender.campaign.rows import Campaign
from heyrender.run.uploads import upload_for_rows
from heyrender.state.assets import AssetStore
from tests.pictures import png, wav

# the emulator's assets endpoints come with emu's branch; until it is merged, skip
pytest.importorskip("heyrender.emulator.uploads")


def write_campaign(folder: Path) -> Path:
    (folder / "photos").mkdir()
    (folder / "photos" / "a.png").write_bytes(png())
    (folder / "photos" / "b.png").write_bytes(png(rgb=(9, 9, 9)))
    (folder / "hello.wav").write_bytes(wav())
    (folder / "people.csv").write_text("id,photo\n1,a.png\n2,b.png\n3,a.png\n")
    path = folder / "m.yaml"
    path.write_text(
        "version: 1\nsource: {csv: people.csv, key: id}\n"
        'video: {image_file: "photos/{{ row.photo }}", audio_file: hello.wav}\n'
    )
    return path


def upload(manifest: Path, url: str) -> dict[str, str]:
    campaign = Campaign.expand(manifests.load(manifest))
    keys = [row.key for row in campaign.rows]
    settings = Settings(url, ApiKey("test-key"), backoff_base=0.01)
    return asyncio.run(upload_for_rows(campaign, keys, settings))


def test_each_file_is_uploaded_once_across_rows_and_runs(tmp_path: Path, start_emulator) -> None:
    emulator = start_emulator("--quiet")
    manifest = write_campaign(tmp_path)
    first = upload(manifest, emulator.url)
    assert len(first) == 3  # a.png (two rows), b.png, hello.wav
    assert emulator.stats()["uploads"]["count"] == 3
    again = upload(manifest, emulator.url)
    assert again == first and emulator.stats()["uploads"]["count"] == 3
    store = AssetStore.at(tmp_path)
    for sha, asset_id in first.items():
        record = store.get(sha)
        assert record is not None and record.asset_id == asset_id
        request = urllib.request.Request(
            f"{emulator.url}/v3/assets/{asset_id}", headers={"x-api-key": "test-key"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            data = json.load(answer)["data"]
        assert data["mime_type"] == record.mime and data["size_bytes"] == record.size


def test_a_file_over_32_mb_goes_through_the_direct_upload_flow(
    tmp_path: Path, start_emulator
) -> None:
    import hashlib

    from heyrender.api.uploads import SIMPLE_UPLOAD_MAX
    from heyrender.campaign.media import MediaFile
    from heyrender.run.uploads import ensure_uploaded

    emulator = start_emulator("--quiet")
    data = png() + bytes(SIMPLE_UPLOAD_MAX + 1024 - len(png()))
    path = tmp_path / "big.png"
    path.write_bytes(data)
    big = MediaFile(path, hashlib.sha256(data).hexdigest(), len(data), "image/png")
    settings = Settings(emulator.url, ApiKey("test-key"), backoff_base=0.01)
    store = AssetStore.at(tmp_path)
    assets = asyncio.run(ensure_uploaded(settings, [big], store))
    assert list(assets) == [big.sha256]
    endpoints = emulator.stats()["requests_by_endpoint"]
    assert endpoints.get("POST /v3/assets/direct-uploads") == 1
    assert "POST /v3/assets" not in endpoints


UPLOADER = """
import asyncio, sys
from heyrender.api.client import ApiKey, Settings
from heyrender.campaign import manifest as manifests
from heyrender.campaign.rows import Campaign
from heyrender.run.uploads import upload_for_rows

campaign = Campaign.expand(manifests.load(sys.argv[1]))
settings = Settings(sys.argv[2], ApiKey("test-key"), backoff_base=0.01)
keys = [row.key for row in campaign.rows]
asyncio.run(upload_for_rows(campaign, keys, settings))
"""


def test_kill_9_during_uploads_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, start_emulator
) -> None:
    import random
    import subprocess
    import sys
    import time

    # slow answers and answers lost after the upload landed, so kills fall mid-flight
    emulator = start_emulator(
        "--quiet",
        "--fault-rate=0.3",
        "--fault-kinds=created-then-drop",
        "--fault-kinds=slow",
        "--slow-seconds=0.5",
        "--seed=3",
    )
    (tmp_path / "photos").mkdir()
    rows = ["id,photo"]
    for i in range(40):
        (tmp_path / "photos" / f"p{i}.png").write_bytes(png(8, 8, (i, 2 * i, 3 * i)))
        rows.append(f"{i},p{i}.png")
    (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        'version: 1\nsource: {csv: people.csv, key: id}\nvideo: {image_file: "photos/{{ row.photo }}"'
        ", voice_id: v, script: hi}\n"
    )
    command = [sys.executable, "-c", UPLOADER, str(manifest), emulator.url]
    chance = random.Random(7)
    recorded = []
    for _ in range(2):
        process = subprocess.Popen(command)
        time.sleep(chance.uniform(0.9, 1.5))
        process.kill()
        process.wait()
        recorded.append(len(AssetStore.at(tmp_path)))
    subprocess.run(command, check=True, timeout=120)
    store = AssetStore.at(tmp_path)
    assert len(store) == 40, recorded
    assert emulator.stats()["uploads"]["count"] == 40
    subprocess.run(command, check=True, timeout=120)
    assert emulator.stats()["uploads"]["count"] == 40
