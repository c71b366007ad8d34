"""Uploads against the real emulator over loopback: once per content, across rows and runs."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

from heyrender.api.client import ApiKey, Settings
from heyrender.campaign import manifest as manifests
from heyrender.campaign.rows import Campaign
from heyrender.run.uploads import upload_for_rows
from heyrender.state.assets import AssetStore
from tests.pictures import png, wav


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
