"""Uploading local files: once per content, by idempotency key, recorded durably."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx
import pytest

from heyrender.api import uploads
from heyrender.api.client import ApiKey, Settings
from heyrender.campaign.media import MediaFile
from heyrender.errors import InvalidRequest, LockfileError
from heyrender.run.uploads import ensure_uploaded
from heyrender.state.assets import FILE_NAME, AssetRecord, AssetStore
from tests.pictures import png

SETTINGS = Settings("http://heygen.test", ApiKey("sk-test"), backoff_base=0.0, max_attempts=4)


def media(folder: Path, name: str, data: bytes) -> MediaFile:
    path = folder / name
    path.write_bytes(data)
    return MediaFile(path, hashlib.sha256(data).hexdigest(), len(data), "image/png")


class FakeAssets:
    """POST /v3/assets and the direct-upload flow, replaying by Idempotency-Key."""

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[httpx.Request] = []
        self.by_key: dict[str, str] = {}
        self.stored: list[bytes] = []
        self.fail_first = fail_first

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_first:
            self.fail_first -= 1
            return httpx.Response(503, json={"error": {"code": "unavailable", "message": "x"}})
        path, key = request.url.path, request.headers.get("idempotency-key")
        if request.method == "PUT":
            self.stored.append(request.content)
            return httpx.Response(200)
        if path == "/v3/assets":
            assert request.headers["x-api-key"] == "sk-test"
            if key not in self.by_key:
                self.by_key[key] = f"asset-{len(self.by_key) + 1}"
                self.stored.append(request.read())
            return httpx.Response(200, json={"data": {"asset_id": self.by_key[key], "url": "u"}})
        if path == "/v3/assets/direct-uploads":
            body = json.loads(request.content)
            assert body["size_bytes"] > uploads.SIMPLE_UPLOAD_MAX
            return httpx.Response(
                200, json={"data": {"asset_id": "big-1", "upload_url": "http://s3.test/put/1"}}
            )
        if path == "/v3/assets/big-1/complete":
            return httpx.Response(200, json={"data": {"asset_id": "big-1", "size_bytes": 1}})
        return httpx.Response(404)

    @property
    def posts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST"]


def run(files: list[MediaFile], store: AssetStore, fake: FakeAssets) -> dict[str, str]:
    return asyncio.run(ensure_uploaded(SETTINGS, files, store, transport=httpx.MockTransport(fake)))


def test_each_distinct_file_uploads_once_across_rows_and_runs(tmp_path: Path) -> None:
    one, two = media(tmp_path, "a.png", png()), media(tmp_path, "b.png", png(rgb=(1, 2, 3)))
    fake = FakeAssets()
    store = AssetStore.at(tmp_path)
    assets = run([one, two, one], store, fake)
    assert len(fake.posts) == 2 and set(assets) == {one.sha256, two.sha256}
    key = fake.posts[0].headers["idempotency-key"]
    assert key.startswith("heyrender:asset:sha256:") and len(key) <= 255
    # the next run, from a freshly loaded map: nothing is sent again
    again = run([one, two], AssetStore.at(tmp_path), fake)
    assert again == assets and len(fake.posts) == 2
    text = (tmp_path / FILE_NAME).read_text()
    assert text.splitlines()[0] == '{"format": "heyrender-assets", "version": 1}'
    assert "sk-test" not in text


def test_a_retry_after_a_5xx_replays_by_key_and_stores_the_bytes_once(tmp_path: Path) -> None:
    one = media(tmp_path, "a.png", png())
    fake = FakeAssets(fail_first=2)
    assets = run([one], AssetStore.at(tmp_path), fake)
    assert assets == {one.sha256: "asset-1"}
    assert len(fake.posts) == 3 and len(fake.stored) == 1
    assert len({r.headers["idempotency-key"] for r in fake.posts}) == 1


def test_a_lost_record_is_replayed_not_uploaded_twice(tmp_path: Path) -> None:
    """A kill between HeyGen's answer and the fsync: the rerun's identical key replays it."""
    one = media(tmp_path, "a.png", png())
    fake = FakeAssets()
    run([one], AssetStore.at(tmp_path), fake)
    (tmp_path / FILE_NAME).unlink()  # as if the record never reached the disk
    assert run([one], AssetStore.at(tmp_path), fake) == {one.sha256: "asset-1"}
    assert len(fake.stored) == 1


def test_files_over_32_mb_take_the_direct_upload_flow(tmp_path: Path) -> None:
    data = png() + b"\x00" * (uploads.SIMPLE_UPLOAD_MAX + 1 - len(png()))
    big = media(tmp_path, "big.png", data)
    fake = FakeAssets()
    assert run([big], AssetStore.at(tmp_path), fake) == {big.sha256: "big-1"}
    steps = [(r.method, r.url.path) for r in fake.requests]
    assert steps == [
        ("POST", "/v3/assets/direct-uploads"),
        ("PUT", "/put/1"),
        ("POST", "/v3/assets/big-1/complete"),
    ]
    put = fake.requests[1]
    assert "x-api-key" not in put.headers  # a presigned URL never gets the key
    assert fake.stored == [data]


def test_a_file_changed_since_it_was_hashed_is_not_uploaded(tmp_path: Path) -> None:
    one = media(tmp_path, "a.png", png())
    one.path.write_bytes(png(rgb=(0, 0, 0)))
    fake = FakeAssets()
    with pytest.raises(InvalidRequest, match="changed since it was checked"):
        run([one], AssetStore.at(tmp_path), fake)
    assert fake.requests == []


def test_a_rejected_upload_raises_and_records_nothing(tmp_path: Path) -> None:
    one = media(tmp_path, "a.png", png())

    def reject(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"code": "invalid_parameter", "message": "no"}})

    with pytest.raises(InvalidRequest, match="400 invalid_parameter: no"):
        asyncio.run(
            ensure_uploaded(
                SETTINGS, [one], AssetStore.at(tmp_path), transport=httpx.MockTransport(reject)
            )
        )
    assert len(AssetStore.at(tmp_path)) == 0


def record(sha: str, asset: str) -> AssetRecord:
    return AssetRecord.now(sha, asset, 10, "image/png")


def test_a_torn_last_record_is_ignored_then_trimmed_two_crashes_in_a_row(tmp_path: Path) -> None:
    store = AssetStore.at(tmp_path)
    store.record(record("a" * 64, "asset-a"))
    path = tmp_path / FILE_NAME
    with open(path, "ab") as torn:
        torn.write(b'{"sha256": "bbbb')
    assert AssetStore.at(tmp_path).asset_id("a" * 64) == "asset-a"
    again = AssetStore.at(tmp_path)
    again.record(record("c" * 64, "asset-c"))
    with open(path, "ab") as torn:
        torn.write(b'{"sha2')
    loaded = AssetStore.at(tmp_path)
    assert loaded.asset_id("c" * 64) == "asset-c" and len(loaded) == 2
    loaded.record(record("d" * 64, "asset-d"))
    assert len(AssetStore.at(tmp_path)) == 3
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_the_asset_map_refuses_a_symlink_and_names_a_bad_line(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("precious\n")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / FILE_NAME).symlink_to(target)
    with pytest.raises(LockfileError, match="is a symbolic link"):
        AssetStore.at(tmp_path / "c")
    (tmp_path / "c" / FILE_NAME).unlink()
    store = AssetStore.at(tmp_path / "c")
    (tmp_path / "c" / FILE_NAME).symlink_to(target)
    with pytest.raises(LockfileError, match="is a symbolic link"):
        store.record(record("f" * 64, "asset-f"))
    assert target.read_text() == "precious\n"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / FILE_NAME).write_text(
        '{"format": "heyrender-assets", "version": 1}\n{"sha256": "x"}\n'
    )
    with pytest.raises(LockfileError, match=f"{FILE_NAME} line 2: sha256 is missing"):
        AssetStore.at(tmp_path / "d")


def test_records_escape_line_separators(tmp_path: Path) -> None:
    store = AssetStore.at(tmp_path)
    store.record(AssetRecord("e" * 64, "id\u2028x", 5, "image/png", "t"))
    assert AssetStore.at(tmp_path).asset_id("e" * 64) == "id\u2028x"
    assert "\u2028" not in (tmp_path / FILE_NAME).read_text()


def test_the_apply_wiring_uploads_once_then_binds_every_row(tmp_path: Path) -> None:
    """upload_for_rows + Campaign.bodies(keys, assets): the two calls apply makes."""
    from heyrender.campaign import manifest as manifests
    from heyrender.campaign.rows import Campaign
    from heyrender.run.uploads import upload_for_rows
    from heyrender.versions import ApiVersion

    V2 = ApiVersion.V2

    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.png").write_bytes(png())
    (tmp_path / "photos" / "b.png").write_bytes(png(rgb=(5, 5, 5)))
    (tmp_path / "people.csv").write_text("id,photo\n1,a.png\n2,b.png\n3,a.png\n")
    (tmp_path / "m.yaml").write_text(
        "version: 1\nsource: {csv: people.csv, key: id}\n"
        'video: {image_file: "photos/{{ row.photo }}", voice_id: v, script: hi}\n'
    )
    campaign = Campaign.expand(manifests.load(tmp_path / "m.yaml"))
    keys = [row.key for row in campaign.rows]
    fake, said = FakeAssets(), []
    assets = asyncio.run(
        upload_for_rows(campaign, keys, SETTINGS, said.append, transport=httpx.MockTransport(fake))
    )
    assert said == [f"Uploading 2 files ({len(png()) + len(png(rgb=(5, 5, 5)))} bytes)."]
    sent = {row.key: body["image"] for row, body in campaign.bodies(keys, assets=assets)}
    assert sent["1"] == sent["3"] == {"type": "asset_id", "asset_id": "asset-1"}
    assert sent["2"] == {"type": "asset_id", "asset_id": "asset-2"}
    v2 = {row.key: b["image_asset_id"] for row, b in campaign.bodies(keys, V2, assets=assets)}
    assert v2 == {"1": "asset-1", "2": "asset-2", "3": "asset-1"}
    assert len(fake.posts) == 2
